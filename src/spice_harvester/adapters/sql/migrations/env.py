"""Alembic environment: runs the migrations on the connection SqlDatabase.migrate() hands in."""

from __future__ import annotations

from alembic import context

from spice_harvester.adapters.sql.migrator import VERSION_TABLE

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError(
        "these migrations run only through SqlDatabase.migrate() (`spice db migrate`), "
        "which supplies a locked connection"
    )

# The connection arrives inside a transaction, so every migration commits or rolls back
# together; SQLite DDL is transactional too because the engine emits BEGIN itself.
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
