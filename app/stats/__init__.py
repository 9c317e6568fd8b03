"""Statistics dashboard (SPEC §10): figures per scope, each linking to the list behind it."""
