"""Alembic migrations for the SQL store; run them with SqlDatabase.migrate()."""
