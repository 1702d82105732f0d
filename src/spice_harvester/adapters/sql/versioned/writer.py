"""Appending one commit: place it on a timeline, write documents, events, commit and head."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from spice_harvester.adapters.sql.dialect import insert_rows
from spice_harvester.adapters.sql.tables import (
    branches,
    commit_parents,
    commits,
    doc_versions,
    events,
    timelines,
)
from spice_harvester.domain.versioning.changes import event_for
from spice_harvester.domain.versioning.documents import Data, DocRef, DocState, data_of, seq_of
from spice_harvester.domain.versioning.hashing import (
    add_to_state,
    commit_id_for,
    doc_hash,
    request_hash,
)
from spice_harvester.domain.versioning.model import CommitInfo, CommitResult, WrittenEvent

CHUNK = 500


@dataclass(frozen=True)
class Database:
    db_id: int
    name: str


@dataclass(frozen=True)
class CommitMeta:
    author: str
    message: str
    command_id: str | None = None
    request_hash: str | None = None


@dataclass(frozen=True)
class Write:
    """The state a document will have after the commit (None deletes it)."""

    ref: DocRef
    after: Data | None
    event_id: str | None = None


def place_commit(
    connection: Connection, db: Database, branch: str, head: CommitInfo, *, adopt: bool = False
) -> tuple[int, int]:
    """Appends to the head's timeline when the head is its tip and the timeline is this
    branch's own; otherwise opens a new timeline for the branch, forking at the head.

    This is what makes branching O(1): a branch, a reset or a fast-forward only moves a
    pointer, and the first commit after it opens a timeline of its own. The conditional
    UPDATE both claims the next position and locks the timeline until the commit ends.

    `adopt` appends at any timeline's tip whoever owns it: commits fetched from another
    database move no head, so they can continue their first parent's line.
    """
    at_tip = [timelines.c.timeline_id == head.timeline_id, timelines.c.tip_pos == head.pos]
    if not adopt:
        at_tip.append(timelines.c.owner_branch == branch)
    claimed = connection.execute(update(timelines).where(*at_tip).values(tip_pos=head.pos + 1))
    if claimed.rowcount == 1:
        return head.timeline_id, head.pos + 1
    depth = connection.execute(
        select(timelines.c.depth).where(timelines.c.timeline_id == head.timeline_id)
    ).scalar_one()
    created = connection.execute(
        insert(timelines).values(
            db_id=db.db_id,
            parent_timeline_id=head.timeline_id,
            fork_pos=head.pos,
            depth=depth + 1,
            tip_pos=1,
            owner_branch=branch,
        )
    )
    key = created.inserted_primary_key
    assert key is not None
    return int(key[0]), 1


def new_event_id(command_id: str | None, index: int) -> str:
    return f"{command_id}:{index}" if command_id else uuid.uuid4().hex


def write_commit(
    connection: Connection,
    db: Database,
    branch: str,
    head: CommitInfo,
    writes: Sequence[Write],
    current: dict[str, DocState],
    meta: CommitMeta,
    extra_parents: Sequence[CommitInfo] = (),
    *,
    fetched_at: datetime | None = None,
) -> CommitResult:
    """Writes one commit on `branch` whose first parent is `head`; the caller holds the
    branch lock and has checked every precondition.

    A commit fetched from another database (`fetched_at`: its original time) is written
    exactly as it was there, so it gets the same id, but moves no head: `branch` only names
    who owns a timeline it opens."""
    fetched = fetched_at is not None
    timeline_id, pos = place_commit(connection, db, branch, head, adopt=fetched)
    created_at = datetime.now(UTC) if fetched_at is None else fetched_at.astimezone(UTC)
    state_hash, doc_count = head.state_hash, head.doc_count
    doc_rows, event_rows, written = [], [], []
    for index, write in enumerate(writes):
        before_state = current.get(write.ref.key)
        before, seq = data_of(before_state), seq_of(before_state) + 1
        new_hash = None if write.after is None else doc_hash(write.ref.key, write.after)
        old_hash = None
        if before is not None:
            assert before_state is not None
            old_hash = before_state.doc_hash or doc_hash(write.ref.key, before)
        state_hash = add_to_state(state_hash, new_hash, old_hash)
        doc_count += (write.after is not None) - (before is not None)
        event = event_for(write.ref, before, write.after)
        event_id = write.event_id or new_event_id(meta.command_id, index)
        doc_rows.append(
            {
                "db_id": db.db_id,
                "timeline_id": timeline_id,
                "pos": pos,
                "doc_key": write.ref.key,
                "doc_type": write.ref.doc_type,
                "class_id": write.ref.class_id,
                "doc_id": write.ref.doc_id,
                "seq": seq,
                "deleted": write.after is None,
                "data": write.after,
                "doc_hash": new_hash,
                "valid_to": None,
            }
        )
        event_rows.append(
            {
                "event_id": event_id,
                "db_id": db.db_id,
                "db_name": db.name,
                "branch": branch,
                "aggregate_type": write.ref.doc_type,
                "aggregate_id": write.ref.key,
                "class_id": write.ref.class_id,
                "seq": seq,
                "event_type": event.event_type,
                "payload": event.payload,
                "payload_hash": request_hash(event.payload),
                "actor": meta.author,
                "occurred_at": created_at,
            }
        )
        written.append(WrittenEvent(event_id, event.event_type, write.ref.key, seq))
    parents = (head, *extra_parents)
    commit_id = commit_id_for(
        {
            "parents": [parent.commit_id for parent in parents],
            "author": meta.author,
            "message": meta.message,
            "created_at": created_at.isoformat(),
            "command_id": meta.command_id,
            "events": [
                [row["event_id"], row["payload_hash"], row["aggregate_id"]] for row in event_rows
            ],
        }
    )
    for row in doc_rows:
        row["commit_id"] = commit_id
    for row in event_rows:
        row["commit_id"] = commit_id
    if timeline_id == head.timeline_id:
        _close_previous(connection, timeline_id, pos, [w.ref.key for w in writes])
    if doc_rows:
        insert_rows(connection, doc_versions, doc_rows)
        insert_rows(connection, events, event_rows)
    generation = max(parent.generation for parent in parents) + 1
    connection.execute(
        insert(commits).values(
            db_id=db.db_id,
            commit_id=commit_id,
            timeline_id=timeline_id,
            pos=pos,
            generation=generation,
            parent_ids=[parent.commit_id for parent in parents],
            author=meta.author,
            message=meta.message,
            created_at=created_at,
            command_id=meta.command_id,
            request_hash=meta.request_hash,
            state_hash=state_hash,
            doc_count=doc_count,
        )
    )
    connection.execute(
        insert(commit_parents),
        [
            {
                "db_id": db.db_id,
                "commit_id": commit_id,
                "idx": index,
                "parent_id": parent.commit_id,
                "parent_timeline_id": parent.timeline_id,
                "parent_pos": parent.pos,
                "child_timeline_id": timeline_id,
                "child_pos": pos,
            }
            for index, parent in enumerate(parents)
        ],
    )
    if not fetched:
        seq = move_head(connection, db, branch, commit_id)
        if not doc_rows:
            # The head moved without document events (an empty commit, or a merge or revert
            # that changed nothing): consumers that follow branches learn it from this.
            record_event(
                connection,
                db,
                aggregate_type="branch",
                aggregate_id=branch,
                seq=seq,
                event_type="BranchAdvanced",
                payload={"from": head.commit_id, "to": commit_id},
                actor=meta.author,
                commit_id=commit_id,
                branch=branch,
            )
    info = CommitInfo(
        commit_id,
        tuple(p.commit_id for p in parents),
        meta.author,
        meta.message,
        created_at,
        meta.command_id,
        state_hash,
        doc_count,
        generation,
        timeline_id,
        pos,
    )
    return CommitResult(info, {w.aggregate_id: w.seq for w in written}, tuple(written))


def _close_previous(connection: Connection, timeline_id: int, pos: int, keys: list[str]) -> None:
    """Marks the versions these keys had on this timeline as superseded at `pos`."""
    for start in range(0, len(keys), CHUNK):
        connection.execute(
            update(doc_versions)
            .where(
                doc_versions.c.timeline_id == timeline_id,
                doc_versions.c.doc_key.in_(keys[start : start + CHUNK]),
                doc_versions.c.valid_to.is_(None),
            )
            .values(valid_to=pos)
        )


def move_head(connection: Connection, db: Database, branch: str, commit_id: str) -> int:
    """Points the branch at `commit_id`; returns the branch's new seq."""
    moved = connection.execute(
        update(branches)
        .where(branches.c.db_id == db.db_id, branches.c.name == branch)
        .values(head_commit=commit_id, seq=branches.c.seq + 1)
        .returning(branches.c.seq)
    ).one()
    return int(moved.seq)


def record_event(
    connection: Connection,
    db: Database,
    *,
    aggregate_type: str,
    aggregate_id: str,
    seq: int,
    event_type: str,
    payload: dict[str, Any],
    actor: str,
    commit_id: str | None = None,
    branch: str | None = None,
) -> str:
    """Appends a non-document event (database and branch lifecycle) to the log."""
    event_id = uuid.uuid4().hex
    connection.execute(
        insert(events).values(
            event_id=event_id,
            db_id=db.db_id,
            db_name=db.name,
            commit_id=commit_id,
            branch=branch,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            class_id=None,
            seq=seq,
            event_type=event_type,
            payload=payload,
            payload_hash=request_hash(payload),
            actor=actor,
            occurred_at=datetime.now(UTC),
        )
    )
    return event_id
