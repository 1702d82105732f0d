"""Ancestry by frontier: {timeline: highest ancestor position}, merge bases, changed documents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from spice_harvester.adapters.sql.tables import commit_parents, commits, doc_versions
from spice_harvester.adapters.sql.versioned.commits import commits_at, load_commits
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.domain.versioning.model import CommitInfo

Frontier = dict[int, int]


def frontier_of(connection: Connection, cache: TimelineCache, commit: CommitInfo) -> Frontier:
    """Every ancestor of `commit` is (t, p) with p <= frontier[t]: a timeline prefix is
    first-parent history, so only merge commits' other parents add timelines."""
    reached: Frontier = {}
    pending = [(commit.timeline_id, commit.pos)]
    while pending:
        timeline_id, pos = pending.pop()
        before = reached.get(timeline_id, 0)
        if pos <= before:
            continue
        reached[timeline_id] = pos
        timeline = cache.get(connection, timeline_id)
        if timeline.parent_id is not None:
            assert timeline.fork_pos is not None
            pending.append((timeline.parent_id, timeline.fork_pos))
        merged_in = connection.execute(
            select(commit_parents.c.parent_timeline_id, commit_parents.c.parent_pos).where(
                commit_parents.c.child_timeline_id == timeline_id,
                commit_parents.c.child_pos > before,
                commit_parents.c.child_pos <= pos,
                commit_parents.c.idx >= 1,
            )
        )
        pending.extend((row.parent_timeline_id, row.parent_pos) for row in merged_in)
    return reached


def is_ancestor(frontier: Frontier, commit: CommitInfo) -> bool:
    return frontier.get(commit.timeline_id, 0) >= commit.pos


def merge_base(
    connection: Connection, db_id: int, cache: TimelineCache, one: CommitInfo, other: CommitInfo
) -> CommitInfo:
    """The best common ancestor: of the latest shared commit per timeline, the one with the
    highest generation (no other candidate can descend from it)."""
    first, second = frontier_of(connection, cache, one), frontier_of(connection, cache, other)
    shared = [(t, min(first[t], second[t])) for t in first.keys() & second.keys()]
    candidates = commits_at(connection, db_id, shared)
    if not candidates:
        raise LookupError("the two commits share no history")
    return max(candidates, key=lambda info: (info.generation, info.commit_id))


def between(table: Any, since: Frontier, until: Frontier) -> ColumnElement[bool] | None:
    """Rows of `table` (commits or document versions) placed on commits that are ancestors
    of `until` but not of `since`; None when there are none."""
    ranges = [
        and_(
            table.c.timeline_id == timeline,
            table.c.pos > since.get(timeline, 0),
            table.c.pos <= high,
        )
        for timeline, high in until.items()
        if high > since.get(timeline, 0)
    ]
    return or_(*ranges) if ranges else None


def changed_keys(connection: Connection, since: Frontier, until: Frontier) -> set[str]:
    """Documents written by commits that are ancestors of `until` but not of `since`."""
    where = between(doc_versions, since, until)
    if where is None:
        return set()
    rows = connection.execute(select(doc_versions.c.doc_key).where(where).distinct())
    return {row.doc_key for row in rows}


def commits_between(
    connection: Connection, db_id: int, since: Frontier, until: Frontier
) -> list[CommitInfo]:
    """Commits that are ancestors of `until` but not of `since`, oldest first."""
    where = between(commits, since, until)
    if where is None:
        return []
    found = load_commits(connection, db_id, where)
    return sorted(found, key=lambda info: (info.generation, info.created_at, info.commit_id))


def keys_of_commit(connection: Connection, commit: CommitInfo) -> set[str]:
    rows = connection.execute(
        select(doc_versions.c.doc_key).where(
            doc_versions.c.timeline_id == commit.timeline_id, doc_versions.c.pos == commit.pos
        )
    )
    return {row.doc_key for row in rows}
