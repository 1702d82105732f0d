"""The store as a projection reads it: documents at commits, inside the unit's transaction.

Commits never change once written, so what a unit reads here is the same whenever it runs
(only a deleted database's commits disappear, and its deletion event drops its models). A view
lives for one transaction, so it also keeps what it read: the projections and units applied
together in one transaction read each commit's changes once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Connection, select

from spice_harvester.adapters.sql.tables import branches, commits, spice_databases
from spice_harvester.adapters.sql.versioned import reads
from spice_harvester.adapters.sql.versioned.commits import load_commit
from spice_harvester.adapters.sql.versioned.frontier import (
    changed_keys,
    frontier_of,
    is_ancestor,
    merge_base,
)
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.application.projections.changes import DocChange, changes_between
from spice_harvester.domain.versioning.documents import DocState
from spice_harvester.domain.versioning.model import CommitInfo

CHUNK = 500


class StoreView:
    def __init__(
        self, connection: Connection, cache: TimelineCache, db_id: int, *, now: float | None = None
    ) -> None:
        self.connection = connection
        self.cache = cache
        self.db_id = db_id
        self.now = now  # the database's clock at the unit's start, when the caller read it
        self._commits: dict[str, CommitInfo] = {}
        self._exists: bool | None = None
        self._branches: dict[str, bool] = {}
        self._changes: dict[tuple[str, tuple[str, ...]], list[DocChange]] = {}

    def database_exists(self) -> bool:
        if self._exists is None:
            found = self.connection.execute(
                select(spice_databases.c.db_id).where(spice_databases.c.db_id == self.db_id)
            ).first()
            self._exists = found is not None
        return self._exists

    def branch_exists(self, name: str) -> bool:
        found = self._branches.get(name)
        if found is None:
            row = self.connection.execute(
                select(branches.c.name).where(
                    branches.c.db_id == self.db_id, branches.c.name == name
                )
            ).first()
            found = self._branches[name] = row is not None
        return found

    def commit(self, commit_id: str) -> CommitInfo:
        found = self._commits.get(commit_id)
        if found is None:
            found = self._commits[commit_id] = load_commit(self.connection, self.db_id, commit_id)
        return found

    def states_at(self, commit: CommitInfo | None, keys: Iterable[str]) -> dict[str, DocState]:
        """The visible version (tombstones included) of each key at `commit`; None is the
        empty state before the first commit."""
        if commit is None:
            return {}
        chain = self.cache.chain(self.connection, commit.timeline_id, commit.pos)
        return reads.get_many(self.connection, chain, keys)

    def all_states(self, commit: CommitInfo) -> Iterator[DocState]:
        """Every live document at `commit`, a batch at a time."""
        chain = self.cache.chain(self.connection, commit.timeline_id, commit.pos)
        return reads.iter_docs(self.connection, chain)

    def commit_changes(self, commit: CommitInfo, keys: Sequence[str]) -> list[DocChange]:
        """What `commit` did to `keys` over its first parent."""
        key = (commit.commit_id, tuple(keys))
        found = self._changes.get(key)
        if found is None:
            parent = self.commit(commit.parents[0]) if commit.parents else None
            before, after = self.states_at(parent, keys), self.states_at(commit, keys)
            found = self._changes[key] = changes_between(keys, before, after)
        return found

    def move(self, base: CommitInfo, target: CommitInfo) -> list[DocChange]:
        """The documents that differ between two commits: only those written since their
        merge base on either side can (the store's diff), so this costs what changed.

        LookupError when the two share no history."""
        common = merge_base(self.connection, self.db_id, self.cache, base, target)
        since = frontier_of(self.connection, self.cache, common)
        keys = changed_keys(self.connection, since, frontier_of(self.connection, self.cache, base))
        keys |= changed_keys(
            self.connection, since, frontier_of(self.connection, self.cache, target)
        )
        return changes_between(keys, self.states_at(base, keys), self.states_at(target, keys))

    def contains(self, descendant: str, ancestor: str) -> bool:
        """Whether commit `ancestor` is in the history of `descendant` (or is it)."""
        frontier = frontier_of(self.connection, self.cache, self.commit(descendant))
        return is_ancestor(frontier, self.commit(ancestor))

    def commands_of(self, commit_ids: Iterable[str]) -> dict[str, str | None]:
        """commit id -> the command that made it (None for merges, imports and the like)."""
        wanted = sorted(set(commit_ids))
        found: dict[str, str | None] = {}
        for start in range(0, len(wanted), CHUNK):
            rows = self.connection.execute(
                select(commits.c.commit_id, commits.c.command_id).where(
                    commits.c.db_id == self.db_id,
                    commits.c.commit_id.in_(wanted[start : start + CHUNK]),
                )
            )
            found.update((row.commit_id, row.command_id) for row in rows)
        return found
