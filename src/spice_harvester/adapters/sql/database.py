"""The SQL implementation of the Database port: connections, transactions and migrations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from spice_harvester.adapters.sql.engine import (
    READ_OPTIONS,
    WRITE_OPTIONS,
    create_sql_engine,
    engine_name_of,
)
from spice_harvester.adapters.sql.errors import translated_errors
from spice_harvester.adapters.sql.migrator import sqlite_migration_lock, status_on, upgrade_on
from spice_harvester.ports.database import MigrationStatus
from spice_harvester.settings.model import DatabasePoolSettings, ServiceName, Settings


class SqlDatabase:
    """One SQLite file or PostgreSQL database, reached through a pooled SQLAlchemy engine.

    Other adapters run their SQL inside `transaction()` (writes) or `read()` (reads), which
    also turn driver errors into domain errors (DependencyUnavailable, AlreadyExists).
    """

    def __init__(self, url: str, pool: DatabasePoolSettings, *, echo: bool = False) -> None:
        self._engine_name = engine_name_of(url)
        self._engine = create_sql_engine(url, pool, echo=echo)

    @classmethod
    def from_settings(cls, settings: Settings, service: ServiceName) -> SqlDatabase:
        return cls(
            settings.database_dsn,
            settings.service(service).database,
            echo=settings.log_queries,
        )

    @property
    def engine_name(self) -> str:
        return self._engine_name

    @property
    def display_url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        On SQLite it starts with BEGIN IMMEDIATE, so the write lock is taken up front and
        concurrent writers queue (up to pool_timeout) instead of failing half-way. Do not
        open one inside another (on SQLite the inner one would wait for the outer's lock):
        pass the Connection down instead.
        """
        with self._connection(WRITE_OPTIONS) as connection, connection.begin():
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction with one consistent snapshot; writes in it are refused."""
        with self._connection(READ_OPTIONS) as connection, connection.begin():
            yield connection

    @contextmanager
    def _connection(self, options: Mapping[str, Any]) -> Iterator[Connection]:
        with translated_errors():
            with translated_errors(connecting=True):
                connection = self._engine.connect()
            with connection:
                connection.execution_options(**options)
                yield connection

    def ping(self) -> None:
        with self.read() as connection:
            connection.execute(text("SELECT 1")).scalar_one()

    def migration_status(self) -> MigrationStatus:
        with self.read() as connection:
            return status_on(connection)

    def migrate(self) -> list[str]:
        with self._migration_lock(), self.transaction() as connection:
            return upgrade_on(connection)

    def close(self) -> None:
        self._engine.dispose()

    def _migration_lock(self) -> AbstractContextManager[None]:
        if self._engine_name != "sqlite":
            # PostgreSQL serialises migrators with an advisory lock inside the transaction.
            return nullcontext()
        database = self._engine.url.database
        assert database is not None, "the engine factory accepts only SQLite files"
        return sqlite_migration_lock(Path(database))

    def __repr__(self) -> str:
        return f"SqlDatabase({self.display_url!r})"
