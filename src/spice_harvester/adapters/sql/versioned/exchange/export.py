"""Export: one database's history as records, front to back, from one consistent snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import branches, commits, events, timelines
from spice_harvester.adapters.sql.versioned import admin
from spice_harvester.adapters.sql.versioned.exchange import limits
from spice_harvester.adapters.sql.versioned.exchange.records import FORMAT, VERSION
from spice_harvester.domain.versioning.documents import DOC_TYPES

_c = commits.c
_e = events.c


def export_history(database: SqlDatabase, db_name: str) -> Iterator[dict[str, Any]]:
    """The records of one database's history, front to back, from one consistent snapshot.

    The read transaction stays open while the caller consumes the records; closing the
    iterator early ends it.
    """
    with database.read() as connection:
        yield from export_history_on(connection, db_name, database.engine_name)


def export_history_on(
    connection: Connection, db_name: str, engine: str
) -> Iterator[dict[str, Any]]:
    """The same records read through the caller's read transaction, so that several
    databases (a backup) can be exported from one snapshot."""
    # The records are built as plain dicts, not through the models in records.py: the
    # import of every export validates them, and this keeps the file's text as it was.
    row = admin.find_database(connection, db_name)
    db_id = int(row.db_id)
    yield _header(connection, row, engine)
    file_ids: dict[int, int] = {}
    yield from _timeline_records(connection, db_id, file_ids)
    yield from _commit_records(connection, db_id, file_ids)
    yield from _branch_records(connection, db_id)


def _header(connection: Connection, row: Any, engine: str) -> dict[str, Any]:
    db_id = row.db_id

    def count(table: Any, *where: Any) -> int:
        query = select(func.count()).select_from(table).where(table.c.db_id == db_id, *where)
        return int(connection.execute(query).scalar_one())

    return {
        "type": "header",
        "format": FORMAT,
        "version": VERSION,
        "database": row.name,
        "description": row.description,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "exported_at": datetime.now(UTC).isoformat(),
        "engine": engine,
        "counts": {
            "timelines": count(timelines),
            "commits": count(commits),
            "events": count(events, _e.aggregate_type.in_(DOC_TYPES)),
            "branches": count(branches),
        },
    }


def _timeline_records(
    connection: Connection, db_id: int, file_ids: dict[int, int]
) -> Iterator[dict[str, Any]]:
    # Renumbered 1, 2, 3 ... in creation order, so exports of equal histories are equal
    # whatever ids the storage handed out. A parent is always older than its children.
    query = (
        select(timelines.c.timeline_id, timelines.c.parent_timeline_id)
        .add_columns(timelines.c.fork_pos, timelines.c.depth, timelines.c.owner_branch)
        .where(timelines.c.db_id == db_id)
        .order_by(timelines.c.timeline_id)
    )
    for row in connection.execute(query, execution_options={"yield_per": 1000}):
        file_ids[row.timeline_id] = len(file_ids) + 1
        parent = row.parent_timeline_id
        yield {
            "type": "timeline",
            "id": file_ids[row.timeline_id],
            "parent": None if parent is None else file_ids[parent],
            "fork_pos": row.fork_pos,
            "depth": row.depth,
            "owner": row.owner_branch,
        }


def _commit_records(
    connection: Connection, db_id: int, file_ids: dict[int, int]
) -> Iterator[dict[str, Any]]:
    # Generation first: every parent has a lower generation than its children, and along
    # one timeline positions rise with generation, so an importer can apply front to back.
    query = (
        select(_c.commit_id, _c.parent_ids, _c.timeline_id, _c.pos, _c.generation, _c.author)
        .add_columns(_c.message, _c.created_at, _c.command_id, _c.request_hash)
        .add_columns(_c.state_hash, _c.doc_count)
        .where(_c.db_id == db_id)
        .order_by(_c.generation, _c.timeline_id, _c.pos)
    )
    result = connection.execute(query, execution_options={"yield_per": limits.EXPORT_BATCH})
    for batch in result.partitions():
        written = events_of(connection, db_id, [row.commit_id for row in batch])
        for row in batch:
            body = commit_body(row, written.get(row.commit_id, []))
            yield {
                "type": "commit",
                "commit_id": body.pop("commit_id"),
                "parents": body.pop("parents"),
                "timeline": file_ids[row.timeline_id],
                "pos": row.pos,
                **body,
            }


def commit_body(row: Any, written: list[dict[str, Any]]) -> dict[str, Any]:
    """A commit row and its events as records carry them (history files, packs)."""
    return {
        "commit_id": row.commit_id,
        "parents": list(row.parent_ids),
        "generation": row.generation,
        "author": row.author,
        "message": row.message,
        "created_at": row.created_at.isoformat(),
        "command_id": row.command_id,
        "request_hash": row.request_hash,
        "state_hash": row.state_hash,
        "doc_count": row.doc_count,
        "events": written,
    }


def packed_commits(connection: Connection, db_id: int, ids: list[str]) -> list[dict[str, Any]]:
    """The commits `ids` (in that order) with their events, for another database."""
    rows: dict[str, Any] = {}
    written: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), limits.CHUNK):
        chunk = ids[start : start + limits.CHUNK]
        query = select(commits).where(_c.db_id == db_id, _c.commit_id.in_(chunk))
        rows.update((row.commit_id, row) for row in connection.execute(query))
        written.update(events_of(connection, db_id, chunk))
    return [commit_body(rows[i], written.get(i, [])) for i in ids]


def events_of(
    connection: Connection, db_id: int, ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Document events per commit in log order; lifecycle events are not exported."""
    found: dict[str, list[dict[str, Any]]] = {}
    query = (
        select(_e.commit_id, _e.event_id, _e.event_type, _e.aggregate_type, _e.aggregate_id)
        .add_columns(_e.class_id, _e.seq, _e.payload, _e.actor, _e.occurred_at, _e.branch)
        .where(_e.db_id == db_id, _e.commit_id.in_(ids), _e.aggregate_type.in_(DOC_TYPES))
        .order_by(_e.position)
    )
    for row in connection.execute(query):
        found.setdefault(row.commit_id, []).append(
            {
                "event_id": row.event_id,
                "event_type": row.event_type,
                "aggregate_type": row.aggregate_type,
                "aggregate_id": row.aggregate_id,
                "class_id": row.class_id,
                "seq": row.seq,
                "payload": row.payload,
                "actor": row.actor,
                "occurred_at": row.occurred_at.isoformat(),
                "branch": row.branch,
            }
        )
    return found


def _branch_records(connection: Connection, db_id: int) -> Iterator[dict[str, Any]]:
    query = select(branches).where(branches.c.db_id == db_id).order_by(branches.c.name)
    for row in connection.execute(query):
        yield {
            "type": "branch",
            "name": row.name,
            "head": row.head_commit,
            "from_branch": row.from_branch,
            "fork_commit": row.fork_commit,
            "protected": row.protected,
            "description": row.description,
            "seq": row.seq,
            "created_at": row.created_at.isoformat(),
            "created_by": row.created_by,
        }
