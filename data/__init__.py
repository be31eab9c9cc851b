"""Countersign's domain model and services. Nothing here imports Dash."""
