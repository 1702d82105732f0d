"""Replaying a database's log commit by commit against what the store holds.

The log can rebuild every document: a commit's events are field-level changes over its
first parent's state (a merge's events too), and `apply_event` replays one exactly. Rather
than hold every document of every commit in memory, the replay goes by induction, each
commit once, in generation order (every parent before its children), inside one read
transaction:

- the commit's id must be the hash of its content (parents, author, message, time, command
  and its events' ids, payload hashes and documents), and each event's stored payload hash
  that of its payload: a deleted, added or edited event changes one of them;
- each event, replayed over the document as the first parent sees it, must give exactly the
  version the commit stored (seq, deleted, data field by field, and its doc_hash), and must
  be the event the writer records for that change; each stored version must have its event;
- the state hash and document count folded from the first parent's over the replayed
  changes must be the commit's.

When a version differs, its replayed value stands in for it in the commits after it, so
one changed row is reported once rather than in every later commit. With the root's state
empty, this shows every stored version equals the replay of the log up to it; the branch
check (integrity.py) then recomputes each head's state hash from the documents it shows.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Final

from sqlalchemy import Connection, select

from spice_harvester.adapters.sql.tables import commits, doc_versions, events
from spice_harvester.adapters.sql.versioned import reads
from spice_harvester.adapters.sql.versioned.commits import load_commits
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.domain.versioning.changes import apply_event, event_for
from spice_harvester.domain.versioning.documents import DOC_TYPES, Data, DocRef
from spice_harvester.domain.versioning.hashing import (
    EMPTY_STATE,
    add_to_state,
    commit_id_for,
    doc_hash,
    request_hash,
)

BATCH: Final = 200
KNOWN_LIMIT: Final = 100_000
SHOWN_VALUE: Final = 60
_ABSENT: Final = object()
_c, _e, _dv = commits.c, events.c, doc_versions.c


@dataclass(frozen=True)
class Finding:
    """One difference; `commit` and `document` say where, `field` which part."""

    kind: str  # commit | event | document | state
    commit: str
    message: str
    document: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class _Placed:
    timeline_id: int
    pos: int
    state_hash: str
    doc_count: int


class CommitReplay:
    """Checks every commit of one database; `report` receives each finding."""

    def __init__(
        self,
        connection: Connection,
        db_id: int,
        root_name: str,
        report: Callable[[Finding], None],
    ) -> None:
        self.connection = connection
        self.db_id = db_id
        self.root_name = root_name  # what the first commit's id hashes as the database
        self.report = report
        self.cache = TimelineCache()
        self.known: OrderedDict[str, _Placed] = OrderedDict()
        # (document key, commit) of a stored version that differs -> the replayed data.
        self.replayed: dict[tuple[str, str], Data | None] = {}

    def run(self, advance: Callable[[int], None]) -> int:
        """Checks every commit, oldest generation first; returns how many."""
        query = (
            select(_c.commit_id, _c.parent_ids, _c.timeline_id, _c.pos, _c.author, _c.message)
            .add_columns(_c.created_at, _c.command_id, _c.state_hash, _c.doc_count)
            .where(_c.db_id == self.db_id)
            .order_by(_c.generation, _c.timeline_id, _c.pos)
        )
        done = 0
        result = self.connection.execute(query, execution_options={"yield_per": BATCH})
        for batch in result.partitions():
            self._batch(list(batch))
            done += len(batch)
            advance(len(batch))
        return done

    def _batch(self, batch: list[Any]) -> None:
        ids = [row.commit_id for row in batch]
        written = self._events(ids)
        stored = self._versions(batch)
        self._remember_parents(batch)
        for row in batch:
            self._commit(row, written.get(row.commit_id, []), stored.get(row.commit_id, {}))
            self._remember(
                row.commit_id, _Placed(row.timeline_id, row.pos, row.state_hash, row.doc_count)
            )

    def _events(self, ids: list[str]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        query = (
            select(_e.commit_id, _e.event_id, _e.event_type, _e.aggregate_id, _e.seq)
            .add_columns(_e.payload, _e.payload_hash)
            .where(_e.db_id == self.db_id, _e.commit_id.in_(ids), _e.aggregate_type.in_(DOC_TYPES))
            .order_by(_e.position)
        )
        for row in self.connection.execute(query):
            found.setdefault(row.commit_id, []).append(row)
        return found

    def _versions(self, batch: list[Any]) -> dict[str, dict[str, Any]]:
        """commit -> document key -> the version stored at the commit's place."""
        at: dict[tuple[int, int], str] = {
            (row.timeline_id, row.pos): row.commit_id for row in batch
        }
        by_timeline: dict[int, list[int]] = {}
        for timeline_id, pos in at:
            by_timeline.setdefault(timeline_id, []).append(pos)
        found: dict[str, dict[str, Any]] = {}
        for timeline_id, positions in by_timeline.items():
            query = (
                select(_dv.timeline_id, _dv.pos, _dv.doc_key, _dv.seq, _dv.deleted, _dv.data)
                .add_columns(_dv.doc_hash, _dv.commit_id)
                .where(_dv.timeline_id == timeline_id, _dv.pos.in_(positions))
            )
            for row in self.connection.execute(query):
                owner = at[(row.timeline_id, row.pos)]
                if row.commit_id != owner:
                    self.report(
                        Finding(
                            "document",
                            owner,
                            f"its stored version of {_path(row.doc_key)} names commit "
                            f"{row.commit_id}",
                            _path(row.doc_key),
                            "commit_id",
                        )
                    )
                found.setdefault(owner, {})[row.doc_key] = row
        return found

    def _remember_parents(self, batch: list[Any]) -> None:
        wanted = sorted({row.parent_ids[0] for row in batch if row.parent_ids} - self.known.keys())
        if wanted:
            for info in load_commits(self.connection, self.db_id, _c.commit_id.in_(wanted)):
                self._remember(
                    info.commit_id,
                    _Placed(info.timeline_id, info.pos, info.state_hash, info.doc_count),
                )

    def _remember(self, commit_id: str, placed: _Placed) -> None:
        self.known[commit_id] = placed
        self.known.move_to_end(commit_id)
        while len(self.known) > KNOWN_LIMIT:
            self.known.popitem(last=False)

    # -- one commit -------------------------------------------------------------------

    def _commit(self, row: Any, written: list[Any], stored: dict[str, Any]) -> None:
        commit_id = row.commit_id
        self._check_id(row, written)
        parents = list(row.parent_ids)
        if not parents:
            state, count = EMPTY_STATE, 0
            before: dict[str, Any] = {}
        else:
            parent = self.known.get(parents[0])
            if parent is None:
                self.report(Finding("commit", commit_id, f"its parent {parents[0]} is missing"))
                return
            state, count = parent.state_hash, parent.doc_count
            chain = self.cache.chain(self.connection, parent.timeline_id, parent.pos)
            before = reads.get_many(self.connection, chain, [e.aggregate_id for e in written])
        for event in written:
            state, count = self._event(
                commit_id, event, before.get(event.aggregate_id), stored, state, count
            )
        for key in sorted(stored.keys() - {e.aggregate_id for e in written}):
            self.report(
                Finding(
                    "event",
                    commit_id,
                    f"version {stored[key].seq} of {_path(key)} has no event in the log "
                    "(was the event deleted?)",
                    _path(key),
                )
            )
        if (state, count) != (row.state_hash, row.doc_count):
            self.report(
                Finding(
                    "state",
                    commit_id,
                    f"replaying its events gives state {state[:16]}... with {count} "
                    f"document(s), the commit records {row.state_hash[:16]}... with "
                    f"{row.doc_count}",
                    field="state_hash",
                )
            )

    def _check_id(self, row: Any, written: list[Any]) -> None:
        hashes = [request_hash(event.payload) for event in written]
        content: dict[str, Any] = {
            "parents": list(row.parent_ids),
            "author": row.author,
            "message": row.message,
            "created_at": row.created_at.astimezone(UTC).isoformat(),
            "command_id": row.command_id,
            "events": [
                [e.event_id, hashed, e.aggregate_id]
                for e, hashed in zip(written, hashes, strict=True)
            ],
        }
        if not row.parent_ids:
            content["database"] = self.root_name
        for event, hashed in zip(written, hashes, strict=True):
            if hashed != event.payload_hash:
                self.report(
                    Finding(
                        "event",
                        row.commit_id,
                        f"event {event.event_id} of {_path(event.aggregate_id)}: its payload "
                        "does not match its recorded payload hash",
                        _path(event.aggregate_id),
                        "payload",
                    )
                )
        recomputed = commit_id_for(content)
        if recomputed != row.commit_id:
            self.report(
                Finding(
                    "commit",
                    row.commit_id,
                    f"its content hashes to {recomputed}: an event, or the commit itself, was "
                    "changed, added or deleted",
                )
            )

    def _event(
        self,
        commit_id: str,
        event: Any,
        previous: Any,
        stored: dict[str, Any],
        state: str,
        count: int,
    ) -> tuple[str, int]:
        key = event.aggregate_id
        ref = DocRef.from_key(key)
        before: Data | None = None
        old_hash: str | None = None
        seq = 0
        if previous is not None:
            seq = previous.seq
            corrected = (key, previous.commit_id)
            if corrected in self.replayed:
                before = self.replayed[corrected]
                old_hash = None if before is None else doc_hash(key, before)
            else:
                # Checked against its data when its own commit was replayed.
                before, old_hash = previous.data, previous.doc_hash
        after = apply_event(before, event.event_type, event.payload)
        again = event_for(ref, before, after)
        if event.seq != seq + 1 or (again.event_type, again.payload) != (
            event.event_type,
            event.payload,
        ):
            self.report(
                Finding(
                    "event",
                    commit_id,
                    f"event {event.event_id} ({event.event_type}, seq {event.seq}) does not "
                    f"follow version {seq} of {ref.path} as the writer records it",
                    ref.path,
                )
            )
        new_hash = None if after is None else doc_hash(key, after)
        self._compare(commit_id, key, ref, event, stored.get(key), after, new_hash)
        return add_to_state(state, new_hash, old_hash), count + (after is not None) - (
            before is not None
        )

    def _compare(
        self,
        commit_id: str,
        key: str,
        ref: DocRef,
        event: Any,
        row: Any,
        after: Data | None,
        after_hash: str | None,
    ) -> None:
        if row is None:
            self.report(
                Finding(
                    "document",
                    commit_id,
                    f"{ref.path}: event {event.event_id} has no stored version",
                    ref.path,
                )
            )
            return
        data = None if row.deleted else row.data
        path = ref.path
        problems: list[tuple[str | None, str]] = []
        if row.seq != event.seq:
            problems.append(
                ("seq", f"{path} is version {row.seq} in the store, {event.seq} in the log")
            )
        if (data is None) != (after is None):
            stored_as = "deleted" if data is None else "live"
            replayed_as = "deleted" if after is None else "live"
            problems.append((None, f"{path} is {stored_as} in the store, {replayed_as} in the log"))
        elif data is not None and after is not None:
            problems += [
                (name, f"{path} field '{name}' {detail}")
                for name, detail in _field_differences(data, after)
            ]
        data_hash = after_hash if data == after else None if data is None else doc_hash(key, data)
        if data is not None and row.doc_hash != data_hash:
            problems.append(
                ("doc_hash", f"{path}: its stored doc_hash is not the hash of its data")
            )
        if problems:
            self.replayed[(key, commit_id)] = after
        for name, message in problems:
            self.report(Finding("document", commit_id, message, path, name))


def _field_differences(stored: Data, replayed: Data) -> Iterable[tuple[str, str]]:
    for name in sorted(stored.keys() | replayed.keys()):
        was, should = stored.get(name, _ABSENT), replayed.get(name, _ABSENT)
        if was != should or type(was) is not type(should):
            yield name, f"is {_shown(was)} in the store, the log replays {_shown(should)}"


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 3] + "..."


def _path(key: str) -> str:
    return DocRef.from_key(key).path
