"""Operator maintenance: database backup and restore (SPEC §13)."""
