"""Push, pull and clone between two databases of one store, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import commits, spice_databases
from spice_harvester.adapters.sql.versioned.exchange import export_history, import_history
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.errors import Conflict, MergeConflict, ValidationFailed
from spice_harvester.domain.versioning.changes import Change
from spice_harvester.domain.versioning.merge import MergeOptions, Strategy
from spice_harvester.domain.versioning.model import CommitRequest, Pack
from tests.integration.store_helpers import DB, create, data_at, person, remove, update, write

COPY = "copydb"


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlVersionedStore:
    created = SqlVersionedStore(migrated)
    created.create_database(DB, "origin", actor="admin")
    write(created, "main", create(person("p1"), {"name": "Kim", "city": "서울"}))
    created.create_branch(DB, "dev")
    write(created, "dev", create(person("p2"), {"name": "田中"}))
    return created


@pytest.fixture
def copy(store: SqlVersionedStore, migrated: SqlDatabase) -> SqlVersionedStore:
    import_history(migrated, export_history(migrated, DB), name=COPY)
    return store


def write_to(store: SqlVersionedStore, db: str, branch: str, *changes: Change) -> str:
    return store.commit(db, CommitRequest(branch, "tester", "change", changes)).commit.commit_id


def heads(store: SqlVersionedStore, db: str) -> list[str]:
    return [branch.head for branch in store.list_branches(db)]


def commit_count(database: SqlDatabase, db_name: str) -> int:
    owner = select(spice_databases.c.db_id).where(spice_databases.c.name == db_name)
    with database.read() as connection:
        found = connection.execute(
            select(func.count())
            .select_from(commits)
            .where(commits.c.db_id == owner.scalar_subquery())
        ).scalar_one()
    return int(found)


def pull(store: SqlVersionedStore, into: str, source: str, branch: str = "main", **kw: Any) -> Any:
    pack = store.pack(source, branch, heads(store, into))
    return store.integrate(into, pack, branch, merge=True, **kw)


def push(store: SqlVersionedStore, source: str, into: str, branch: str = "main") -> Any:
    pack = store.pack(source, branch, heads(store, into))
    return store.integrate(into, pack, branch)


def test_a_clone_then_a_pull_fast_forwards_to_the_same_commits(
    copy: SqlVersionedStore, migrated: SqlDatabase
) -> None:
    first = write_to(copy, DB, "main", update(person("p1"), {"city": "부산"}))
    second = write_to(copy, DB, "main", create(person("p3"), {"name": "Ana"}))

    pack = copy.pack(DB, "main", heads(copy, COPY))
    assert [c["commit_id"] for c in pack.commits] == [first, second]
    result = copy.integrate(COPY, pack, "main", merge=True)

    assert (result.status, result.fetched) == ("fast_forward", 2)
    assert copy.resolve(COPY, "main").commit_id == second
    assert copy.state_hash(COPY, "main") == copy.state_hash(DB, "main")
    assert copy.recompute_state_hash(COPY, "main")[0] == copy.state_hash(DB, "main")
    assert data_at(copy, "main", person("p1")) == {"name": "Kim", "city": "부산"}
    # the clone goes on writing on main after the fetched commits
    local = write_to(copy, COPY, "main", update(person("p3"), {"name": "Ana Lima"}))
    assert copy.resolve(COPY, "main~1").commit_id == second
    assert copy.resolve(COPY, "main").commit_id == local
    again = pull(copy, COPY, DB)
    assert (again.status, again.fetched) == ("up_to_date", 0)


def test_a_push_sends_merge_commits_and_keeps_every_id(copy: SqlVersionedStore) -> None:
    copy.create_branch(COPY, "feature")
    write_to(copy, COPY, "feature", create(person("f1"), {"name": "Feature"}))
    write_to(copy, COPY, "main", update(person("p1"), {"name": "Kim Minsu"}))
    merged = copy.merge(COPY, "feature", "main", author="tester")
    assert merged.status == "merged"

    result = push(copy, COPY, DB)

    assert (result.status, result.fetched) == ("fast_forward", 3)
    assert copy.resolve(DB, "main").commit_id == merged.commit.commit_id
    assert copy.resolve(DB, "main").parents == merged.commit.parents
    assert copy.state_hash(DB, "main") == copy.state_hash(COPY, "main")
    origin_log, _ = copy.log(DB, "main", limit=100)
    copy_log, _ = copy.log(COPY, "main", limit=100)
    assert [c.commit_id for c in origin_log] == [c.commit_id for c in copy_log]
    history = copy.history(DB, "main", person("f1"))
    assert [v.commit.commit_id for v in history] == [
        v.commit.commit_id for v in copy.history(COPY, "main", person("f1"))
    ]


def test_a_push_onto_a_branch_that_moved_on_is_refused_with_nothing_written(
    copy: SqlVersionedStore, migrated: SqlDatabase
) -> None:
    write_to(copy, DB, "main", create(person("o1"), {"name": "origin only"}))
    write_to(copy, COPY, "main", create(person("c1"), {"name": "copy only"}))
    before = commit_count(migrated, DB), copy.resolve(DB, "main").commit_id

    with pytest.raises(Conflict, match="pull and merge first"):
        push(copy, COPY, DB)

    assert (commit_count(migrated, DB), copy.resolve(DB, "main").commit_id) == before


def test_a_pull_over_local_changes_merges_them(copy: SqlVersionedStore) -> None:
    write_to(copy, DB, "main", update(person("p1"), {"city": "부산"}))
    write_to(copy, COPY, "main", create(person("c1"), {"name": "local"}))

    result = pull(copy, COPY, DB)

    assert result.status == "merged"
    assert len(result.head.parents) == 2
    assert data_at(copy, "main", person("p1")) is not None
    merged = copy.get(COPY, "main", person("p1"))
    assert merged is not None
    assert merged.data == {"name": "Kim", "city": "부산"}
    assert copy.get(COPY, "main", person("c1")) is not None
    # and the origin can take the merge back as a fast-forward
    assert push(copy, COPY, DB).status == "fast_forward"
    assert copy.state_hash(DB, "main") == copy.state_hash(COPY, "main")


def test_a_conflicting_pull_is_refused_and_leaves_the_clone_as_it_was(
    copy: SqlVersionedStore, migrated: SqlDatabase
) -> None:
    write_to(copy, DB, "main", update(person("p1"), {"city": "부산"}))
    write_to(copy, COPY, "main", update(person("p1"), {"city": "대구"}))
    before = commit_count(migrated, COPY), copy.resolve(COPY, "main").commit_id

    with pytest.raises(MergeConflict) as refused:
        pull(copy, COPY, DB)

    assert refused.value.conflicts[0]["field"] == "city"
    assert (commit_count(migrated, COPY), copy.resolve(COPY, "main").commit_id) == before
    theirs = pull(copy, COPY, DB, options=MergeOptions(Strategy.THEIRS))
    assert theirs.status == "merged"
    state = copy.get(COPY, "main", person("p1"))
    assert state is not None
    assert state.data is not None
    assert state.data["city"] == "부산"


def test_a_pull_creates_a_branch_the_clone_lacks(copy: SqlVersionedStore) -> None:
    copy.create_branch(DB, "release-2")
    write_to(copy, DB, "release-2", remove(person("p1")))

    result = pull(copy, COPY, DB, branch="release-2")

    assert result.status == "created"
    assert copy.resolve(COPY, "release-2").commit_id == copy.resolve(DB, "release-2").commit_id
    assert copy.get(COPY, "release-2", person("p1")) is None
    assert copy.get(COPY, "main", person("p1")) is not None


def test_a_pack_altered_on_the_way_is_refused_with_nothing_written(
    copy: SqlVersionedStore, migrated: SqlDatabase
) -> None:
    write_to(copy, DB, "main", update(person("p1"), {"city": "부산"}))
    pack = copy.pack(DB, "main", heads(copy, COPY))
    altered = [dict(c) for c in pack.commits]
    event = dict(altered[0]["events"][0])
    event["payload"] = {"changes": {"city": {"old": "서울", "new": "광주"}}}
    altered[0]["events"] = [event]
    before = commit_count(migrated, COPY)

    with pytest.raises(ValidationFailed):
        copy.integrate(COPY, dataclasses.replace(pack, commits=tuple(altered)), "main")

    assert commit_count(migrated, COPY) == before


def test_databases_with_no_shared_history_cannot_exchange_commits(
    store: SqlVersionedStore,
) -> None:
    store.create_database("stranger")
    pack = store.pack(DB, "main", heads(store, "stranger"))
    with pytest.raises(ValidationFailed, match="share no history"):
        store.integrate("stranger", pack, "main")
    assert len(store.log("stranger", "main")[0]) == 1


def test_a_pack_whose_head_is_not_in_it_is_refused(copy: SqlVersionedStore) -> None:
    with pytest.raises(ValidationFailed, match="not in the pack"):
        copy.integrate(COPY, Pack("f" * 40, ()), "main")
