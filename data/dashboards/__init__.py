"""The dashboards' figures: common SQL helpers, the managers' pending backlog, the
request list behind a figure, the analysts' throughput, and their tables.

Every figure is aggregated in SQL that runs the same on SQLite and PostgreSQL; only
counts and a few hundred period rows come back to Python.
"""
