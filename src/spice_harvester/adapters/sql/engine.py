"""Builds the SQLAlchemy engine for a database URL, with each engine's connection rules."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from spice_harvester.domain.errors import ConfigurationError
from spice_harvester.settings.model import DatabasePoolSettings

# Execution options understood by the "begin" hooks below. `sqlite_begin` picks the
# BEGIN flavour; `spice_read_only` makes the transaction a refuse-writes snapshot on both.
SQLITE_BEGIN: Final = "sqlite_begin"
READ_ONLY: Final = "spice_read_only"
WRITE_OPTIONS: Final[Mapping[str, Any]] = {SQLITE_BEGIN: "IMMEDIATE", READ_ONLY: False}
READ_OPTIONS: Final[Mapping[str, Any]] = {SQLITE_BEGIN: "DEFERRED", READ_ONLY: True}

CONNECT_TIMEOUT_SECONDS: Final = 5
QUERY_LOGGER_NAME: Final = "spice"
_SQLITE_BEGIN_MODES: Final = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
_POSTGRES_NAMES: Final = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
_SQLITE_NAMES: Final = frozenset({"sqlite", "sqlite+pysqlite"})


def engine_name_of(url: str) -> str:
    """'sqlite' or 'postgresql' for a URL we accept; ConfigurationError otherwise."""
    return _dialect_of(_parse(url))


def create_sql_engine(url: str, pool: DatabasePoolSettings, *, echo: bool = False) -> Engine:
    """An engine with a bounded QueuePool and the per-engine connection setup.

    `echo` does not use SQLAlchemy's own echo (which installs a stream handler): it
    gives this engine the logger `sqlalchemy.engine.Engine.spice` at INFO, so statements
    reach whatever handlers the process configured. Without it the engine logs through
    `sqlalchemy.engine`, whose level the caller controls.
    """
    parsed = _parse(url)
    engine_args: dict[str, Any] = {
        "poolclass": QueuePool,
        "pool_size": pool.pool_size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.pool_timeout,
        "pool_pre_ping": True,
    }
    if echo:
        engine_args["logging_name"] = QUERY_LOGGER_NAME
        logging.getLogger(f"sqlalchemy.engine.Engine.{QUERY_LOGGER_NAME}").setLevel(logging.INFO)
    if _dialect_of(parsed) == "postgresql":
        return _postgres_engine(parsed, engine_args)
    return _sqlite_engine(parsed, pool, engine_args)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"cannot read the database URL: {exc}") from exc


def _dialect_of(url: URL) -> str:
    if url.drivername in _POSTGRES_NAMES:
        return "postgresql"
    if url.drivername in _SQLITE_NAMES:
        return "sqlite"
    raise ConfigurationError(
        f"unsupported database URL scheme {url.drivername!r}: use sqlite:/// or postgresql://"
    )


def _postgres_engine(url: URL, engine_args: dict[str, Any]) -> Engine:
    connect_args: dict[str, Any] = {}
    # Without a connect timeout a black-holed host stalls a caller far beyond pool_timeout.
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    if "options" not in url.query:
        # psycopg prepares a statement after 5 runs, and PostgreSQL may then switch it to a
        # generic plan made without the parameter values; for our key-list lookups that plan
        # was 10x slower. Custom plans keep the preparing and plan for the actual keys.
        connect_args["options"] = "-c plan_cache_mode=force_custom_plan"
    engine = create_engine(
        url.set(drivername="postgresql+psycopg"), connect_args=connect_args, **engine_args
    )
    event.listen(engine, "begin", _postgres_begin)
    return engine


def _postgres_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(READ_ONLY):
        # psycopg begins lazily, so this is the first statement of the new transaction.
        # REPEATABLE READ gives reads one snapshot, as SQLite does; a read-only transaction
        # at that level never fails with a serialization error.
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def _sqlite_engine(url: URL, pool: DatabasePoolSettings, engine_args: dict[str, Any]) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or ":memory:" in database or url.query.get("mode") == "memory":
        raise ConfigurationError(
            "SQLite must be a file (sqlite:///path/to/file): several processes share it"
        )
    path = Path(database)
    busy_ms = int(pool.pool_timeout * 1000)
    engine = create_engine(url.set(drivername="sqlite+pysqlite"), **engine_args)

    @event.listens_for(engine, "do_connect")
    def make_directory(*_: Any) -> None:
        # Done per connection rather than up front so that building an engine does no I/O
        # and a bad path surfaces as an ordinary connect failure.
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise sqlite3.OperationalError(f"cannot create {path.parent}: {exc}") from exc

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The driver's own transaction handling skips BEGIN for SELECT and DDL; turn it off
        # and emit BEGIN ourselves (see _sqlite_begin) so transactions mean what they say.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    mode = str(options.get(SQLITE_BEGIN, "DEFERRED")).upper()
    if mode not in _SQLITE_BEGIN_MODES:
        raise ValueError(f"{SQLITE_BEGIN} must be one of {sorted(_SQLITE_BEGIN_MODES)}")
    # query_only is per connection, so every transaction sets it rather than trusting
    # whatever the previous borrower of this pooled connection left behind.
    conn.exec_driver_sql(f"PRAGMA query_only = {1 if options.get(READ_ONLY) else 0}")
    # A writer that starts deferred and upgrades its lock later can deadlock against
    # another writer (SQLITE_BUSY without waiting); IMMEDIATE takes the write lock first.
    conn.exec_driver_sql(f"BEGIN {mode}")
