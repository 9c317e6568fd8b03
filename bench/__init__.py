"""Linli's own benchmark (SPEC §14): seeds reference-size data and prints one line per figure."""
