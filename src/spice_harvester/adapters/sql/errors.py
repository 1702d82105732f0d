"""Turns driver and pool errors into the domain's error hierarchy, in one place."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import psycopg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from spice_harvester.domain.errors import AlreadyExists, DependencyUnavailable

DEPENDENCY: Final = "database"
_PG_UNIQUE_VIOLATION: Final = "23505"
# Primary result codes that mean the file cannot be used right now, as opposed to a
# mistake in the SQL (which SQLite also reports as OperationalError). READONLY is left
# out: it is also what a write inside a read-only transaction gets.
_SQLITE_UNAVAILABLE: Final = frozenset(
    {
        5,  # BUSY: the busy timeout ran out waiting for a lock
        6,  # LOCKED
        7,  # NOMEM
        10,  # IOERR
        11,  # CORRUPT
        13,  # FULL
        14,  # CANTOPEN
        26,  # NOTADB
    }
)
_SQLITE_UNIQUE_CODES: Final = frozenset(
    {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
)


@contextmanager
def translated_errors(*, connecting: bool = False) -> Iterator[None]:
    """Raises domain errors for what the database layer reports inside the block.

    With `connecting`, any driver error counts as "cannot reach the database", because it
    happened while opening a connection rather than while running a statement.
    """
    try:
        yield
    except PoolTimeoutError as exc:
        raise DependencyUnavailable(DEPENDENCY, f"no free connection: {exc}") from exc
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise AlreadyExists(f"already exists: {first_line(exc.orig)}") from exc
        raise
    except DBAPIError as exc:
        if connecting or is_unavailable(exc):
            raise DependencyUnavailable(DEPENDENCY, first_line(exc.orig)) from exc
        raise


def is_unique_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    if isinstance(orig, psycopg.Error):
        return orig.sqlstate == _PG_UNIQUE_VIOLATION
    if isinstance(orig, sqlite3.Error):
        return getattr(orig, "sqlite_errorname", None) in _SQLITE_UNIQUE_CODES
    return False


def is_unavailable(exc: DBAPIError) -> bool:
    """Whether the error is about the database being unreachable or stuck, not our SQL."""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, psycopg.Error):
        # psycopg raises OperationalError for connection loss, shutdown, resource and
        # lock-wait problems; SQL mistakes are ProgrammingError and friends.
        return isinstance(orig, psycopg.OperationalError)
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in _SQLITE_UNAVAILABLE
    return False


def first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__
