"""Command-line interface. Imports the stages it drives; no stage imports it."""
