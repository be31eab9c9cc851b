"""Reusable UI pieces: functions from a value to Dash layout, with no database access."""
