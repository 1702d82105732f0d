"""Loading commits and branches, and resolving refs (`main~2`, `HEAD^2`, abbreviated ids)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, select, tuple_

from spice_harvester.adapters.sql.tables import branches, commits
from spice_harvester.domain.errors import MalformedInput, NotFound
from spice_harvester.domain.versioning.model import BranchInfo, CommitInfo
from spice_harvester.domain.versioning.refs import HEAD, parse_ref

COMMIT_COLUMNS = (
    commits.c.commit_id,
    commits.c.parent_ids,
    commits.c.author,
    commits.c.message,
    commits.c.created_at,
    commits.c.command_id,
    commits.c.state_hash,
    commits.c.doc_count,
    commits.c.generation,
    commits.c.timeline_id,
    commits.c.pos,
)


def commit_info(row: Any) -> CommitInfo:
    return CommitInfo(
        commit_id=row.commit_id,
        parents=tuple(row.parent_ids),
        author=row.author,
        message=row.message,
        created_at=row.created_at,
        command_id=row.command_id,
        state_hash=row.state_hash,
        doc_count=row.doc_count,
        generation=row.generation,
        timeline_id=row.timeline_id,
        pos=row.pos,
    )


def load_commits(
    connection: Connection, db_id: int, where: ColumnElement[bool]
) -> list[CommitInfo]:
    rows = connection.execute(select(*COMMIT_COLUMNS).where(commits.c.db_id == db_id, where))
    return [commit_info(row) for row in rows]


def load_commit(connection: Connection, db_id: int, commit_id: str) -> CommitInfo:
    found = load_commits(connection, db_id, commits.c.commit_id == commit_id)
    if not found:
        raise NotFound(f"commit {commit_id} does not exist")
    return found[0]


def commits_at(
    connection: Connection, db_id: int, places: Iterable[tuple[int, int]]
) -> list[CommitInfo]:
    wanted = list(places)
    if not wanted:
        return []
    return load_commits(connection, db_id, tuple_(commits.c.timeline_id, commits.c.pos).in_(wanted))


def branch_row(connection: Connection, db_id: int, name: str, *, lock: bool = False) -> Any:
    query = select(branches).where(branches.c.db_id == db_id, branches.c.name == name)
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"branch '{name}' does not exist", field="branch")
    return row


def branch_info(row: Any) -> BranchInfo:
    return BranchInfo(
        name=row.name,
        head=row.head_commit,
        from_branch=row.from_branch,
        fork_commit=row.fork_commit,
        protected=row.protected,
        description=row.description,
        seq=row.seq,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _by_prefix(connection: Connection, db_id: int, prefix: str) -> CommitInfo | None:
    rows = connection.execute(
        select(commits.c.commit_id)
        .where(commits.c.db_id == db_id, commits.c.commit_id.startswith(prefix, autoescape=True))
        .limit(2)
    ).all()
    if len(rows) > 1:
        raise MalformedInput(f"commit id '{prefix}' is ambiguous: give more digits", field="ref")
    return load_commit(connection, db_id, rows[0].commit_id) if rows else None


def resolve_ref(
    connection: Connection, db_id: int, ref: str, *, branch: str | None = None
) -> tuple[CommitInfo, str | None]:
    """The commit a ref names, and the branch it started from (None for a commit id)."""
    spec = parse_ref(ref)
    start_branch: str | None = None
    commit: CommitInfo | None = None
    if spec.base == HEAD:
        start_branch = branch or "main"
    else:
        row = connection.execute(
            select(branches.c.head_commit).where(
                branches.c.db_id == db_id, branches.c.name == spec.base
            )
        ).one_or_none()
        if row is not None:
            start_branch = spec.base
        elif spec.may_be_commit:
            commit = _by_prefix(connection, db_id, spec.base)
        if start_branch is None and commit is None:
            raise NotFound(f"'{spec.base}' is neither a branch nor a commit", field="ref")
    if commit is None:
        assert start_branch is not None
        commit = load_commit(
            connection, db_id, branch_row(connection, db_id, start_branch).head_commit
        )
    for kind, count in spec.steps:
        commit = _step(connection, db_id, commit, kind, count, ref)
    return commit, start_branch if not spec.steps else None


def _step(
    connection: Connection, db_id: int, commit: CommitInfo, kind: str, count: int, ref: str
) -> CommitInfo:
    if kind == "^":
        if count == 0:
            return commit
        if count > len(commit.parents):
            raise NotFound(f"'{ref}': commit {commit.commit_id[:10]} has no parent {count}")
        return load_commit(connection, db_id, commit.parents[count - 1])
    for _ in range(count):
        if not commit.parents:
            raise NotFound(f"'{ref}' goes back past the first commit")
        commit = load_commit(connection, db_id, commit.parents[0])
    return commit
