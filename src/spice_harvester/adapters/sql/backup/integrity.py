"""`spice verify`: every stored state and read model checked against the event log.

Per database, in one read transaction (so writers going on cannot make a false alarm):

1. the log replayed commit by commit against the stored versions, commit ids and state
   hashes (replay_check.py);
2. per branch, the state hash and document count recomputed from the documents its head
   shows (what `spice history verify` does), against the head commit's: this catches a row
   the replay never visits, such as a version added behind the store's back, or one whose
   validity was changed so that a branch sees another version;
3. per branch, its head against the log: the last event that moved the branch (a commit's
   document events, or a head move: created, reset, fast-forwarded, rebased, advanced,
   imported) must name the head the store has. Events are read by position, which orders
   one branch's moves since each is written under the branch's lock;

and then the read models against a rebuild from the store (`spice projection verify`'s
comparison), for the databases checked.

Every difference names the database, the branches whose first-parent history holds the
commit (a deleted or moved branch may leave a commit on none), the commit, the document and
the field when there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, or_, select

from spice_harvester.adapters.sql.backup.replay_check import CommitReplay, Finding
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.adapters.sql.tables import branches, commits, events, spice_databases
from spice_harvester.adapters.sql.versioned import admin, reads
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.application.projections.units import DOC_TYPES, HEAD_MOVES
from spice_harvester.domain.errors import NotFound
from spice_harvester.domain.versioning.hashing import EMPTY_STATE, add_to_state, doc_hash

MAX_PROBLEMS = 1000
BRANCH_DELETED = "BranchDeleted"


@dataclass(frozen=True)
class Problem:
    database: str
    check: str  # commit | event | document | state | branch | read_model
    message: str
    branches: tuple[str, ...] = ()
    commit: str | None = None
    document: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"database '{self.database}'"
        if self.branches:
            listed = ", ".join(f"'{name}'" for name in self.branches)
            where += f", branch{'es' if len(self.branches) > 1 else ''} {listed}"
        if self.commit:
            where += f", commit {self.commit[:12]}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "check": self.check,
            "branches": list(self.branches),
            "commit": self.commit,
            "document": self.document,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class DatabaseReport:
    """What was checked of one database, and the first MAX_PROBLEMS differences (`more`
    counts the rest: a table changed wholesale would otherwise fill the terminal)."""

    name: str
    commits: int = 0
    branches: int = 0
    documents: int = 0
    problems: list[Problem] = field(default_factory=list)
    more: int = 0

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def add(self, problem: Problem) -> None:
        if self.full:
            self.more += 1
        else:
            self.problems.append(problem)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.name,
            "commits": self.commits,
            "branches": self.branches,
            "documents": self.documents,
            "ok": self.ok,
            "problems_not_shown": self.more,
        }


# A step's description and size -> how to advance it.
Steps = Callable[[str, int | None], Callable[[int], None]]


def database_names(database: SqlDatabase, wanted: Sequence[str] | None) -> dict[str, int]:
    """name -> internal id of the databases to check; NotFound names one that is missing."""
    with database.read() as connection:
        rows = connection.execute(
            select(spice_databases.c.name, spice_databases.c.db_id).order_by(spice_databases.c.name)
        ).all()
    present = {row.name: int(row.db_id) for row in rows}
    if wanted is None:
        return present
    for name in wanted:
        if name not in present:
            raise NotFound(f"database '{name}' does not exist", field="database")
    return {name: present[name] for name in sorted(set(wanted))}


def verify_database(database: SqlDatabase, name: str, progress: Steps) -> DatabaseReport:
    """Replays one database's log and checks each branch, in one read transaction."""
    report = DatabaseReport(name)
    with database.read() as connection:
        row = admin.find_database(connection, name)
        db_id = int(row.db_id)
        cache = TimelineCache()
        chains = _branch_chains(connection, cache, db_id)
        report.branches = len(chains)
        placed = _Placements(connection, db_id)

        def found(finding: Finding) -> None:
            if report.full:
                report.more += 1  # not placed on branches: that costs a query each
                return
            report.add(
                Problem(
                    name,
                    finding.kind,
                    finding.message,
                    placed.branches_of(finding.commit, chains),
                    finding.commit,
                    finding.document,
                    finding.field,
                )
            )

        total = connection.execute(
            select(func.count()).select_from(commits).where(commits.c.db_id == db_id)
        ).scalar_one()
        advance = progress(f"replaying {name}", int(total))
        replay = CommitReplay(connection, db_id, _root_name(connection, db_id, name), found)
        report.commits = replay.run(advance)
        advance_branches = progress(f"checking the branches of {name}", len(chains))
        logged = _logged_heads(connection, db_id)
        for branch, (head, _) in sorted(chains.items()):
            _check_logged_head(name, branch, head.commit_id, logged.get(branch), report)
            report.documents += _check_branch(connection, cache, name, branch, head, report)
            advance_branches(1)
    return report


def _logged_heads(connection: Connection, db_id: int) -> dict[str, Any]:
    """branch -> the newest event that moved it (commit id and type)."""
    e = events.c
    moves = or_(
        (e.aggregate_type.in_(sorted(DOC_TYPES))) & e.commit_id.is_not(None),
        e.event_type.in_(sorted(HEAD_MOVES | {BRANCH_DELETED})),
    )
    newest = (
        select(func.max(e.position).label("position"))
        .where(e.db_id == db_id, e.branch.is_not(None), moves)
        .group_by(e.branch)
        .subquery()
    )
    rows = connection.execute(
        select(e.branch, e.commit_id, e.event_type).join(newest, e.position == newest.c.position)
    ).all()
    return {row.branch: row for row in rows}


def _check_logged_head(
    name: str, branch: str, head: str, logged: Any, report: DatabaseReport
) -> None:
    if logged is None:
        message = "no event in the log moved this branch"
    elif logged.event_type == BRANCH_DELETED:
        message = "the log deleted this branch, yet the store has it"
    elif logged.commit_id != head:
        message = (
            f"its head is {head[:12]} in the store, the log last moved it to "
            f"{logged.commit_id[:12]} ({logged.event_type})"
        )
    else:
        return
    report.add(Problem(name, "branch", message, (branch,), head, field="head_commit"))


def read_model_problems(database: SqlDatabase, checked: dict[str, int]) -> list[Problem]:
    """The read models' differences from a rebuild, for the databases checked (and those of
    no database at all, such as the search index's own consistency)."""
    names = {db_id: name for name, db_id in checked.items()}
    problems = []
    for mismatch in compare_with_rebuild(database):
        if mismatch.db_id and mismatch.db_id not in names:
            continue
        problems.append(
            Problem(
                names.get(mismatch.db_id, "-"),
                "read_model",
                f"{mismatch.projection} v{mismatch.version}: {mismatch.problem}",
                (mismatch.branch,) if mismatch.branch else (),
            )
        )
    return problems


def _root_name(connection: Connection, db_id: int, name: str) -> str:
    """The name the first commit's id was made with: an import (a restore, a clone) keeps
    its origin's, and says so in the event that announces the database."""
    payload = connection.execute(
        select(events.c.payload)
        .where(events.c.db_id == db_id, events.c.event_type == "DatabaseCreated")
        .order_by(events.c.position)
        .limit(1)
    ).scalar_one_or_none()
    origin = (payload or {}).get("imported_from") or {}
    found = origin.get("database") if isinstance(origin, dict) else None
    return found if isinstance(found, str) and found else name


Chains = dict[str, tuple[Any, dict[int, int]]]


def _branch_chains(connection: Connection, cache: TimelineCache, db_id: int) -> Chains:
    """branch -> (head commit row, timeline -> highest position its history holds there)."""
    b, c = branches.c, commits.c
    rows = connection.execute(
        select(b.name, c.commit_id, c.timeline_id, c.pos, c.state_hash, c.doc_count)
        .join(commits, (c.db_id == b.db_id) & (c.commit_id == b.head_commit))
        .where(b.db_id == db_id)
    ).all()
    return {
        row.name: (row, dict(cache.chain(connection, row.timeline_id, row.pos))) for row in rows
    }


class _Placements:
    """Where commits sit, read when a problem needs the branches that hold one."""

    def __init__(self, connection: Connection, db_id: int) -> None:
        self.connection = connection
        self.db_id = db_id

    def branches_of(self, commit_id: str, chains: Chains) -> tuple[str, ...]:
        row = self.connection.execute(
            select(commits.c.timeline_id, commits.c.pos).where(
                commits.c.db_id == self.db_id, commits.c.commit_id == commit_id
            )
        ).one_or_none()
        if row is None:
            return ()
        return tuple(
            sorted(
                name
                for name, (_, bounds) in chains.items()
                if bounds.get(row.timeline_id, -1) >= row.pos
            )
        )


def _check_branch(
    connection: Connection,
    cache: TimelineCache,
    name: str,
    branch: str,
    head: Any,
    report: DatabaseReport,
) -> int:
    state, count = EMPTY_STATE, 0
    chain = cache.chain(connection, head.timeline_id, head.pos)
    for document in reads.iter_docs(connection, chain):
        assert document.data is not None
        state = add_to_state(state, doc_hash(document.ref.key, document.data), None)
        count += 1
    if (state, count) != (head.state_hash, head.doc_count):
        report.add(
            Problem(
                name,
                "branch",
                f"its head shows {count} document(s) with state {state[:16]}..., the head "
                f"commit records {head.doc_count} with {head.state_hash[:16]}...",
                (branch,),
                head.commit_id,
                field="state_hash",
            )
        )
    return count
