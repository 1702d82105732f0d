"""Databases and branches: creating, listing, deleting, and the events that record it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from spice_harvester.adapters.sql.tables import (
    branches,
    commit_parents,
    commits,
    doc_versions,
    spice_databases,
    timelines,
)
from spice_harvester.adapters.sql.versioned.writer import Database, record_event
from spice_harvester.domain.errors import AlreadyExists, ConcurrencyConflict, NotFound
from spice_harvester.domain.versioning.hashing import EMPTY_STATE, commit_id_for
from spice_harvester.domain.versioning.model import DatabaseInfo

MAIN = "main"


def database_info(row: Any) -> DatabaseInfo:
    return DatabaseInfo(
        row.db_id, row.name, row.description, row.seq, row.created_at, row.created_by
    )


def find_database(connection: Connection, name: str, *, lock: bool = False) -> Any:
    query = select(spice_databases).where(spice_databases.c.name == name)
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"database '{name}' does not exist", field="db_name")
    return row


def create_database(
    connection: Connection, name: str, description: str | None, actor: str
) -> DatabaseInfo:
    exists = connection.execute(
        select(spice_databases.c.db_id).where(spice_databases.c.name == name)
    ).one_or_none()
    if exists is not None:
        raise AlreadyExists(f"database '{name}' already exists", field="name")
    now = datetime.now(UTC)
    created = connection.execute(
        insert(spice_databases).values(
            name=name, description=description, seq=1, created_at=now, created_by=actor
        )
    )
    key = created.inserted_primary_key
    assert key is not None
    db = Database(int(key[0]), name)
    root = connection.execute(
        insert(timelines).values(
            db_id=db.db_id,
            parent_timeline_id=None,
            fork_pos=None,
            depth=1,
            tip_pos=1,
            owner_branch=MAIN,
        )
    )
    root_key = root.inserted_primary_key
    assert root_key is not None
    message = f"Create database {name}"
    commit_id = commit_id_for(
        {
            "parents": [],
            "author": actor,
            "message": message,
            "created_at": now.isoformat(),
            "command_id": None,
            "events": [],
            "database": name,
        }
    )
    connection.execute(
        insert(commits).values(
            db_id=db.db_id,
            commit_id=commit_id,
            timeline_id=int(root_key[0]),
            pos=1,
            generation=1,
            parent_ids=[],
            author=actor,
            message=message,
            created_at=now,
            command_id=None,
            request_hash=None,
            state_hash=EMPTY_STATE,
            doc_count=0,
        )
    )
    connection.execute(
        insert(branches).values(
            db_id=db.db_id,
            name=MAIN,
            head_commit=commit_id,
            from_branch=None,
            fork_commit=None,
            protected=True,
            description="default branch",
            seq=1,
            created_at=now,
            created_by=actor,
        )
    )
    record_event(
        connection,
        db,
        aggregate_type="database",
        aggregate_id=name,
        seq=1,
        event_type="DatabaseCreated",
        payload={"description": description},
        actor=actor,
        commit_id=commit_id,
        branch=MAIN,
    )
    return DatabaseInfo(db.db_id, name, description, 1, now, actor)


def delete_database(
    connection: Connection, name: str, expected_seq: int | None, actor: str
) -> None:
    row = find_database(connection, name, lock=True)
    if expected_seq is not None and expected_seq != row.seq:
        raise ConcurrencyConflict(name, expected_seq, row.seq)
    db_id = row.db_id
    # The events stay: the log is immutable, and consumers need the deletion to forget it.
    for table in (doc_versions, commit_parents, commits, branches, timelines):
        connection.execute(delete(table).where(table.c.db_id == db_id))
    record_event(
        connection,
        Database(db_id, name),
        aggregate_type="database",
        aggregate_id=name,
        seq=row.seq + 1,
        event_type="DatabaseDeleted",
        payload={},
        actor=actor,
    )
    connection.execute(delete(spice_databases).where(spice_databases.c.db_id == db_id))


def bump_database(connection: Connection, db_id: int) -> None:
    connection.execute(
        update(spice_databases)
        .where(spice_databases.c.db_id == db_id)
        .values(seq=spice_databases.c.seq + 1)
    )
