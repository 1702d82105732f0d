"""Export and import of a database's whole history as JSON Lines, ids and hashes intact."""

from __future__ import annotations

import gzip
import io
import json
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

from sqlalchemy import Connection, bindparam, func, insert, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import (
    branches,
    commit_parents,
    commits,
    doc_versions,
    events,
    spice_databases,
    timelines,
)
from spice_harvester.adapters.sql.versioned import admin, reads
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.adapters.sql.versioned.writer import Database
from spice_harvester.domain.errors import AlreadyExists, MalformedInput, ValidationFailed
from spice_harvester.domain.versioning.changes import apply_event, event_for
from spice_harvester.domain.versioning.documents import DOC_TYPES, Data, DocRef
from spice_harvester.domain.versioning.hashing import (
    EMPTY_STATE,
    add_to_state,
    commit_id_for,
    doc_hash,
    request_hash,
)
from spice_harvester.domain.versioning.model import DatabaseInfo

FORMAT = "spice-history"
VERSION = 1
# Commits read per round trip on export: each batch costs one query for parents and one for
# events, and holds at most this many commits' events in memory.
EXPORT_BATCH = 200
# Rows an import buffers before writing them in one statement per table. It writes early
# when a commit reads a document whose newest row waits on another timeline, or a parent
# it no longer remembers.
FLUSH_ROWS = 2000
# Commits whose placement the importer keeps in memory; older parents are read back from
# the commits table, so a long history does not have to fit in memory.
PLACED_LIMIT = 50_000
CHUNK = 500

_c = commits.c
_e = events.c


# -- export ------------------------------------------------------------------------------


def export_history(database: SqlDatabase, db_name: str) -> Iterator[dict[str, Any]]:
    """The records of one database's history, front to back, from one consistent snapshot.

    The read transaction stays open while the caller consumes the records; closing the
    iterator early ends it.
    """
    with database.read() as connection:
        row = admin.find_database(connection, db_name)
        db_id = int(row.db_id)
        yield _header(connection, row, database.engine_name)
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
        .add_columns(timelines.c.fork_pos, timelines.c.depth)
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
        }


def _commit_records(
    connection: Connection, db_id: int, file_ids: dict[int, int]
) -> Iterator[dict[str, Any]]:
    # Generation first: every parent has a lower generation than its children, and along
    # one timeline positions rise with generation, so an importer can apply front to back.
    query = (
        select(_c.commit_id, _c.timeline_id, _c.pos, _c.generation, _c.author, _c.message)
        .add_columns(_c.created_at, _c.command_id, _c.request_hash, _c.state_hash, _c.doc_count)
        .where(_c.db_id == db_id)
        .order_by(_c.generation, _c.timeline_id, _c.pos)
    )
    result = connection.execute(query, execution_options={"yield_per": EXPORT_BATCH})
    for batch in result.partitions():
        ids = [row.commit_id for row in batch]
        parents = _parents_of(connection, db_id, ids)
        written = _events_of(connection, db_id, ids)
        for row in batch:
            yield {
                "type": "commit",
                "commit_id": row.commit_id,
                "parents": parents.get(row.commit_id, []),
                "timeline": file_ids[row.timeline_id],
                "pos": row.pos,
                "generation": row.generation,
                "author": row.author,
                "message": row.message,
                "created_at": row.created_at.isoformat(),
                "command_id": row.command_id,
                "request_hash": row.request_hash,
                "state_hash": row.state_hash,
                "doc_count": row.doc_count,
                "events": written.get(row.commit_id, []),
            }


def _parents_of(connection: Connection, db_id: int, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    query = (
        select(commit_parents.c.commit_id, commit_parents.c.parent_id)
        .where(commit_parents.c.db_id == db_id, commit_parents.c.commit_id.in_(ids))
        .order_by(commit_parents.c.commit_id, commit_parents.c.idx)
    )
    for row in connection.execute(query):
        found.setdefault(row.commit_id, []).append(row.parent_id)
    return found


def _events_of(
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


# -- files -------------------------------------------------------------------------------


def write_history_file(database: SqlDatabase, db_name: str, path: str | Path) -> dict[str, Any]:
    """Writes the export as JSON Lines (gzip when the name ends with .gz); returns the header.

    The file appears only when complete: it is written next to its final name and renamed.
    """
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    header: dict[str, Any] = {}
    try:
        with ExitStack() as stack:
            raw: IO[bytes] = stack.enter_context(partial.open("wb"))
            binary: IO[bytes] | gzip.GzipFile = raw
            if target.name.endswith(".gz"):
                # mtime 0 keeps two exports of one history byte for byte equal.
                binary = stack.enter_context(
                    gzip.GzipFile(filename=target.name, mode="wb", fileobj=raw, mtime=0)
                )
            out = stack.enter_context(io.TextIOWrapper(binary, encoding="utf-8", newline="\n"))
            for record in export_history(database, db_name):
                if record["type"] == "header":
                    header = record
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                out.write("\n")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return header


def read_history_file(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of an export file, one line at a time (gzip when the name ends with .gz)."""
    source = Path(path)
    with _open_text(source) as opened:
        for number, line in enumerate(opened, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedInput(f"{source.name} line {number}: not JSON ({exc})") from exc
            if not isinstance(record, dict):
                raise MalformedInput(f"{source.name} line {number}: a record must be an object")
            yield record


def _open_text(source: Path) -> IO[str]:
    if source.name.endswith(".gz"):
        return gzip.open(source, "rt", encoding="utf-8")
    return source.open(encoding="utf-8")


# -- import ------------------------------------------------------------------------------


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
    header = _Header.read(next(stream, None))
    with database.transaction() as connection:
        if connection.dialect.name == "postgresql":
            # The tables grow from nothing inside this one transaction, and a generic plan
            # made while they were empty (prepared statements switch to one after five
            # runs) would scan them whole for every statement after.
            connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
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


@dataclass(frozen=True)
class _Header:
    database: str
    description: str | None
    created_at: datetime
    created_by: str
    exported_at: str
    counts: dict[str, int]

    @classmethod
    def read(cls, record: Mapping[str, Any] | None) -> _Header:
        if record is None or record.get("type") != "header":
            raise MalformedInput("a history starts with its header record")
        if record.get("format") != FORMAT:
            raise MalformedInput(f"not a {FORMAT} file (format {record.get('format')!r})")
        if record.get("version") != VERSION:
            raise MalformedInput(
                f"{FORMAT} version {record.get('version')!r} is not supported (only {VERSION})"
            )
        where = "header"
        counts = _object(record, "counts", where)
        return cls(
            database=_text(record, "database", where),
            description=_optional_text(record, "description", where),
            created_at=_when(record, "created_at", where),
            created_by=_text(record, "created_by", where),
            exported_at=_text(record, "exported_at", where),
            counts={key: _count(counts, key, where) for key in _SECTIONS},
        )


_SECTIONS = ("timelines", "commits", "events", "branches")
_ORDER = {"timeline": 0, "commit": 1, "branch": 2}


class _Previous(NamedTuple):
    """A document's version before a commit: written already (commit_id) or still waiting
    in the buffer (the row itself)."""

    seq: int
    data: Data | None
    commit_id: str | None
    waiting: dict[str, Any] | None


_NEVER_WRITTEN = _Previous(0, None, None, None)


class _Placed(NamedTuple):
    """Where an imported commit sits, and what its children need from it."""

    timeline_id: int
    pos: int
    generation: int
    state_hash: str
    doc_count: int


@dataclass(frozen=True)
class _FileTimeline:
    new_id: int
    parent: int | None
    fork_pos: int | None
    depth: int


class _Importer:
    """Applies the records of one history inside the caller's write transaction."""

    def __init__(self, connection: Connection, header: _Header, name: str, actor: str) -> None:
        self.connection = connection
        self.header = header
        self.actor = actor
        taken = connection.execute(
            select(spice_databases.c.db_id).where(spice_databases.c.name == name)
        ).one_or_none()
        if taken is not None:
            raise AlreadyExists(f"database '{name}' already exists", field="name")
        # The database keeps its creation time and creator: it is the same history.
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
        self.db = Database(int(key[0]), name)
        self.cache = TimelineCache()
        self.section = 0
        self.seen = dict.fromkeys(_SECTIONS, 0)
        self.timelines: dict[int, _FileTimeline] = {}
        self.pending_timelines: list[tuple[int, dict[str, Any]]] = []
        self.roots = 0
        self.tips: dict[int, int] = {}
        self.placed: OrderedDict[str, _Placed] = OrderedDict()
        self.branch_rows: list[dict[str, Any]] = []
        self._clear_buffers()

    def _clear_buffers(self) -> None:
        self.doc_rows: list[dict[str, Any]] = []
        self.close_rows: list[dict[str, Any]] = []
        self.event_rows: list[dict[str, Any]] = []
        self.commit_rows: list[dict[str, Any]] = []
        self.parent_rows: list[dict[str, Any]] = []
        # Each key's newest row among doc_rows, so a later commit on the same timeline can
        # read it (and close it) without a round trip.
        self.waiting: dict[str, dict[str, Any]] = {}

    # -- dispatch ------------------------------------------------------------------------

    def add(self, record: Mapping[str, Any], number: int) -> None:
        kind = record.get("type")
        order = _ORDER.get(kind) if isinstance(kind, str) else None
        if order is None:
            raise MalformedInput(f"record {number}: unknown record type {kind!r}")
        if order < self.section:
            raise MalformedInput(
                f"record {number}: a {kind} record cannot follow the {_kind_of(self.section)}s"
            )
        if order > self.section:
            self._leave_section()
            self.section = order
        where = f"record {number} ({kind})"
        if kind == "timeline":
            self._add_timeline(record, where)
        elif kind == "commit":
            self._add_commit(record, where)
        else:
            self._add_branch(record, where)

    def _leave_section(self) -> None:
        if self.section == 0:
            self._flush_timelines()
            if self.roots != 1:
                raise ValidationFailed(
                    f"a history has exactly one root timeline, this one has {self.roots}"
                )
        elif self.section == 1:
            self._flush()

    # -- timelines -----------------------------------------------------------------------

    def _add_timeline(self, record: Mapping[str, Any], where: str) -> None:
        file_id = _count(record, "id", where)
        parent = _optional_count(record, "parent", where)
        fork_pos = _optional_count(record, "fork_pos", where)
        depth = _count(record, "depth", where)
        pending_ids = {pending_id for pending_id, _ in self.pending_timelines}
        if file_id in self.timelines or file_id in pending_ids:
            raise MalformedInput(f"{where}: timeline {file_id} appears twice")
        if (parent is None) != (fork_pos is None):
            raise ValidationFailed(f"{where}: a timeline has both a parent and a fork position")
        if parent is None:
            self.roots += 1
            if depth != 1:
                raise ValidationFailed(f"{where}: the root timeline has depth 1, not {depth}")
        else:
            if parent in pending_ids:
                # Its new id is needed for this row: write what is waiting first.
                self._flush_timelines()
            known = self.timelines.get(parent)
            if known is None:
                raise ValidationFailed(
                    f"{where}: timeline {file_id} forks from timeline {parent}, "
                    "which does not come before it"
                )
            if depth != known.depth + 1:
                raise ValidationFailed(
                    f"{where}: timeline {file_id} should have depth {known.depth + 1}, not {depth}"
                )
        self.pending_timelines.append(
            (
                file_id,
                {
                    "db_id": self.db.db_id,
                    "parent_timeline_id": None if parent is None else self.timelines[parent].new_id,
                    "fork_pos": fork_pos,
                    "depth": depth,
                    "tip_pos": 0,
                    "_parent": parent,
                },
            )
        )
        self.seen["timelines"] += 1
        if len(self.pending_timelines) >= CHUNK:
            self._flush_timelines()

    def _flush_timelines(self) -> None:
        if not self.pending_timelines:
            return
        rows = [
            {k: v for k, v in row.items() if not k.startswith("_")}
            for _, row in self.pending_timelines
        ]
        created = self.connection.execute(
            insert(timelines).returning(timelines.c.timeline_id, sort_by_parameter_order=True),
            rows,
        ).all()
        for (file_id, row), new in zip(self.pending_timelines, created, strict=True):
            self.timelines[file_id] = _FileTimeline(
                int(new.timeline_id), row["_parent"], row["fork_pos"], row["depth"]
            )
        self.pending_timelines = []

    # -- commits -------------------------------------------------------------------------

    def _add_commit(self, record: Mapping[str, Any], where: str) -> None:
        commit_id = _text(record, "commit_id", where)
        where = f"commit {commit_id}"
        parent_ids = _list(record, "parents", where)
        if not all(isinstance(parent, str) for parent in parent_ids):
            raise MalformedInput(f"{where}: parents must be commit ids")
        file_timeline = _count(record, "timeline", where)
        pos = _count(record, "pos", where)
        generation = _count(record, "generation", where)
        author = _text(record, "author", where)
        message = _text(record, "message", where)
        created_at = _when(record, "created_at", where)
        command_id = _optional_text(record, "command_id", where)
        state_hash = _text(record, "state_hash", where)
        doc_count = _count(record, "doc_count", where)
        written = [_Event.read(item, where) for item in _list(record, "events", where)]

        timeline = self.timelines.get(file_timeline)
        if timeline is None:
            raise ValidationFailed(f"{where}: timeline {file_timeline} is not in the file")
        parents = [self._placed_commit(parent, where) for parent in parent_ids]
        self._check_place(where, timeline, pos, parents)
        expected_generation = max((p.generation for p in parents), default=0) + 1
        if generation != expected_generation:
            raise ValidationFailed(
                f"{where}: generation {generation} should be {expected_generation}",
                field="commit_id",
                data={"commit_id": commit_id},
            )
        self._check_id(commit_id, parent_ids, author, message, created_at, command_id, written)

        new_hash, new_count = self._replay(commit_id, timeline.new_id, pos, parents, written)
        if (new_hash, new_count) != (state_hash, doc_count):
            raise ValidationFailed(
                f"{where}: replaying its events gives state {new_hash} with {new_count} "
                f"document(s), the file says {state_hash} with {doc_count}",
                field="state_hash",
                data={"commit_id": commit_id},
            )
        self.commit_rows.append(
            {
                "db_id": self.db.db_id,
                "commit_id": commit_id,
                "timeline_id": timeline.new_id,
                "pos": pos,
                "generation": generation,
                "author": author,
                "message": message,
                "created_at": created_at,
                "command_id": command_id,
                "request_hash": _optional_text(record, "request_hash", where),
                "state_hash": state_hash,
                "doc_count": doc_count,
            }
        )
        self.parent_rows.extend(
            {
                "db_id": self.db.db_id,
                "commit_id": commit_id,
                "idx": index,
                "parent_id": parent_id,
                "parent_timeline_id": parent.timeline_id,
                "parent_pos": parent.pos,
                "child_timeline_id": timeline.new_id,
                "child_pos": pos,
            }
            for index, (parent_id, parent) in enumerate(zip(parent_ids, parents, strict=True))
        )
        self.tips[timeline.new_id] = pos
        self._remember(commit_id, _Placed(timeline.new_id, pos, generation, state_hash, doc_count))
        self.seen["commits"] += 1
        self.seen["events"] += len(written)
        if not parents:
            self._announce(commit_id)
        if len(self.doc_rows) + len(self.commit_rows) >= FLUSH_ROWS:
            self._flush()

    def _check_place(
        self, where: str, timeline: _FileTimeline, pos: int, parents: list[_Placed]
    ) -> None:
        """A commit extends its timeline by one, and its first parent is the commit before
        it there (or the fork commit, at position 1)."""
        tip = self.tips.get(timeline.new_id, 0)
        if pos != tip + 1:
            raise ValidationFailed(f"{where}: position {pos} on a timeline that ends at {tip}")
        if not parents:
            if timeline.parent is not None or self.seen["commits"]:
                raise ValidationFailed(f"{where}: only the first commit has no parents")
            return
        if pos > 1:
            expected = (timeline.new_id, pos - 1)
        elif timeline.parent is None:
            raise ValidationFailed(f"{where}: the root timeline starts with the first commit")
        else:
            assert timeline.fork_pos is not None
            expected = (self.timelines[timeline.parent].new_id, timeline.fork_pos)
        if (parents[0].timeline_id, parents[0].pos) != expected:
            raise ValidationFailed(f"{where}: its first parent is not where its timeline says")

    def _check_id(
        self,
        commit_id: str,
        parent_ids: list[str],
        author: str,
        message: str,
        created_at: datetime,
        command_id: str | None,
        written: list[_Event],
    ) -> None:
        # The same content the writer hashes (writer.write_commit); the first commit also
        # names the database it was created for (admin.create_database), which is the
        # exported name even when importing under another one.
        content: dict[str, Any] = {
            "parents": parent_ids,
            "author": author,
            "message": message,
            "created_at": created_at.astimezone(UTC).isoformat(),
            "command_id": command_id,
            "events": [[e.event_id, request_hash(e.payload), e.aggregate_id] for e in written],
        }
        if not parent_ids:
            content["database"] = self.header.database
        recomputed = commit_id_for(content)
        if recomputed != commit_id:
            raise ValidationFailed(
                f"commit {commit_id}: its content hashes to {recomputed}: the file was changed "
                "or damaged",
                field="commit_id",
                data={"commit_id": commit_id},
            )

    def _replay(
        self,
        commit_id: str,
        timeline_id: int,
        pos: int,
        parents: list[_Placed],
        written: list[_Event],
    ) -> tuple[str, int]:
        """Rebuilds the commit's document rows from its events over its first parent's
        state, as the writer wrote them; returns the resulting state hash and count."""
        where = f"commit {commit_id}"
        keys = [event.aggregate_id for event in written]
        if len(set(keys)) != len(keys):
            raise ValidationFailed(f"{where}: changes one document twice")
        if not parents:
            if written:
                raise ValidationFailed(f"{where}: the first commit has no events")
            return EMPTY_STATE, 0
        head = parents[0]
        previous = self._previous_versions(keys, timeline_id, head)
        state, count = head.state_hash, head.doc_count
        for event in written:
            ref = event.ref(where)
            found = previous.get(event.aggregate_id, _NEVER_WRITTEN)
            before = found.data
            if event.seq != found.seq + 1:
                raise ValidationFailed(
                    f"{where}: {event.aggregate_id} is at version {found.seq}, "
                    f"so event {event.event_id} cannot have seq {event.seq}",
                    data={"commit_id": commit_id},
                )
            after = apply_event(before, event.event_type, event.payload)
            again = event_for(ref, before, after)
            if (again.event_type, again.payload) != (event.event_type, event.payload):
                raise ValidationFailed(
                    f"{where}: event {event.event_id} does not replay onto "
                    f"{event.aggregate_id} as recorded",
                    data={"commit_id": commit_id},
                )
            new_hash = None if after is None else doc_hash(ref.key, after)
            old_hash = None if before is None else doc_hash(ref.key, before)
            state = add_to_state(state, new_hash, old_hash)
            count += (after is not None) - (before is not None)
            # As in the writer: a new row supersedes the previous one on the same timeline
            # only; rows on ancestor timelines stay visible to their own readers.
            if found.waiting is not None:
                found.waiting["valid_to"] = pos
            elif found.commit_id is not None and self._may_be_on(found.commit_id, timeline_id):
                self.close_rows.append({"b_timeline": timeline_id, "b_key": ref.key, "b_pos": pos})
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
                "doc_hash": new_hash,
                "commit_id": commit_id,
                "valid_to": None,
            }
            self.doc_rows.append(row)
            self.waiting[ref.key] = row
            self.event_rows.append(event.row(self.db, commit_id))
        return state, count

    def _previous_versions(
        self, keys: list[str], timeline_id: int, head: _Placed
    ) -> dict[str, _Previous]:
        """The version of each key at the first parent: from the rows waiting to be written
        when they sit on this commit's own timeline (they are its newest there), otherwise
        from the table in one read over the first parent's chain."""
        waiting = {key: self.waiting[key] for key in keys if key in self.waiting}
        if any(row["timeline_id"] != timeline_id for row in waiting.values()):
            # Whether this commit sees a version waiting on another timeline depends on
            # where the timelines fork: let the table answer that.
            self._flush()
            waiting = {}
        found = {key: _Previous(row["seq"], row["data"], None, row) for key, row in waiting.items()}
        wanted = [key for key in keys if key not in found]
        if wanted:
            chain = self.cache.chain(self.connection, head.timeline_id, head.pos)
            for key, current in reads.get_many(self.connection, chain, wanted).items():
                found[key] = _Previous(current.seq, current.data, current.commit_id, None)
        return found

    def _may_be_on(self, commit_id: str, timeline_id: int) -> bool:
        """Whether the commit that wrote a visible version sits on this timeline (then that
        version is the timeline's open row). The writer updates blindly; skipping the
        update when the version comes from an ancestor timeline saves a statement per
        document, which is most of them in a bulk load."""
        placed = self.placed.get(commit_id)
        return placed is None or placed.timeline_id == timeline_id

    def _announce(self, root_commit: str) -> None:
        """The log records the import as the database's creation, saying where it came from.

        The original lifecycle events are not carried (see docs/history-format.md)."""
        admin.record_event(
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

    def _placed_commit(self, commit_id: str, where: str) -> _Placed:
        found = self.placed.get(commit_id)
        if found is not None:
            return found
        self._flush()
        row = self.connection.execute(
            select(_c.timeline_id, _c.pos, _c.generation, _c.state_hash, _c.doc_count).where(
                _c.db_id == self.db.db_id, _c.commit_id == commit_id
            )
        ).one_or_none()
        if row is None:
            raise ValidationFailed(
                f"{where}: parent {commit_id} does not come before it in the file",
                data={"parent": commit_id},
            )
        return _Placed(row.timeline_id, row.pos, row.generation, row.state_hash, row.doc_count)

    def _remember(self, commit_id: str, placed: _Placed) -> None:
        self.placed[commit_id] = placed
        if len(self.placed) > PLACED_LIMIT:
            # Forgotten commits must be readable from the table before they are forgotten.
            self._flush()
            while len(self.placed) > PLACED_LIMIT // 2:
                self.placed.popitem(last=False)

    def _flush(self) -> None:
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
                connection.execute(insert(table), rows)
        self._clear_buffers()

    def _refuse_known_event_ids(self) -> None:
        """Event ids are unique in the whole physical database (the log is shared), and
        they are part of the commit ids, so a second copy of a history cannot live next to
        the first one."""
        owners = {row["event_id"]: row["commit_id"] for row in self.event_rows}
        ids = sorted(owners)
        for start in range(0, len(ids), CHUNK):
            clash = self.connection.execute(
                select(_e.event_id, _e.db_name)
                .where(_e.event_id.in_(ids[start : start + CHUNK]))
                .limit(1)
            ).one_or_none()
            if clash is not None:
                raise AlreadyExists(
                    f"event {clash.event_id} (commit {owners[clash.event_id]}) is already in "
                    f"this physical database (database '{clash.db_name}'): a history can be "
                    "imported only where its events are not",
                    field="event_id",
                    data={"event_id": clash.event_id, "commit_id": owners[clash.event_id]},
                )

    # -- branches ------------------------------------------------------------------------

    def _add_branch(self, record: Mapping[str, Any], where: str) -> None:
        name = _text(record, "name", where)
        where = f"branch '{name}'"
        if any(row["name"] == name for row in self.branch_rows):
            raise MalformedInput(f"{where} appears twice")
        protected = record.get("protected")
        if not isinstance(protected, bool):
            raise MalformedInput(f"{where}: 'protected' must be true or false")
        self.branch_rows.append(
            {
                "db_id": self.db.db_id,
                "name": name,
                "head_commit": _text(record, "head", where),
                "from_branch": _optional_text(record, "from_branch", where),
                "fork_commit": _optional_text(record, "fork_commit", where),
                "protected": protected,
                "description": _optional_text(record, "description", where),
                "seq": _count(record, "seq", where),
                "created_at": _when(record, "created_at", where),
                "created_by": _text(record, "created_by", where),
            }
        )
        self.seen["branches"] += 1

    # -- the end -------------------------------------------------------------------------

    def finish(self) -> DatabaseInfo:
        while self.section < 2:
            self._leave_section()
            self.section += 1
        for section in _SECTIONS:
            if self.seen[section] != self.header.counts[section]:
                raise ValidationFailed(
                    f"the file is incomplete or altered: its header counts "
                    f"{self.header.counts[section]} {section}, the file has {self.seen[section]}"
                )
        if not any(row["name"] == admin.MAIN for row in self.branch_rows):
            raise ValidationFailed(f"a history needs its '{admin.MAIN}' branch")
        self._check_branch_commits()
        if self.tips:
            self.connection.execute(
                update(timelines)
                .where(timelines.c.timeline_id == bindparam("b_timeline"))
                .values(tip_pos=bindparam("b_tip")),
                [{"b_timeline": t, "b_tip": tip} for t, tip in self.tips.items()],
            )
        self.connection.execute(insert(branches), self.branch_rows)
        return DatabaseInfo(
            self.db.db_id,
            self.db.name,
            self.header.description,
            1,
            self.header.created_at,
            self.header.created_by,
        )

    def _check_branch_commits(self) -> None:
        named = {row["head_commit"] for row in self.branch_rows}
        named |= {row["fork_commit"] for row in self.branch_rows if row["fork_commit"]}
        wanted = sorted(named)
        known: set[str] = set()
        for start in range(0, len(wanted), CHUNK):
            rows = self.connection.execute(
                select(_c.commit_id).where(
                    _c.db_id == self.db.db_id, _c.commit_id.in_(wanted[start : start + CHUNK])
                )
            )
            known.update(row.commit_id for row in rows)
        for row in self.branch_rows:
            for column in ("head_commit", "fork_commit"):
                if row[column] and row[column] not in known:
                    raise ValidationFailed(
                        f"branch '{row['name']}': commit {row[column]} is not in the file"
                    )


@dataclass(frozen=True)
class _Event:
    event_id: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    class_id: str | None
    seq: int
    payload: dict[str, Any]
    actor: str
    occurred_at: datetime
    branch: str | None

    @classmethod
    def read(cls, item: Any, where: str) -> _Event:
        if not isinstance(item, dict):
            raise MalformedInput(f"{where}: an event must be an object")
        return cls(
            event_id=_text(item, "event_id", where),
            event_type=_text(item, "event_type", where),
            aggregate_type=_text(item, "aggregate_type", where),
            aggregate_id=_text(item, "aggregate_id", where),
            class_id=_optional_text(item, "class_id", where),
            seq=_count(item, "seq", where),
            payload=_object(item, "payload", where),
            actor=_text(item, "actor", where),
            occurred_at=_when(item, "occurred_at", where),
            branch=_optional_text(item, "branch", where),
        )

    def ref(self, where: str) -> DocRef:
        """The document, checked against how the writer would have described it."""
        ref = DocRef.from_key(self.aggregate_id)
        if (
            ref.key != self.aggregate_id
            or ref.doc_type != self.aggregate_type
            or ref.class_id != self.class_id
        ):
            raise ValidationFailed(
                f"{where}: event {self.event_id} names document {self.aggregate_id!r} "
                "inconsistently"
            )
        return ref

    def row(self, db: Database, commit_id: str) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "db_id": db.db_id,
            "db_name": db.name,
            "commit_id": commit_id,
            "branch": self.branch,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "class_id": self.class_id,
            "seq": self.seq,
            "event_type": self.event_type,
            "payload": self.payload,
            "payload_hash": request_hash(self.payload),
            "actor": self.actor,
            "occurred_at": self.occurred_at,
        }


# -- reading fields ----------------------------------------------------------------------


def _kind_of(section: int) -> str:
    return next(kind for kind, order in _ORDER.items() if order == section)


def _text(record: Mapping[str, Any], name: str, where: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedInput(f"{where}: '{name}' must be non-empty text")
    return value


def _optional_text(record: Mapping[str, Any], name: str, where: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedInput(f"{where}: '{name}' must be text or null")
    return value


def _count(record: Mapping[str, Any], name: str, where: str) -> int:
    value = record.get(name)
    # bool is an int to Python, never to the format.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedInput(f"{where}: '{name}' must be a whole number")
    return value


def _optional_count(record: Mapping[str, Any], name: str, where: str) -> int | None:
    return None if record.get(name) is None else _count(record, name, where)


def _object(record: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    value = record.get(name)
    if not isinstance(value, dict):
        raise MalformedInput(f"{where}: '{name}' must be an object")
    return value


def _list(record: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = record.get(name)
    if not isinstance(value, list):
        raise MalformedInput(f"{where}: '{name}' must be a list")
    return value


def _when(record: Mapping[str, Any], name: str, where: str) -> datetime:
    text = _text(record, name, where)
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedInput(f"{where}: '{name}' is not an ISO 8601 timestamp") from exc
    if value.tzinfo is None:
        raise MalformedInput(f"{where}: '{name}' needs a UTC offset")
    return value
