"""Taking a backup: every file read from one snapshot, then sealed by metadata.json.

All databases and the system tables are read through ONE read transaction
(`SqlDatabase.read()`: REPEATABLE READ, READ ONLY on PostgreSQL; a deferred transaction on
SQLite, whose WAL gives it one snapshot from its first read), so the backup is the state at
one moment even while writers go on: no history ends at a commit another file does not know,
and no pull request names a branch the history lacks. Writers are not blocked; on SQLite the
WAL grows until the backup ends.
"""

from __future__ import annotations

import platform
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, func, select

from spice_harvester import __version__
from spice_harvester.adapters.sql.backup import layout
from spice_harvester.adapters.sql.backup.config_files import ConfigPlaces, archive_config
from spice_harvester.adapters.sql.backup.reporting import Reporter, Silent
from spice_harvester.adapters.sql.backup.system_state import audit_head, export_tables
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.migrator import status_on
from spice_harvester.adapters.sql.tables import branches, commits, pull_requests, spice_databases
from spice_harvester.adapters.sql.versioned.exchange import export_history_on, write_records_file
from spice_harvester.domain.errors import AlreadyExists, NotFound

# gzip level 6: about as small as 9 on JSON Lines, and several times faster.
COMPRESSLEVEL: Final = 6
STAMP: Final = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class BackupRequest:
    databases: Sequence[str] | None = None  # None: every database
    kind: str = "manual"
    config: ConfigPlaces | None = None  # where to take the configuration from, if at all


def new_folder(root: Path, now: datetime | None = None) -> Path:
    """`root/<UTC timestamp>`, with a suffix when a backup of the same second exists."""
    stamp = (now or datetime.now(UTC)).strftime(STAMP)
    candidate, number = root / stamp, 1
    while candidate.exists() or _partial(candidate).exists():
        number += 1
        candidate = root / f"{stamp}-{number}"
    return candidate


def create_backup(
    database: SqlDatabase,
    folder: Path,
    request: BackupRequest = BackupRequest(),
    reporter: Reporter | None = None,
) -> layout.Metadata:
    """Writes a backup into `folder`, which must not exist yet; it appears complete or not
    at all (it is built as `<folder>.partial` and renamed last)."""
    report = reporter or Silent()
    if folder.exists():
        raise AlreadyExists(f"{folder} already exists: a backup goes into a new folder")
    partial = _partial(folder)
    if partial.exists():
        raise AlreadyExists(f"{partial} exists: another backup is being written there")
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial.mkdir(mode=0o700)
    try:
        metadata = _write(database, partial, request, report)
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return metadata


def _partial(folder: Path) -> Path:
    return folder.with_name(folder.name + layout.PARTIAL)


def _write(
    database: SqlDatabase, folder: Path, request: BackupRequest, report: Reporter
) -> layout.Metadata:
    created_at = datetime.now(UTC)
    (folder / layout.DATABASES_DIR).mkdir()
    (folder / layout.SYSTEM_DIR).mkdir()
    entries: dict[str, layout.DatabaseEntry] = {}
    with database.read() as connection:
        revision = status_on(connection).current
        engine_version = _engine_version(connection)
        ids = _chosen(connection, request.databases)
        for name, db_id in ids.items():
            relative = f"{layout.DATABASES_DIR}/{name}.jsonl.gz"
            records = export_history_on(connection, name, database.engine_name)
            header = write_records_file(
                _reported(records, name, report), folder / relative, compresslevel=COMPRESSLEVEL
            )
            entries[name] = _database_entry(connection, db_id, relative, header)
        report.begin("backing up API keys, audit log, pull requests", None)
        files, counts = export_tables(
            connection, folder / layout.SYSTEM_DIR, ids, compresslevel=COMPRESSLEVEL
        )
        head = audit_head(connection)
    system = layout.SystemEntry(
        files={table: f"{layout.SYSTEM_DIR}/{name}" for table, name in files.items()},
        counts=counts,
        audit_head=head,
    )
    config = None
    if request.config is not None:
        archive_config(folder / layout.CONFIG_ARCHIVE, request.config)
        config = layout.CONFIG_ARCHIVE
    names = [entry.file for entry in entries.values()] + list(system.files.values())
    if config is not None:
        names.append(config)
    report.begin("computing checksums", len(names))
    described = []
    for name in names:
        described.append(layout.describe_file(folder, name))
        report.advance()
    metadata = layout.Metadata(
        format=layout.FORMAT,
        version=layout.VERSION,
        kind=request.kind,
        created_at=created_at.isoformat(),
        spice_version=__version__,
        schema_revision=revision,
        engine=database.engine_name,
        engine_version=engine_version,
        python_version=platform.python_version(),
        databases=entries,
        system=system,
        config=config,
        files=described,
    )
    layout.write_metadata(folder, metadata)
    return metadata


def _chosen(connection: Connection, wanted: Sequence[str] | None) -> dict[str, int]:
    """name -> internal id of the databases to back up, in name order."""
    rows = connection.execute(
        select(spice_databases.c.name, spice_databases.c.db_id).order_by(spice_databases.c.name)
    ).all()
    present = {row.name: int(row.db_id) for row in rows}
    if wanted is None:
        return present
    missing = sorted(set(wanted) - present.keys())
    if missing:
        raise NotFound(f"database '{missing[0]}' does not exist", field="database")
    return {name: present[name] for name in sorted(set(wanted))}


def _reported(
    records: Iterator[dict[str, Any]], name: str, report: Reporter
) -> Iterator[dict[str, Any]]:
    for record in records:
        if record["type"] == "header":
            report.begin(f"backing up {name}", record["counts"]["commits"])
        elif record["type"] == "commit":
            report.advance()
        yield record


def _database_entry(
    connection: Connection, db_id: int, relative: str, header: dict[str, Any]
) -> layout.DatabaseEntry:
    b, c = branches.c, commits.c
    rows = connection.execute(
        select(b.name, b.head_commit, c.state_hash, c.doc_count)
        .join(commits, (c.db_id == b.db_id) & (c.commit_id == b.head_commit))
        .where(b.db_id == db_id)
        .order_by(b.name)
    ).all()
    heads = {
        row.name: layout.BranchEntry(
            head=row.head_commit, state_hash=row.state_hash, documents=row.doc_count
        )
        for row in rows
    }
    prs = connection.execute(
        select(func.count()).select_from(pull_requests).where(pull_requests.c.db_id == db_id)
    ).scalar_one()
    counts = header["counts"]
    main = heads.get("main")
    return layout.DatabaseEntry(
        file=relative,
        commits=counts["commits"],
        events=counts["events"],
        branches=counts["branches"],
        documents=main.documents if main is not None else 0,
        pull_requests=int(prs),
        branch_heads=heads,
    )


def _engine_version(connection: Connection) -> str:
    if connection.dialect.name == "postgresql":
        return str(connection.exec_driver_sql("SHOW server_version").scalar_one())
    return str(connection.exec_driver_sql("SELECT sqlite_version()").scalar_one())
