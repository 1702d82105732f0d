"""The versioned store on SQL: one façade over databases, branches, commits, reads and merges."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import branches, commits, events, spice_databases
from spice_harvester.adapters.sql.versioned import admin, reads, remotes
from spice_harvester.adapters.sql.versioned.commits import (
    branch_info,
    branch_row,
    load_commit,
    load_commits,
    resolve_ref,
)
from spice_harvester.adapters.sql.versioned.frontier import changed_keys, frontier_of, merge_base
from spice_harvester.adapters.sql.versioned.merging import Merger
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.adapters.sql.versioned.writer import (
    CommitMeta,
    Database,
    Write,
    move_head,
    record_event,
    write_commit,
)
from spice_harvester.domain.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    IdempotencyMismatch,
    ValidationFailed,
)
from spice_harvester.domain.versioning.changes import ChangeKind, resolve_change
from spice_harvester.domain.versioning.documents import (
    DOC_TYPES,
    DocRef,
    DocState,
    DocType,
    data_of,
    document_change,
    field_changes,
)
from spice_harvester.domain.versioning.hashing import (
    EMPTY_STATE,
    add_to_state,
    doc_hash,
    request_hash,
)
from spice_harvester.domain.versioning.merge import MergeOptions
from spice_harvester.domain.versioning.model import (
    BranchInfo,
    CommitInfo,
    CommitRequest,
    CommitResult,
    DatabaseInfo,
    DiffResult,
    DocDiff,
    DocVersion,
    MergeResult,
    Pack,
    Page,
    RemoteUpdate,
    WrittenEvent,
)
from spice_harvester.domain.versioning.refs import validate_branch_name
from spice_harvester.ports.versioned_store import VersionedStore

DEFAULT_MERGE = MergeOptions()


@dataclass(frozen=True)
class LockedBranch:
    database: Database
    row: Any
    head: CommitInfo

    def record(
        self,
        connection: Connection,
        event_type: str,
        actor: str,
        commit_id: str,
        payload: dict[str, Any],
    ) -> None:
        """A branch lifecycle event (head moved) for consumers that follow branches."""
        record_event(
            connection,
            self.database,
            aggregate_type="branch",
            aggregate_id=self.row.name,
            seq=self.row.seq + 1,
            event_type=event_type,
            actor=actor,
            branch=self.row.name,
            commit_id=commit_id,
            payload=payload,
        )


class SqlVersionedStore:
    """Git semantics over classes and instances, on SQLite or PostgreSQL alike."""

    def __init__(self, database: SqlDatabase, protected_branches: Iterable[str] = ()) -> None:
        self._db = database
        self._cache = TimelineCache()
        self._protected = {admin.MAIN, *protected_branches}

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._db.transaction() as connection:
                yield connection
        except BaseException:
            self._cache.clear()
            raise

    def _database(self, connection: Connection, name: str, *, lock: bool = False) -> Database:
        row = admin.find_database(connection, name, lock=lock)
        return Database(row.db_id, row.name)

    def _refuse_protected(self, locked: LockedBranch, what: str) -> None:
        name = locked.row.name
        if locked.row.protected or name in self._protected:
            raise Forbidden(f"branch '{name}' is protected: {what}", field="branch")

    def _lock_branch(self, connection: Connection, db: str, branch: str) -> LockedBranch:
        """The branch row, locked until the transaction ends, and its head commit.

        The head is read after the lock, in a second query: joined into the locking query,
        PostgreSQL would re-check the join against the head a concurrent writer just moved
        and return no row at all.
        """
        row = connection.execute(
            select(
                spice_databases.c.db_id,
                spice_databases.c.name.label("db_name"),
                branches.c.name,
                branches.c.seq,
                branches.c.protected,
                branches.c.head_commit,
            )
            .select_from(
                spice_databases.join(branches, branches.c.db_id == spice_databases.c.db_id)
            )
            .where(spice_databases.c.name == db, branches.c.name == branch)
            .with_for_update(of=branches)
        ).one_or_none()
        if row is None:
            database = self._database(connection, db)  # NotFound names the database first
            branch_row(connection, database.db_id, branch)  # and then the branch
            raise AssertionError("a branch that exists was not found")
        database = Database(row.db_id, row.db_name)
        return LockedBranch(database, row, load_commit(connection, row.db_id, row.head_commit))

    # -- databases ----------------------------------------------------------------------

    def create_database(
        self, name: str, description: str | None = None, actor: str = "system"
    ) -> DatabaseInfo:
        with self._write() as connection:
            return admin.create_database(connection, name, description, actor)

    def get_database(self, name: str) -> DatabaseInfo:
        with self._db.read() as connection:
            return admin.database_info(admin.find_database(connection, name))

    def list_databases(self) -> list[DatabaseInfo]:
        with self._db.read() as connection:
            rows = connection.execute(select(spice_databases).order_by(spice_databases.c.name))
            return [admin.database_info(row) for row in rows]

    def delete_database(self, name: str, expected_seq: int | None, actor: str = "system") -> None:
        with self._write() as connection:
            admin.delete_database(connection, name, expected_seq, actor)

    # -- branches -----------------------------------------------------------------------

    def create_branch(
        self,
        db: str,
        name: str,
        from_ref: str = admin.MAIN,
        *,
        actor: str = "system",
        description: str | None = None,
    ) -> BranchInfo:
        validate_branch_name(name)
        with self._write() as connection:
            database = self._database(connection, db)
            existing = connection.execute(
                select(branches.c.name).where(
                    branches.c.db_id == database.db_id, branches.c.name == name
                )
            ).one_or_none()
            if existing is not None:
                raise AlreadyExists(f"branch '{name}' already exists", field="branch_name")
            start, from_branch = resolve_ref(connection, database.db_id, from_ref)
            self._insert_branch(connection, database, name, start, from_branch, actor, description)
            return branch_info(branch_row(connection, database.db_id, name))

    def _insert_branch(
        self,
        connection: Connection,
        database: Database,
        name: str,
        start: CommitInfo,
        from_branch: str | None,
        actor: str,
        description: str | None,
    ) -> None:
        connection.execute(
            insert(branches).values(
                db_id=database.db_id,
                name=name,
                head_commit=start.commit_id,
                from_branch=from_branch,
                fork_commit=start.commit_id,
                protected=name in self._protected,
                description=description,
                seq=1,
                created_at=datetime.now(UTC),
                created_by=actor,
            )
        )
        record_event(
            connection,
            database,
            aggregate_type="branch",
            aggregate_id=name,
            seq=1,
            event_type="BranchCreated",
            actor=actor,
            branch=name,
            commit_id=start.commit_id,
            payload={"from_branch": from_branch, "head": start.commit_id},
        )

    def get_branch(self, db: str, name: str) -> BranchInfo:
        with self._db.read() as connection:
            database = self._database(connection, db)
            return branch_info(branch_row(connection, database.db_id, name))

    def list_branches(self, db: str) -> list[BranchInfo]:
        with self._db.read() as connection:
            database = self._database(connection, db)
            rows = connection.execute(
                select(branches).where(branches.c.db_id == database.db_id).order_by(branches.c.name)
            )
            return [branch_info(row) for row in rows]

    def delete_branch(self, db: str, name: str, *, actor: str = "system") -> None:
        with self._write() as connection:
            locked = self._lock_branch(connection, db, name)
            self._refuse_protected(locked, "it cannot be deleted")
            db_id = locked.database.db_id
            connection.execute(
                branches.delete().where(branches.c.db_id == db_id, branches.c.name == name)
            )
            locked.record(
                connection,
                "BranchDeleted",
                actor,
                locked.head.commit_id,
                {"head": locked.head.commit_id},
            )

    def reset_branch(self, db: str, name: str, target: str, *, actor: str = "system") -> BranchInfo:
        """Moves a head back (or anywhere); the commits stay readable by id."""
        with self._write() as connection:
            locked = self._lock_branch(connection, db, name)
            self._refuse_protected(locked, "its history cannot be reset")
            commit, _ = resolve_ref(connection, locked.database.db_id, target, branch=name)
            move_head(connection, locked.database, name, commit.commit_id)
            locked.record(
                connection,
                "BranchReset",
                actor,
                commit.commit_id,
                {"from": locked.head.commit_id, "to": commit.commit_id},
            )
            return branch_info(branch_row(connection, locked.database.db_id, name))

    # -- writes -------------------------------------------------------------------------

    def commit(self, db: str, request: CommitRequest) -> CommitResult:
        """Applies every change in one commit, or raises and writes nothing."""
        fingerprint = request_hash(
            {
                "branch": request.branch,
                "message": request.message,
                "author": request.author,
                "changes": [change.fingerprint() for change in request.changes],
            }
        )
        with self._write() as connection:
            locked = self._lock_branch(connection, db, request.branch)
            replay = self._replay(connection, locked.database, request, fingerprint)
            if replay is not None:
                return replay
            head = locked.head
            chain = self._cache.chain(connection, head.timeline_id, head.pos)
            current = reads.get_many(connection, chain, [c.ref.key for c in request.changes])
            writes = _writes_for(request, current)
            meta = CommitMeta(request.author, request.message, request.command_id, fingerprint)
            return write_commit(
                connection, locked.database, request.branch, head, writes, current, meta
            )

    def command_result(self, db: str, command_id: str) -> CommitResult | None:
        with self._db.read() as connection:
            database = self._database(connection, db)
            found = connection.execute(
                select(commits.c.commit_id).where(
                    commits.c.db_id == database.db_id, commits.c.command_id == command_id
                )
            ).one_or_none()
            if found is None:
                return None
            return self._result_of(connection, database, found.commit_id)

    def _replay(
        self, connection: Connection, database: Database, request: CommitRequest, fingerprint: str
    ) -> CommitResult | None:
        """The original result of a retried command (same command id or event ids)."""
        commit_id = None
        if request.command_id:
            found = connection.execute(
                select(commits.c.commit_id, commits.c.request_hash).where(
                    commits.c.db_id == database.db_id,
                    commits.c.command_id == request.command_id,
                )
            ).one_or_none()
            if found is not None:
                if found.request_hash != fingerprint:
                    raise IdempotencyMismatch(
                        f"command {request.command_id} was already used for a different request",
                        field="command_id",
                    )
                commit_id = found.commit_id
        explicit = [c.event_id for c in request.changes if c.event_id]
        if commit_id is None and explicit:
            rows = connection.execute(
                select(events.c.event_id, events.c.commit_id).where(
                    events.c.db_id == database.db_id, events.c.event_id.in_(explicit)
                )
            ).all()
            if rows:
                owners = {row.commit_id for row in rows}
                original = connection.execute(
                    select(commits.c.request_hash).where(
                        commits.c.db_id == database.db_id, commits.c.commit_id.in_(owners)
                    )
                ).all()
                same = (
                    len(owners) == 1
                    and len(rows) == len(explicit)
                    and len(original) == 1
                    and original[0].request_hash == fingerprint
                )
                if not same:
                    raise IdempotencyMismatch(
                        "event id(s) already recorded with a different payload: "
                        + ", ".join(sorted(row.event_id for row in rows)[:5]),
                        field="event_id",
                    )
                commit_id = owners.pop()
        if commit_id is None:
            return None
        return self._result_of(connection, database, commit_id)

    def _result_of(
        self, connection: Connection, database: Database, commit_id: str
    ) -> CommitResult:
        info = load_commit(connection, database.db_id, commit_id)
        rows = connection.execute(
            select(events.c.event_id, events.c.event_type, events.c.aggregate_id, events.c.seq)
            .where(
                events.c.db_id == database.db_id,
                events.c.commit_id == commit_id,
                # Branch events name the commit a head moved to; they are not its writes.
                events.c.aggregate_type.in_(DOC_TYPES),
            )
            .order_by(events.c.position)
        )
        written = tuple(WrittenEvent(r.event_id, r.event_type, r.aggregate_id, r.seq) for r in rows)
        return CommitResult(info, {w.aggregate_id: w.seq for w in written}, written, replayed=True)

    # -- reads --------------------------------------------------------------------------

    def resolve(self, db: str, ref: str, *, branch: str | None = None) -> CommitInfo:
        with self._db.read() as connection:
            database = self._database(connection, db)
            return resolve_ref(connection, database.db_id, ref, branch=branch)[0]

    def _chain_at(
        self, connection: Connection, db: str, ref: str, branch: str | None
    ) -> list[tuple[int, int]]:
        # Most reads name a branch: find its head's place in one query.
        head = connection.execute(
            select(commits.c.timeline_id, commits.c.pos)
            .select_from(
                spice_databases.join(branches, branches.c.db_id == spice_databases.c.db_id).join(
                    commits,
                    (commits.c.db_id == branches.c.db_id)
                    & (commits.c.commit_id == branches.c.head_commit),
                )
            )
            .where(spice_databases.c.name == db, branches.c.name == ref)
        ).one_or_none()
        if head is not None:
            return self._cache.chain(connection, head.timeline_id, head.pos)
        database = self._database(connection, db)
        commit, _ = resolve_ref(connection, database.db_id, ref, branch=branch)
        return self._cache.chain(connection, commit.timeline_id, commit.pos)

    def get(
        self,
        db: str,
        ref: str,
        doc: DocRef,
        *,
        include_deleted: bool = False,
        branch: str | None = None,
    ) -> DocState | None:
        with self._db.read() as connection:
            chain = self._chain_at(connection, db, ref, branch)
            state = reads.get_many(connection, chain, [doc.key]).get(doc.key)
        if state is not None and not state.exists and not include_deleted:
            return None
        return state

    def get_many(self, db: str, ref: str, docs: Sequence[DocRef]) -> dict[str, DocState]:
        with self._db.read() as connection:
            chain = self._chain_at(connection, db, ref, None)
            found = reads.get_many(connection, chain, [doc.key for doc in docs])
        return {key: state for key, state in found.items() if state.exists}

    def list_docs(
        self,
        db: str,
        ref: str,
        doc_type: DocType | None = None,
        class_id: str | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        branch: str | None = None,
    ) -> Page:
        with self._db.read() as connection:
            chain = self._chain_at(connection, db, ref, branch)
            items = reads.list_docs(connection, chain, doc_type, class_id, limit, offset)
            total = reads.count_docs(connection, chain, doc_type, class_id)
        return Page(items, total, limit, offset)

    def count(
        self,
        db: str,
        ref: str,
        doc_type: DocType | None = None,
        class_id: str | None = None,
        *,
        branch: str | None = None,
    ) -> int:
        with self._db.read() as connection:
            chain = self._chain_at(connection, db, ref, branch)
            return reads.count_docs(connection, chain, doc_type, class_id)

    def find_docs(
        self,
        db: str,
        ref: str,
        class_ids: Sequence[str],
        field: str,
        values: Collection[Any],
        *,
        limit: int | None = None,
    ) -> list[DocState]:
        with self._db.read() as connection:
            chain = self._chain_at(connection, db, ref, None)
            return reads.find_docs(connection, chain, class_ids, field, values, limit)

    def history(
        self, db: str, ref: str, doc: DocRef, *, branch: str | None = None
    ) -> list[DocVersion]:
        with self._db.read() as connection:
            database = self._database(connection, db)
            commit, _ = resolve_ref(connection, database.db_id, ref, branch=branch)
            chain = self._cache.chain(connection, commit.timeline_id, commit.pos)
            versions = reads.history(connection, chain, doc.key)
            ids = sorted({commit_id for _, _, commit_id in versions})
            infos = (
                {
                    info.commit_id: info
                    for info in load_commits(
                        connection, database.db_id, commits.c.commit_id.in_(ids)
                    )
                }
                if ids
                else {}
            )
        return [
            DocVersion(state, deleted, infos[commit_id]) for state, deleted, commit_id in versions
        ]

    def log(
        self, db: str, ref: str, *, limit: int = 50, offset: int = 0, branch: str | None = None
    ) -> tuple[list[CommitInfo], int]:
        """Ancestors of the ref, newest first, and how many there are."""
        with self._db.read() as connection:
            database = self._database(connection, db)
            commit, _ = resolve_ref(connection, database.db_id, ref, branch=branch)
            front = frontier_of(connection, self._cache, commit)
            ranges = [(commits.c.timeline_id == t) & (commits.c.pos <= p) for t, p in front.items()]
            found = load_commits(connection, database.db_id, or_(*ranges))
        found.sort(
            key=lambda info: (info.generation, info.created_at, info.commit_id), reverse=True
        )
        return found[offset : offset + limit], len(found)

    # -- version control ----------------------------------------------------------------

    def merge_base(self, db: str, one: str, other: str) -> CommitInfo:
        with self._db.read() as connection:
            database = self._database(connection, db)
            first, _ = resolve_ref(connection, database.db_id, one)
            second, _ = resolve_ref(connection, database.db_id, other)
            return merge_base(connection, database.db_id, self._cache, first, second)

    def diff(self, db: str, from_ref: str, to_ref: str) -> DiffResult:
        """Field-level differences, found among documents changed since the merge base."""
        with self._db.read() as connection:
            database = self._database(connection, db)
            old, _ = resolve_ref(connection, database.db_id, from_ref)
            new, _ = resolve_ref(connection, database.db_id, to_ref)
            base = merge_base(connection, database.db_id, self._cache, old, new)
            base_front = frontier_of(connection, self._cache, base)
            keys = changed_keys(connection, base_front, frontier_of(connection, self._cache, old))
            keys |= changed_keys(connection, base_front, frontier_of(connection, self._cache, new))
            before = reads.get_many(
                connection, self._cache.chain(connection, old.timeline_id, old.pos), keys
            )
            after = reads.get_many(
                connection, self._cache.chain(connection, new.timeline_id, new.pos), keys
            )
        changes = []
        for key in sorted(keys):
            was, now = data_of(before.get(key)), data_of(after.get(key))
            kind = document_change(was, now)
            if kind is not None:
                changes.append(
                    DocDiff(DocRef.from_key(key), kind.value, was, now, field_changes(was, now))
                )
        return DiffResult(old.commit_id, new.commit_id, base.commit_id, changes)

    def merge(
        self,
        db: str,
        source: str,
        target_branch: str,
        *,
        author: str,
        message: str | None = None,
        options: MergeOptions = DEFAULT_MERGE,
    ) -> MergeResult:
        with self._write() as connection:
            locked = self._lock_branch(connection, db, target_branch)
            source_commit, _ = resolve_ref(connection, locked.database.db_id, source)
            meta = CommitMeta(author, message or f"Merge {source} into {target_branch}")
            result = Merger(connection, locked.database, self._cache).merge(
                source_commit, target_branch, locked.head, meta, options
            )
            if result.status == "fast_forward" and not options.dry_run:
                locked.record(
                    connection,
                    "BranchFastForwarded",
                    author,
                    result.commit.commit_id,
                    {"from": locked.head.commit_id, "to": result.commit.commit_id},
                )
            return result

    def revert(
        self,
        db: str,
        branch: str,
        commit: str,
        *,
        author: str,
        message: str | None = None,
        options: MergeOptions = DEFAULT_MERGE,
    ) -> CommitInfo:
        with self._write() as connection:
            locked = self._lock_branch(connection, db, branch)
            undone, _ = resolve_ref(connection, locked.database.db_id, commit, branch=branch)
            meta = CommitMeta(author, message or f'Revert "{undone.message}"')
            return Merger(connection, locked.database, self._cache).revert(
                undone, branch, locked.head, meta, options
            )

    def rebase(
        self,
        db: str,
        branch: str,
        onto: str,
        *,
        actor: str = "system",
        options: MergeOptions = DEFAULT_MERGE,
    ) -> tuple[str, CommitInfo, int]:
        with self._write() as connection:
            locked = self._lock_branch(connection, db, branch)
            self._refuse_protected(locked, "it cannot be rebased")
            onto_commit, _ = resolve_ref(connection, locked.database.db_id, onto)
            status, new_head, count = Merger(connection, locked.database, self._cache).rebase(
                branch, locked.head, onto_commit, options
            )
            if status != "up_to_date":
                locked.record(
                    connection,
                    "BranchRebased",
                    actor,
                    new_head.commit_id,
                    {
                        "from": locked.head.commit_id,
                        "to": new_head.commit_id,
                        "onto": onto_commit.commit_id,
                    },
                )
            return status, new_head, count

    # -- remotes ------------------------------------------------------------------------

    def pack(self, db: str, ref: str, haves: Sequence[str] = ()) -> Pack:
        """The commits of `ref` that a database having `haves` lacks (unknown ids in
        `haves` are ignored), oldest first, with their events."""
        with self._db.read() as connection:
            database = self._database(connection, db)
            head, _ = resolve_ref(connection, database.db_id, ref)
            records = remotes.make_pack(connection, database.db_id, self._cache, head, haves)
            return Pack(head.commit_id, tuple(records))

    def integrate(
        self,
        db: str,
        pack: Pack,
        branch: str,
        *,
        actor: str = "system",
        merge: bool = False,
        options: MergeOptions = DEFAULT_MERGE,
    ) -> RemoteUpdate:
        """Applies a pack's commits and moves `branch` to its head, creating the branch if
        needed. A branch that has moved on is merged when `merge` is set (a pull) and
        refused otherwise (a push); in either refusal nothing is written."""
        validate_branch_name(branch)
        records = remotes.read_pack(pack.commits)
        with self._write() as connection:
            database = self._database(connection, db, lock=True)
            fetched = remotes.apply_pack(connection, database, self._cache, records, branch)
            found = remotes.known_commits(connection, database.db_id, [pack.head])
            if not found:
                raise ValidationFailed(
                    f"the pack's head {pack.head} is not in the pack nor here",
                    field="head",
                )
            head = found[0]
            exists = connection.execute(
                select(branches.c.name).where(
                    branches.c.db_id == database.db_id, branches.c.name == branch
                )
            ).one_or_none()
            if exists is None:
                self._insert_branch(connection, database, branch, head, None, actor, None)
                return RemoteUpdate("created", branch, head, fetched)
            locked = self._lock_branch(connection, db, branch)
            base = merge_base(connection, database.db_id, self._cache, head, locked.head)
            if base.commit_id == head.commit_id:
                return RemoteUpdate("up_to_date", branch, locked.head, fetched)
            if base.commit_id == locked.head.commit_id:
                move_head(connection, database, branch, head.commit_id)
                locked.record(
                    connection,
                    "BranchFastForwarded",
                    actor,
                    head.commit_id,
                    {"from": locked.head.commit_id, "to": head.commit_id},
                )
                return RemoteUpdate("fast_forward", branch, head, fetched)
            if not merge:
                raise Conflict(
                    f"branch '{branch}' has commits the pushed history lacks: pull and merge first",
                    field="branch",
                    data={
                        "branch": branch,
                        "head": locked.head.commit_id,
                        "pushed": head.commit_id,
                    },
                )
            meta = CommitMeta(actor, f"Merge {head.commit_id[:12]} into {branch}")
            result = Merger(connection, database, self._cache).merge(
                head, branch, locked.head, meta, options
            )
            return RemoteUpdate(result.status, branch, result.commit, fetched)

    # -- integrity ----------------------------------------------------------------------

    def state_hash(self, db: str, ref: str) -> str:
        return self.resolve(db, ref).state_hash

    def recompute_state_hash(self, db: str, ref: str) -> tuple[str, int]:
        """The state hash and document count computed from the documents themselves."""
        total, count = EMPTY_STATE, 0
        with self._db.read() as connection:
            chain = self._chain_at(connection, db, ref, None)
            for state in reads.iter_docs(connection, chain):
                assert state.data is not None
                total = add_to_state(total, doc_hash(state.ref.key, state.data), None)
                count += 1
        return total, count


def _writes_for(request: CommitRequest, current: dict[str, DocState]) -> list[Write]:
    if not request.changes and not request.allow_empty:
        raise ValidationFailed("a commit needs at least one change", field="changes")
    seen: set[str] = set()
    writes = []
    for change in request.changes:
        key = change.ref.key
        if key in seen:
            if change.kind is ChangeKind.CREATE:
                raise AlreadyExists(f"{change.ref.path} appears twice in one request", field="id")
            raise ValidationFailed(f"{change.ref.path} is changed twice in one request", field="id")
        seen.add(key)
        writes.append(Write(change.ref, resolve_change(current.get(key), change), change.event_id))
    return writes


def _conforms(store: SqlVersionedStore) -> VersionedStore:
    # mypy checks here that the SQL store satisfies the port.
    return store
