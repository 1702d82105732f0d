"""Checks read models against a fresh rebuild from the store (docs/design/0005: every test
scenario ends with it; `spice projection verify` runs it on demand).

For every branch a projection version has state for, the rows it holds must equal the rows
rebuilt from the store's documents at the commit it says it reflects; no rows may exist for
a branch without state; and, when asked, every branch in the store must be reflected at its
head (the worker has caught up). A version rebuilt for one database or branch (a recompute
job's) is held to that only within its scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DatabaseError

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.read_models import MODELS, ReadModel, Scope
from spice_harvester.adapters.sql.projections.store_view import StoreView
from spice_harvester.adapters.sql.projections.tables import projection_state, projection_versions
from spice_harvester.adapters.sql.tables import branches, spice_databases
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.domain.errors import DependencyUnavailable

SHOWN = 5
_FTS_CHECK = text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")
_SQLITE_CORRUPT_VTAB = 267


@dataclass(frozen=True)
class Mismatch:
    projection: str
    version: int
    db_id: int
    branch: str
    problem: str

    def __str__(self) -> str:
        return (
            f"{self.projection} v{self.version}, database {self.db_id}, branch "
            f"'{self.branch}': {self.problem}"
        )


def compare_with_rebuild(
    database: SqlDatabase,
    projections: Iterable[str] | None = None,
    *,
    version: int | None = None,
    require_fresh: bool = False,
) -> list[Mismatch]:
    """Every difference between the read models and a rebuild at their reflected commits
    (empty when they agree). `version` defaults to each projection's serving version; any
    other (a recompute's, building or built) can be checked too."""
    found: list[Mismatch] = []
    cache = TimelineCache()
    names = list(projections or MODELS)
    if "search" in names and not search_index_consistent(database):
        found.append(Mismatch("search", 0, 0, "", "the FTS5 index disagrees with search_docs"))
    with database.read() as connection:
        for name in names:
            chosen = version or books.serving_version(connection, name)
            if chosen is None:
                found.append(Mismatch(name, 0, 0, "", "no serving version"))
                continue
            found += _check(connection, cache, MODELS[name], chosen, require_fresh=require_fresh)
    return found


def search_index_consistent(database: SqlDatabase) -> bool:
    """SQLite only: FTS5 checks its index against search_docs (PostgreSQL's tsvector is a
    generated column, so it cannot drift)."""
    if database.engine_name != "sqlite":
        return True
    try:
        # A special INSERT that writes nothing (rank 1: compare with the content table);
        # SQLite still wants a write transaction for it.
        with database.transaction() as connection:
            connection.execute(_FTS_CHECK)
    except (DatabaseError, DependencyUnavailable) as exc:
        cause = exc if isinstance(exc, DatabaseError) else exc.__cause__
        orig = getattr(cause, "orig", None)
        if getattr(orig, "sqlite_errorcode", None) == _SQLITE_CORRUPT_VTAB:
            return False
        raise
    return True


def _check(
    connection: Connection,
    cache: TimelineCache,
    model: ReadModel,
    version: int,
    *,
    require_fresh: bool,
) -> list[Mismatch]:
    found: list[Mismatch] = []

    def problem(db_id: int, branch: str, text: str) -> None:
        found.append(Mismatch(model.name, version, db_id, branch, text))

    s = projection_state.c
    states = connection.execute(
        select(s.db_id, s.branch, s.commit_id).where(
            s.projection == model.name, s.version == version
        )
    ).all()
    reflected = {(int(row.db_id), row.branch): row.commit_id for row in states}
    for (db_id, branch), commit_id in sorted(reflected.items()):
        view = StoreView(connection, cache, db_id)
        if not view.database_exists():
            problem(db_id, branch, "its database no longer exists")
            continue
        documents = list(view.all_states(view.commit(commit_id)))
        expected = model.expected(view, documents)
        actual = model.snapshot(connection, Scope(version, db_id, branch))
        if actual != expected:
            differences = _diff(expected, actual)
            problem(db_id, branch, f"differs from a rebuild at {commit_id}: {differences}")
    for db_id, branch in sorted(model.scopes(connection, version) - reflected.keys()):
        problem(db_id, branch, "has rows but no state")
    if require_fresh:
        heads = connection.execute(
            select(branches.c.db_id, branches.c.name, branches.c.head_commit).join(
                spice_databases, spice_databases.c.db_id == branches.c.db_id
            )
        ).all()
        live = {(int(row.db_id), row.name): row.head_commit for row in heads}
        live = _within_scope(connection, model.name, version, live)
        for key, head in sorted(live.items()):
            if reflected.get(key) != head:
                problem(*key, f"reflects {reflected.get(key)}, the head is {head}")
        for key in sorted(reflected.keys() - live.keys()):
            problem(*key, "the branch no longer exists")
    return found


def _within_scope(
    connection: Connection, projection: str, version: int, live: dict[tuple[int, str], str]
) -> dict[tuple[int, str], str]:
    v = projection_versions.c
    row = connection.execute(
        select(v.scope_db_id, v.scope_branch).where(
            v.projection == projection, v.version == version
        )
    ).first()
    if row is None:
        return live
    return {
        (db_id, branch): head
        for (db_id, branch), head in live.items()
        if (row.scope_db_id is None or db_id == int(row.scope_db_id))
        and (row.scope_branch is None or branch == row.scope_branch)
    }


def _diff(expected: dict[Any, Any], actual: dict[Any, Any]) -> str:
    missing = sorted(map(str, expected.keys() - actual.keys()))
    extra = sorted(map(str, actual.keys() - expected.keys()))
    wrong = sorted(str(k) for k in expected.keys() & actual.keys() if expected[k] != actual[k])
    parts = []
    for label, keys in (("missing", missing), ("extra", extra), ("different", wrong)):
        if keys:
            more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
            parts.append(f"{label} {', '.join(keys[:SHOWN])}{more}")
    return "; ".join(parts)
