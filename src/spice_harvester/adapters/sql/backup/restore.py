"""Restoring a backup into the configured database, whichever engine it is.

In order: the backup is checked (metadata readable, every file's size and SHA-256, a schema
revision this release knows), then what would clash is found before anything is written (a
database that exists here without `replace`; API keys or an audit chain that cannot be
merged). Then ONE write transaction deletes the databases being replaced, imports each
history (every commit id and state hash checked as it is applied, and each branch head
compared with metadata.json) and merges the system tables: the restore lands whole or not at
all. Last, the read models of the restored databases are rebuilt (read_models.py) and the
restore is recorded in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, delete, select, text

from spice_harvester.adapters.sql.audit import SqlAuditLog
from spice_harvester.adapters.sql.backup import layout
from spice_harvester.adapters.sql.backup.read_models import RestoredDatabase, rebuild_read_models
from spice_harvester.adapters.sql.backup.reporting import Reporter, Silent
from spice_harvester.adapters.sql.backup.system_state import SystemPlan, apply_system, plan_system
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.migrator import alembic_config
from spice_harvester.adapters.sql.tables import branches, commits, pull_requests, spice_databases
from spice_harvester.adapters.sql.versioned import admin
from spice_harvester.adapters.sql.versioned.exchange import import_history_on, read_history_file
from spice_harvester.domain.errors import AlreadyExists, NotFound, ValidationFailed
from spice_harvester.domain.names import check_database_name

ACTOR = "restore"
# The store's tables a restore fills.
_ANALYZED = (
    "spice_databases",
    "timelines",
    "commits",
    "commit_parents",
    "branches",
    "doc_versions",
    "events",
)


@dataclass(frozen=True)
class RestoreRequest:
    folder: Path
    databases: Sequence[str] | None = None  # None: every database in the backup
    replace: bool = False
    system: bool = True  # merge API keys, audit log and meta
    actor: str = ACTOR


@dataclass
class RestoreResult:
    metadata: layout.Metadata
    databases: list[RestoredDatabase] = field(default_factory=list)
    system_added: dict[str, int] = field(default_factory=dict)
    documents_built: int = 0


def check_backup(folder: Path, reporter: Reporter | None = None) -> layout.Metadata:
    """The backup's metadata, once every file matches it; ValidationFailed otherwise."""
    report = reporter or Silent()
    metadata = layout.read_metadata(folder)
    report.begin("checking checksums", len(metadata.files))
    problems = []
    for entry in metadata.files:
        problem = layout.check_file(folder, entry)
        if problem is not None:
            problems.append(problem)
        report.advance()
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(
            f"the backup is damaged or was altered: {problems[0]}{more}", field="backup"
        )
    _require_known_revision(metadata.schema_revision)
    return metadata


def restore_backup(
    database: SqlDatabase, request: RestoreRequest, reporter: Reporter | None = None
) -> RestoreResult:
    """Checks the backup, refuses what would clash, restores in one write transaction, then
    rebuilds the read models and records the restore in the audit log."""
    report = reporter or Silent()
    metadata = check_backup(request.folder, report)
    names = _chosen(metadata, request.databases)
    with database.read() as connection:
        _refuse_clashes(connection, names, replace=request.replace)
        if request.system:
            plan_system(connection, request.folder, metadata.system.files)
    result = RestoreResult(metadata)
    with database.transaction() as connection:
        _write(connection, request, names, result, report)
    if result.databases:
        _analyze(database)
    result.documents_built = rebuild_read_models(database, result.databases, report)
    SqlAuditLog(database).append(
        service="cli",
        actor=request.actor,
        action="backup.restore",
        outcome="success",
        target=str(request.folder)[:400],
        details={
            "backup_created_at": metadata.created_at,
            "databases": names,
            "replaced": sorted(d.name for d in result.databases if d.replaced_db_id is not None),
            "system": request.system,
        },
    )
    return result


def _write(
    connection: Connection,
    request: RestoreRequest,
    names: Sequence[str],
    result: RestoreResult,
    report: Reporter,
) -> None:
    """Everything the restore writes, inside the caller's one transaction."""
    folder, metadata = request.folder, result.metadata
    replaced = _delete_replaced(connection, names, request) if request.replace else {}
    for name in names:
        entry = metadata.databases[name]
        records = _reported(read_history_file(folder / entry.file), name, entry, report)
        info = import_history_on(connection, records, name=name, actor=request.actor)
        documents = _check_heads(connection, info.db_id, name, entry)
        result.databases.append(RestoredDatabase(name, info.db_id, replaced.get(name), documents))
    report.begin("restoring API keys, audit log, pull requests", None)
    files = metadata.system.files
    plan = plan_system(connection, folder, files) if request.system else SystemPlan()
    ids = {item.name: item.db_id for item in result.databases}
    result.system_added = apply_system(connection, folder, files, plan, ids)


def _analyze(database: SqlDatabase) -> None:
    """PostgreSQL plans the store's reads from table statistics, and a restore has just
    filled the tables: without fresh ones the read-model rebuild that follows, and the first
    requests, may be planned for empty tables (autovacuum would catch up only later)."""
    if database.engine_name != "postgresql":
        return
    with database.transaction() as connection:
        for table in _ANALYZED:
            connection.execute(text(f"ANALYZE {table}"))


def _chosen(metadata: layout.Metadata, wanted: Sequence[str] | None) -> list[str]:
    for name in metadata.databases:
        check_database_name(name, "database")  # the metadata names what gets created
    if wanted is None:
        return sorted(metadata.databases)
    missing = sorted(set(wanted) - metadata.databases.keys())
    if missing:
        raise NotFound(
            f"database '{missing[0]}' is not in this backup (it has: "
            f"{', '.join(sorted(metadata.databases)) or 'none'})",
            field="database",
        )
    return sorted(set(wanted))


def _require_known_revision(revision: str | None) -> None:
    """A backup from a newer schema may hold what this release cannot restore."""
    if revision is None:
        return
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise ValidationFailed(
            f"the backup was taken at schema revision {revision}, which this release does "
            "not know: restore it with the release that made it, or a newer one",
            field="schema_revision",
        )


def _existing(connection: Connection, names: Sequence[str]) -> dict[str, int]:
    rows = connection.execute(
        select(spice_databases.c.name, spice_databases.c.db_id).where(
            spice_databases.c.name.in_(list(names))
        )
    ).all()
    return {row.name: int(row.db_id) for row in rows}


def _refuse_clashes(connection: Connection, names: Sequence[str], *, replace: bool) -> None:
    present = sorted(_existing(connection, names))
    if present and not replace:
        listed = ", ".join(f"'{name}'" for name in present)
        raise AlreadyExists(
            f"database{'s' if len(present) > 1 else ''} {listed} already exist"
            f"{'' if len(present) > 1 else 's'} here: restore with --replace to delete "
            f"{'them' if len(present) > 1 else 'it'} and restore the backup's",
            field="database",
        )


def _delete_replaced(
    connection: Connection, names: Sequence[str], request: RestoreRequest
) -> dict[str, int]:
    """Deletes the databases the restore replaces (their pull requests too); name -> the
    internal id each had."""
    present = _existing(connection, names)
    for name, db_id in present.items():
        connection.execute(delete(pull_requests).where(pull_requests.c.db_id == db_id))
        admin.delete_database(connection, name, None, request.actor)
    return present


def _reported(
    records: Iterator[dict[str, Any]], name: str, entry: layout.DatabaseEntry, report: Reporter
) -> Iterator[dict[str, Any]]:
    report.begin(f"restoring {name}", entry.commits)
    for record in records:
        if record.get("type") == "commit":
            report.advance()
        yield record


def _check_heads(
    connection: Connection, db_id: int, name: str, entry: layout.DatabaseEntry
) -> dict[str, int]:
    """Each restored branch must end where metadata.json says; returns branch -> documents."""
    b, c = branches.c, commits.c
    rows = connection.execute(
        select(b.name, b.head_commit, c.state_hash, c.doc_count)
        .join(commits, (c.db_id == b.db_id) & (c.commit_id == b.head_commit))
        .where(b.db_id == db_id)
    ).all()
    found = {row.name: (row.head_commit, row.state_hash) for row in rows}
    recorded = {branch: (head.head, head.state_hash) for branch, head in entry.branch_heads.items()}
    if found != recorded:
        differing = sorted(
            branch
            for branch in found.keys() | recorded.keys()
            if found.get(branch) != recorded.get(branch)
        )
        raise ValidationFailed(
            f"database '{name}': branch '{differing[0]}' does not end where metadata.json "
            "says after the import",
            field="database",
        )
    return {row.name: int(row.doc_count) for row in rows}
