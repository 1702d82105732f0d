"""Runs the packaged Alembic migrations programmatically, one migrator at a time."""

from __future__ import annotations

import fcntl
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, text

from spice_harvester.adapters.sql.errors import DEPENDENCY
from spice_harvester.domain.errors import ConfigurationError, DependencyUnavailable
from spice_harvester.ports.database import MigrationStatus

MIGRATIONS_DIR: Final = Path(__file__).resolve().with_name("migrations")
VERSION_TABLE: Final = "spice_schema_version"
# Any fixed 64-bit number works; all migrators just have to agree on it ("SPICEMIG").
_PG_MIGRATION_LOCK: Final = 0x53504943454D4947
# Alembic's `context` and `op` are module-level proxies, one per process: two upgrades in
# one process must not overlap, even on different databases.
_ALEMBIC_IN_USE: Final = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic config; env.py runs on `connection` when one is given."""
    # Alembic prints some commands' output; nothing of ours should reach stdout.
    config = Config(stdout=io.StringIO())
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def status_on(connection: Connection) -> MigrationStatus:
    """Where the schema on `connection` stands against the shipped migrations."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if head is None:
        raise ConfigurationError(f"no migrations found in {MIGRATIONS_DIR}")
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    current = context.get_current_revision()
    try:
        newest_first = [s.revision for s in script.iterate_revisions(head, current or "base")]
    except (CommandError, RevisionError) as exc:
        raise ConfigurationError(
            f"the database schema is at {current!r}, which this version does not know "
            "(was it migrated by a newer release?)"
        ) from exc
    pending = tuple(reversed([rev for rev in newest_first if rev != current]))
    return MigrationStatus(current=current, head=head, pending=pending)


def upgrade_on(connection: Connection) -> list[str]:
    """Applies pending migrations inside the caller's transaction on `connection`.

    On PostgreSQL a transaction-scoped advisory lock makes concurrent migrators wait
    here, and each re-reads the version only after getting it, so all but the first
    find nothing to do. SQLite callers must hold `sqlite_migration_lock` instead.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    status = status_on(connection)
    if status.up_to_date:
        return []
    with _ALEMBIC_IN_USE:
        command.upgrade(alembic_config(connection), status.head)
    return list(status.pending)


@contextmanager
def sqlite_migration_lock(database_file: Path) -> Iterator[None]:
    """Holds an exclusive lock on `<file>.migrate.lock` (threads and processes alike).

    BEGIN IMMEDIATE alone would make a waiting migrator give up after busy_timeout,
    however long the first one legitimately takes.
    """
    lock_path = database_file.with_name(database_file.name + ".migrate.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a")
    except OSError as exc:
        raise DependencyUnavailable(DEPENDENCY, f"cannot open {lock_path}: {exc}") from exc
    # flock belongs to the open file description, so two threads of one process that
    # each open the file exclude each other too (unlike POSIX record locks).
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
