"""The rows an import has built and not yet written, written one statement per table."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from spice_harvester.adapters.sql.dialect import insert_rows
from spice_harvester.adapters.sql.tables import commit_parents, commits, doc_versions, events
from spice_harvester.adapters.sql.versioned import reads
from spice_harvester.adapters.sql.versioned.exchange import limits
from spice_harvester.adapters.sql.versioned.exchange.placing import Placed
from spice_harvester.adapters.sql.versioned.exchange.records import CommitRecord, EventRecord
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.adapters.sql.versioned.writer import Database
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.versioning.documents import Data, DocRef
from spice_harvester.domain.versioning.hashing import doc_hash, request_hash

_e = events.c


class Previous(NamedTuple):
    """A document's version before a commit: written already (commit_id) or still waiting
    in the buffer (the row itself)."""

    seq: int
    data: Data | None
    commit_id: str | None
    waiting: dict[str, Any] | None


NEVER_WRITTEN = Previous(0, None, None, None)


class RowBuffer:
    """Document versions, events, commits and parents, plus the `valid_to` updates that
    close superseded versions, in the order the writer would have written them."""

    def __init__(self, connection: Connection, db: Database, cache: TimelineCache) -> None:
        self.connection = connection
        self.db = db
        self.cache = cache
        self._clear()

    def _clear(self) -> None:
        self.doc_rows: list[dict[str, Any]] = []
        self.close_rows: list[dict[str, Any]] = []
        self.event_rows: list[dict[str, Any]] = []
        self.commit_rows: list[dict[str, Any]] = []
        self.parent_rows: list[dict[str, Any]] = []
        # Each key's newest row among doc_rows, so a later commit on the same timeline can
        # read it (and close it) without a round trip.
        self.waiting: dict[str, dict[str, Any]] = {}

    def size(self) -> int:
        return len(self.doc_rows) + len(self.commit_rows)

    def previous_versions(
        self, keys: list[str], timeline_id: int, head: Placed
    ) -> dict[str, Previous]:
        """The version of each key at the first parent: from the rows waiting to be written
        when they sit on this commit's own timeline (they are its newest there), otherwise
        from the table in one read over the first parent's chain."""
        waiting = {key: self.waiting[key] for key in keys if key in self.waiting}
        if any(row["timeline_id"] != timeline_id for row in waiting.values()):
            # Whether this commit sees a version waiting on another timeline depends on
            # where the timelines fork: let the table answer that.
            self.flush()
            waiting = {}
        found = {key: Previous(row["seq"], row["data"], None, row) for key, row in waiting.items()}
        wanted = [key for key in keys if key not in found]
        if wanted:
            chain = self.cache.chain(self.connection, head.timeline_id, head.pos)
            for key, current in reads.get_many(self.connection, chain, wanted).items():
                found[key] = Previous(current.seq, current.data, current.commit_id, None)
        return found

    def add_commit(self, commit: CommitRecord, timeline_id: int, parents: list[Placed]) -> None:
        self.commit_rows.append(
            {
                "db_id": self.db.db_id,
                "commit_id": commit.commit_id,
                "timeline_id": timeline_id,
                "pos": commit.pos,
                "generation": commit.generation,
                "parent_ids": commit.parents,
                "author": commit.author,
                "message": commit.message,
                "created_at": commit.created_at,
                "command_id": commit.command_id,
                "request_hash": commit.request_hash,
                "state_hash": commit.state_hash,
                "doc_count": commit.doc_count,
            }
        )
        self.parent_rows.extend(
            {
                "db_id": self.db.db_id,
                "commit_id": commit.commit_id,
                "idx": index,
                "parent_id": parent_id,
                "parent_timeline_id": parent.timeline_id,
                "parent_pos": parent.pos,
                "child_timeline_id": timeline_id,
                "child_pos": commit.pos,
            }
            for index, (parent_id, parent) in enumerate(zip(commit.parents, parents, strict=True))
        )

    def add_version(
        self,
        commit_id: str,
        place: tuple[int, int],
        event: EventRecord,
        ref: DocRef,
        after: Data | None,
    ) -> str | None:
        """A document's new version at (timeline, pos) and the event that made it; returns
        the version's hash."""
        timeline_id, pos = place
        hashed = None if after is None else doc_hash(ref.key, after)
        row = {
            "db_id": self.db.db_id,
            "timeline_id": timeline_id,
            "pos": pos,
            "doc_key": ref.key,
            "doc_type": ref.doc_type,
            "class_id": ref.class_id,
            "doc_id": ref.doc_id,
            "seq": event.seq,
            "deleted": after is None,
            "data": after,
            "doc_hash": hashed,
            "commit_id": commit_id,
            "valid_to": None,
        }
        self.doc_rows.append(row)
        self.waiting[ref.key] = row
        self.event_rows.append(
            {
                "event_id": event.event_id,
                "db_id": self.db.db_id,
                "db_name": self.db.name,
                "commit_id": commit_id,
                "branch": event.branch,
                "aggregate_type": event.aggregate_type,
                "aggregate_id": event.aggregate_id,
                "class_id": event.class_id,
                "seq": event.seq,
                "event_type": event.event_type,
                "payload": event.payload,
                "payload_hash": request_hash(event.payload),
                "actor": event.actor,
                "occurred_at": event.occurred_at,
            }
        )
        return hashed

    def close(self, timeline_id: int, key: str, pos: int) -> None:
        """Marks the key's open row on this timeline, already written, superseded at pos."""
        self.close_rows.append({"b_timeline": timeline_id, "b_key": key, "b_pos": pos})

    def flush(self) -> None:
        connection = self.connection
        if self.event_rows:
            self._refuse_known_event_ids()
        if self.close_rows:
            connection.execute(
                update(doc_versions)
                .where(
                    doc_versions.c.timeline_id == bindparam("b_timeline"),
                    doc_versions.c.doc_key == bindparam("b_key"),
                    doc_versions.c.valid_to.is_(None),
                )
                .values(valid_to=bindparam("b_pos")),
                self.close_rows,
            )
        for table, rows in (
            (doc_versions, self.doc_rows),
            (events, self.event_rows),
            (commits, self.commit_rows),
            (commit_parents, self.parent_rows),
        ):
            if rows:
                insert_rows(connection, table, rows)
        self._clear()

    def _refuse_known_event_ids(self) -> None:
        """Event ids are unique within a database and part of the commit ids: a history
        that names one event twice is damaged. (Other databases may hold the same ids: a
        clone shares its events with its origin.)"""
        owners: dict[str, str] = {}
        for row in self.event_rows:
            if row["event_id"] in owners:
                self._twice(row["event_id"], row["commit_id"])
            owners[row["event_id"]] = row["commit_id"]
        ids = sorted(owners)
        for start in range(0, len(ids), limits.CHUNK):
            clash = self.connection.execute(
                select(_e.event_id)
                .where(
                    _e.db_id == self.db.db_id,
                    _e.event_id.in_(ids[start : start + limits.CHUNK]),
                )
                .limit(1)
            ).one_or_none()
            if clash is not None:
                self._twice(clash.event_id, owners[clash.event_id])

    def _twice(self, event_id: str, commit_id: str) -> None:
        raise ValidationFailed(
            f"event {event_id} (commit {commit_id}) appears twice in the history",
            field="event_id",
            data={"event_id": event_id, "commit_id": commit_id},
        )
