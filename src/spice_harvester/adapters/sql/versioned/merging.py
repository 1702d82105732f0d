"""Merge, revert and rebase: three-way document merges written as ordinary commits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from spice_harvester.adapters.sql.versioned.commits import load_commit
from spice_harvester.adapters.sql.versioned.frontier import (
    changed_keys,
    commits_between,
    frontier_of,
    keys_of_commit,
    merge_base,
)
from spice_harvester.adapters.sql.versioned.reads import get_many
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.adapters.sql.versioned.writer import (
    CommitMeta,
    Database,
    Write,
    move_head,
    write_commit,
)
from spice_harvester.domain.errors import MergeConflict, ValidationFailed
from spice_harvester.domain.versioning.documents import DocRef, DocState, data_of
from spice_harvester.domain.versioning.merge import (
    Conflict,
    MergeOptions,
    merge_document,
    resolve,
)
from spice_harvester.domain.versioning.model import CommitInfo, MergeResult


class Merger:
    """Three-way merges inside the caller's write transaction (the branch is locked)."""

    def __init__(self, connection: Connection, db: Database, cache: TimelineCache) -> None:
        self.connection = connection
        self.db = db
        self.cache = cache

    def states(self, commit: CommitInfo, keys: Iterable[str]) -> dict[str, DocState]:
        chain = self.cache.chain(self.connection, commit.timeline_id, commit.pos)
        return get_many(self.connection, chain, keys)

    def three_way(
        self,
        keys: set[str],
        base: CommitInfo,
        source: CommitInfo,
        target: CommitInfo,
        options: MergeOptions,
    ) -> tuple[list[Write], dict[str, DocState], list[dict[str, object]]]:
        """Writes that bring `target` to the merged state; MergeConflict if any stays open."""
        at_base = self.states(base, keys)
        at_source = self.states(source, keys)
        at_target = self.states(target, keys)
        by_path = {resolution.path: resolution for resolution in options.resolutions}
        writes: list[Write] = []
        open_conflicts: list[Conflict] = []
        resolved: list[dict[str, object]] = []
        for key in sorted(keys):
            ref = DocRef.from_key(key)
            outcome = merge_document(
                ref,
                data_of(at_base.get(key)),
                data_of(at_source.get(key)),
                data_of(at_target.get(key)),
            )
            merged, remaining = resolve(outcome, options.strategy, by_path)
            open_conflicts.extend(remaining)
            resolved.extend(c.as_dict() for c in outcome.conflicts if c not in remaining)
            if merged != data_of(at_target.get(key)):
                writes.append(Write(ref, merged))
        unknown = set(by_path) - {c["path"] for c in resolved} - {c.path for c in open_conflicts}
        if unknown:
            raise ValidationFailed(
                f"no conflict at {', '.join(sorted(unknown))}", field="resolutions"
            )
        if open_conflicts:
            raise _conflict_error(open_conflicts)
        return writes, at_target, resolved

    def merge(
        self,
        source: CommitInfo,
        target_branch: str,
        target: CommitInfo,
        meta: CommitMeta,
        options: MergeOptions,
    ) -> MergeResult:
        base = merge_base(self.connection, self.db.db_id, self.cache, source, target)
        if base.commit_id == source.commit_id:
            return MergeResult("up_to_date", target, base.commit_id)
        if base.commit_id == target.commit_id and options.fast_forward:
            if not options.dry_run:
                move_head(self.connection, self.db, target_branch, source.commit_id)
            return MergeResult("fast_forward", source, base.commit_id)
        base_front = frontier_of(self.connection, self.cache, base)
        keys = changed_keys(
            self.connection, base_front, frontier_of(self.connection, self.cache, source)
        )
        keys |= changed_keys(
            self.connection, base_front, frontier_of(self.connection, self.cache, target)
        )
        writes, current, resolved = self.three_way(keys, base, source, target, options)
        if options.dry_run:
            return MergeResult("would_merge", target, base.commit_id, len(writes), resolved)
        result = write_commit(
            self.connection,
            self.db,
            target_branch,
            target,
            writes,
            current,
            meta,
            extra_parents=(source,),
        )
        return MergeResult("merged", result.commit, base.commit_id, len(writes), resolved)

    def revert(
        self,
        undone: CommitInfo,
        branch: str,
        head: CommitInfo,
        meta: CommitMeta,
        options: MergeOptions,
    ) -> CommitInfo:
        if not undone.parents:
            raise ValidationFailed(
                "the first commit of a database cannot be reverted", field="commit_id"
            )
        parent = load_commit(self.connection, self.db.db_id, undone.parents[0])
        keys = keys_of_commit(self.connection, undone)
        writes, current, _ = self.three_way(keys, undone, parent, head, options)
        return write_commit(self.connection, self.db, branch, head, writes, current, meta).commit

    def rebase(
        self, branch: str, head: CommitInfo, onto: CommitInfo, options: MergeOptions
    ) -> tuple[str, CommitInfo, int]:
        """Replays the branch's own non-merge commits on `onto`; returns (status, head, count)."""
        base = merge_base(self.connection, self.db.db_id, self.cache, head, onto)
        if base.commit_id == onto.commit_id:
            return "up_to_date", head, 0
        own = commits_between(
            self.connection,
            self.db.db_id,
            frontier_of(self.connection, self.cache, base),
            frontier_of(self.connection, self.cache, head),
        )
        move_head(self.connection, self.db, branch, onto.commit_id)
        current = onto
        replayed = 0
        for commit in own:
            if len(commit.parents) > 1:
                continue
            parent = load_commit(self.connection, self.db.db_id, commit.parents[0])
            keys = keys_of_commit(self.connection, commit)
            writes, states, _ = self.three_way(keys, parent, commit, current, options)
            meta = CommitMeta(commit.author, commit.message)
            current = write_commit(
                self.connection, self.db, branch, current, writes, states, meta
            ).commit
            replayed += 1
        return ("rebased" if replayed else "fast_forward"), current, replayed


def _conflict_error(conflicts: list[Conflict]) -> MergeConflict:
    paths = ", ".join(conflict.path for conflict in conflicts[:5])
    more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
    return MergeConflict(
        f"{len(conflicts)} conflict(s): {paths}{more}",
        [conflict.as_dict() for conflict in conflicts],
    )
