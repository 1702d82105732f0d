"""Projections on SQL: read models, the per-unit transaction, readers, dead letters."""
