"""Import: a new database from a history's records, each commit verified as it is applied."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import spice_databases
from spice_harvester.adapters.sql.versioned import admin
from spice_harvester.adapters.sql.versioned.exchange import checks, limits
from spice_harvester.adapters.sql.versioned.exchange.branches import Branches
from spice_harvester.adapters.sql.versioned.exchange.buffer import NEVER_WRITTEN, RowBuffer
from spice_harvester.adapters.sql.versioned.exchange.placing import Placed, Placements, Timelines
from spice_harvester.adapters.sql.versioned.exchange.records import (
    CommitRecord,
    Header,
    TimelineRecord,
    read_header,
    read_record,
)
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.adapters.sql.versioned.writer import Database, record_event
from spice_harvester.domain.errors import AlreadyExists, MalformedInput, ValidationFailed
from spice_harvester.domain.versioning.hashing import EMPTY_STATE, add_to_state, doc_hash
from spice_harvester.domain.versioning.model import DatabaseInfo

if TYPE_CHECKING:
    # Only for the annotation: the store imports this package.
    from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore


def import_history(
    database: SqlDatabase,
    records: Iterable[Mapping[str, Any]],
    *,
    name: str | None = None,
    actor: str = "import",
) -> DatabaseInfo:
    """Creates a database from an export, verifying every commit id and state hash on the way.

    Everything happens in one write transaction: on any error (a damaged file, a name that
    is taken, event ids this physical database already holds) nothing is left behind.
    """
    stream = iter(records)
    header = read_header(next(stream, None))
    with database.transaction() as connection:
        return _import_on(connection, header, stream, name, actor)


def import_history_on(
    connection: Connection,
    records: Iterable[Mapping[str, Any]],
    *,
    name: str | None = None,
    actor: str = "import",
) -> DatabaseInfo:
    """The same import inside the caller's write transaction, so that several histories
    (a restore) land together or not at all."""
    stream = iter(records)
    header = read_header(next(stream, None))
    return _import_on(connection, header, stream, name, actor)


def _import_on(
    connection: Connection,
    header: Header,
    stream: Iterator[Mapping[str, Any]],
    name: str | None,
    actor: str,
) -> DatabaseInfo:
    importer = _Importer(connection, header, name or header.database, actor)
    for number, record in enumerate(stream, start=2):
        importer.add(record, number)
    return importer.finish()


def state_hashes(store: SqlVersionedStore, db_name: str) -> dict[str, str]:
    """Branch name -> the state hash of its head."""
    return {
        branch.name: store.state_hash(db_name, branch.name)
        for branch in store.list_branches(db_name)
    }


_SECTIONS = ("timelines", "commits", "events", "branches")
# The record types in the order their sections come.
_ORDER = {"timeline": 0, "commit": 1, "branch": 2}
_KINDS = dict(zip(_ORDER.values(), _ORDER, strict=True))


class _Importer:
    """Applies the records of one history inside the caller's write transaction."""

    def __init__(self, connection: Connection, header: Header, name: str, actor: str) -> None:
        self.connection = connection
        self.header = header
        self.actor = actor
        self.db = _create_database(connection, header, name)
        self.section = 0
        self.seen = dict.fromkeys(_SECTIONS, 0)
        self.timelines = Timelines(connection, self.db.db_id)
        self.buffer = RowBuffer(connection, self.db, TimelineCache())
        self.placements = Placements(connection, self.db.db_id, self.buffer.flush)
        self.branches = Branches(self.db.db_id)

    def add(self, record: Mapping[str, Any], number: int) -> None:
        kind = record.get("type")
        if not isinstance(kind, str) or kind not in _ORDER:
            raise MalformedInput(f"record {number}: unknown record type {kind!r}")
        order = _ORDER[kind]
        if order < self.section:
            raise MalformedInput(
                f"record {number}: a {kind} record cannot follow the {_KINDS[self.section]}s"
            )
        if order > self.section:
            self._leave_section()
            self.section = order
        where = _where(record, number, kind)
        parsed = read_record(record, where)
        if isinstance(parsed, TimelineRecord):
            self.timelines.add(parsed, where)
            self.seen["timelines"] += 1
        elif isinstance(parsed, CommitRecord):
            self._add_commit(parsed)
        else:
            self.branches.add(parsed)
            self.seen["branches"] += 1

    def _leave_section(self) -> None:
        if self.section == 0:
            self.timelines.finish()
        elif self.section == 1:
            self.buffer.flush()

    def _add_commit(self, commit: CommitRecord) -> None:
        where = f"commit {commit.commit_id}"
        timeline = self.timelines.get(commit.timeline, where)
        parents = [self.placements.get(parent, where) for parent in commit.parents]
        first = self.seen["commits"] == 0
        self.timelines.check_place(where, timeline, commit.pos, parents, first=first)
        checks.check_generation(commit, parents)
        checks.check_commit_id(commit, self.header.database)
        checks.check_documents(commit)
        state_hash, doc_count = self._replay(commit, timeline.new_id, parents)
        checks.check_state(commit, state_hash, doc_count)

        self.buffer.add_commit(commit, timeline.new_id, parents)
        self.timelines.advance(timeline.new_id, commit.pos)
        placed = Placed(timeline.new_id, commit.pos, commit.generation, state_hash, doc_count)
        self.placements.remember(commit.commit_id, placed)
        self.seen["commits"] += 1
        self.seen["events"] += len(commit.events)
        if not parents:
            self._announce(commit.commit_id)
        if self.buffer.size() >= limits.FLUSH_ROWS:
            self.buffer.flush()

    def _replay(
        self, commit: CommitRecord, timeline_id: int, parents: list[Placed]
    ) -> tuple[str, int]:
        """Rebuilds the commit's document rows from its events over its first parent's
        state, as the writer wrote them; returns the resulting state hash and count."""
        if not parents:
            return EMPTY_STATE, 0
        head, pos = parents[0], commit.pos
        keys = [event.aggregate_id for event in commit.events]
        previous = self.buffer.previous_versions(keys, timeline_id, head)
        state, count = head.state_hash, head.doc_count
        for event in commit.events:
            ref = checks.document_of(event, commit.commit_id)
            found = previous.get(event.aggregate_id, NEVER_WRITTEN)
            before = found.data
            after = checks.replayed(event, ref, found.seq, before, commit.commit_id)
            # As in the writer: a new row supersedes the previous one on the same timeline
            # only; rows on ancestor timelines stay visible to their own readers.
            if found.waiting is not None:
                found.waiting["valid_to"] = pos
            elif found.commit_id is not None and self.placements.may_be_on(
                found.commit_id, timeline_id
            ):
                self.buffer.close(timeline_id, ref.key, pos)
            new_hash = self.buffer.add_version(
                commit.commit_id, (timeline_id, pos), event, ref, after
            )
            old_hash = None if before is None else doc_hash(ref.key, before)
            state = add_to_state(state, new_hash, old_hash)
            count += (after is not None) - (before is not None)
        return state, count

    def _announce(self, root_commit: str) -> None:
        """The log records the import as the database's creation, saying where it came from.

        The original lifecycle events are not carried (see docs/history-format.md)."""
        record_event(
            self.connection,
            self.db,
            aggregate_type="database",
            aggregate_id=self.db.name,
            seq=1,
            event_type="DatabaseCreated",
            payload={
                "description": self.header.description,
                "imported_from": {
                    "database": self.header.database,
                    "exported_at": self.header.exported_at,
                },
            },
            actor=self.actor,
            commit_id=root_commit,
            branch=admin.MAIN,
        )

    def _announce_branches(self) -> None:
        """One event per branch, after every document event: consumers that follow branches
        learn each head from it (the commits' own events name the branch that wrote them at
        the origin, which may since have moved, been reset or been deleted)."""
        for row in self.branches.rows.values():
            record_event(
                self.connection,
                self.db,
                aggregate_type="branch",
                aggregate_id=row["name"],
                seq=row["seq"],
                event_type="BranchImported",
                payload={"from_branch": row["from_branch"], "head": row["head_commit"]},
                actor=self.actor,
                commit_id=row["head_commit"],
                branch=row["name"],
            )

    def finish(self) -> DatabaseInfo:
        while self.section < 2:
            self._leave_section()
            self.section += 1
        expected = self.header.counts.model_dump()
        for section in _SECTIONS:
            if self.seen[section] != expected[section]:
                raise ValidationFailed(
                    f"the file is incomplete or altered: its header counts "
                    f"{expected[section]} {section}, the file has {self.seen[section]}"
                )
        self.branches.check(self.connection)
        self.timelines.write_tips()
        self.branches.write(self.connection)
        self._announce_branches()
        header = self.header
        return DatabaseInfo(
            self.db.db_id, self.db.name, header.description, 1, header.created_at, header.created_by
        )


def _where(record: Mapping[str, Any], number: int, kind: str) -> str:
    """How messages name a record: its number, and its commit id or branch name when it
    has a readable one."""
    commit_id, name = record.get("commit_id"), record.get("name")
    if kind == "commit" and isinstance(commit_id, str) and commit_id:
        return f"record {number} (commit {commit_id})"
    if kind == "branch" and isinstance(name, str) and name:
        return f"record {number} (branch '{name}')"
    return f"record {number} ({kind})"


def _create_database(connection: Connection, header: Header, name: str) -> Database:
    """The database's row; it keeps its creation time and creator: it is the same history."""
    taken = connection.execute(
        select(spice_databases.c.db_id).where(spice_databases.c.name == name)
    ).one_or_none()
    if taken is not None:
        raise AlreadyExists(f"database '{name}' already exists", field="name")
    created = connection.execute(
        insert(spice_databases).values(
            name=name,
            description=header.description,
            seq=1,
            created_at=header.created_at,
            created_by=header.created_by,
        )
    )
    key = created.inserted_primary_key
    assert key is not None
    return Database(int(key[0]), name)
