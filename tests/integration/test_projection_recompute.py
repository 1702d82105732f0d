"""Recompute jobs on SQLite and PostgreSQL: a new version rebuilt from the log beside the
serving one, equal to a rebuild from the store, promoted in one transaction.

The worker's loop and the job runner run in this process, a round at a time, so each test
can look between the build and the promotion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.read_models import MODELS, ReadModel, Scope
from spice_harvester.adapters.sql.projections.read_models import SearchModel as SqlSearchModel
from spice_harvester.adapters.sql.projections.readers import SqlReadModels
from spice_harvester.adapters.sql.projections.recompute import RecomputeRunner, SqlRecomputeJobs
from spice_harvester.adapters.sql.projections.replay import coalesced
from spice_harvester.adapters.sql.projections.status import projection_status
from spice_harvester.adapters.sql.projections.store_view import StoreView
from spice_harvester.adapters.sql.projections.tables import (
    class_counts,
    dead_letters,
    projection_jobs,
    projection_state,
    projection_versions,
    search_docs,
)
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.adapters.sql.registry import SqlRegistry
from spice_harvester.adapters.sql.tables import (
    aggregate_versions,
    processed_events,
    spice_databases,
)
from spice_harvester.adapters.sql.versioned.exchange import export_history, import_history
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.projections.changes import DocChange
from spice_harvester.application.projections.delivery import Delivery, UnitOutcome
from spice_harvester.application.projections.recompute import RecomputeJob, RecomputeRequest
from spice_harvester.application.projections.units import group_units
from spice_harvester.domain.errors import Conflict, MalformedInput, NotFound
from spice_harvester.domain.versioning.documents import DocRef, DocState
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.ports.registry import LogCheckpoint
from tests.integration.projection_helpers import (
    FAST_RETRY,
    assert_read_models_match,
    delivery,
    settle,
)
from tests.integration.store_helpers import DB, create, person, remove, write
from tests.integration.store_helpers import update as edit
from tests.integration.test_history_exchange import SOURCE, build_history

PERSON = DocRef.of_class("Person")
OTHER = "otherdb"


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlVersionedStore:
    created = SqlVersionedStore(migrated)
    created.create_database(DB, actor="admin")
    write(
        created,
        "main",
        create(PERSON, {"label": "Person"}),
        create(person("ann"), {"name": "Ann Lee", "city": "Seoul"}),
        create(person("bob"), {"name": "Bob Stone", "city": "Busan"}),
        command_id="cmd-seed",
    )
    created.create_branch(DB, "dev", "main")
    write(created, "dev", edit(person("bob"), {"name": "Bob Dev"}))
    created.create_database(OTHER, actor="admin")
    other = (create(PERSON, {"label": "Person"}), create(person("zed"), {"name": "Zed Seoul"}))
    created.commit(OTHER, CommitRequest("main", "tester", "other", other))
    return created


@pytest.fixture
def worker(migrated: SqlDatabase) -> Delivery:
    return delivery(migrated)


@pytest.fixture
def runner(migrated: SqlDatabase) -> RecomputeRunner:
    return RecomputeRunner(migrated, every_seconds=0, progress_seconds=0, purge_seconds=30)


@pytest.fixture
def jobs(migrated: SqlDatabase) -> SqlRecomputeJobs:
    return SqlRecomputeJobs(migrated)


def db_id(database: SqlDatabase, name: str) -> int:
    with database.read() as connection:
        found = connection.execute(
            select(spice_databases.c.db_id).where(spice_databases.c.name == name)
        ).scalar_one()
    return int(found)


def snapshot(database: SqlDatabase, projection: str, version: int, db: int, branch: str) -> Any:
    with database.read() as connection:
        return MODELS[projection].snapshot(connection, Scope(version, db, branch))


def version_status(database: SqlDatabase, projection: str, version: int) -> str | None:
    v = projection_versions.c
    with database.read() as connection:
        found = connection.execute(
            select(v.status).where(v.projection == projection, v.version == version)
        ).scalar()
    return None if found is None else str(found)


def purge_pending(database: SqlDatabase, job_id: str) -> bool:
    with database.read() as connection:
        found = connection.execute(
            select(projection_jobs.c.purge_version).where(projection_jobs.c.job_id == job_id)
        ).scalar()
    return found is not None


def run_job(
    database: SqlDatabase,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
    job_id: str,
    *,
    timeout: float = 60,
) -> RecomputeJob:
    """Worker rounds, each followed by the runner's tick (as the worker does), until the job
    has finished and what it left is purged."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = worker.run_once()
        runner.tick(force=True)
        job = jobs.get(job_id)
        if job.finished and not purge_pending(database, job_id):
            return job
        if report.blocked and not report.progressed:
            time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish: {jobs.get(job_id).as_dict()}")


def break_search_row(database: SqlDatabase, db: int, branch: str, doc_id: str) -> None:
    """Damages the serving rows the way a lost write would: the row is simply gone."""
    c = search_docs.c
    with database.transaction() as connection:
        connection.execute(
            delete(search_docs).where(
                c.version == 1, c.db_id == db, c.branch == branch, c.doc_id == doc_id
            )
        )


def searched(database: SqlDatabase, q: str, branch: str = "main", db: str = DB) -> list[str]:
    return sorted(hit.doc_id for hit in SqlReadModels(database).search(db, branch, q).hits)


def test_a_branch_recompute_builds_beside_serving_and_swaps_in_on_promotion(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    settle(worker)
    testdb, other = db_id(migrated, DB), db_id(migrated, OTHER)
    break_search_row(migrated, testdb, "main", "ann")
    assert searched(migrated, "seoul") == []
    dev_before = snapshot(migrated, "search", 1, testdb, "dev")
    other_before = snapshot(migrated, "search", 1, other, "main")
    broken_main = snapshot(migrated, "search", 1, testdb, "main")

    job = jobs.create(RecomputeRequest("search", DB, "main", promote=True))
    assert job.status == "queued"
    runner.tick(force=True)
    job = jobs.get(job.job_id)
    assert (job.status, job.version) == ("building", 2)
    assert version_status(migrated, "search", 2) == "replaying"
    runner.tick(force=True)  # replays the log in batches, then the worker follows it
    settle(worker)  # the new version is caught up; no tick, so no promotion yet

    # Built, equal to a rebuild within its scope, while reads still use version 1's rows.
    assert compare_with_rebuild(migrated, ["search"], version=2, require_fresh=True) == []
    assert snapshot(migrated, "search", 2, testdb, "dev") == {}
    result = SqlReadModels(migrated).search(DB, "main", "seoul")
    assert (result.version, result.hits) == (1, [])
    assert version_status(migrated, "search", 2) == "building"

    job = run_job(migrated, worker, runner, jobs, job.job_id)
    assert job.status == "done"
    assert job.progress.percent == 100.0
    assert job.progress.note is not None
    assert "swapped into serving version 1" in job.progress.note
    result = SqlReadModels(migrated).search(DB, "main", "seoul")
    assert (result.version, [hit.doc_id for hit in result.hits]) == (1, ["ann"])
    # The old rows are kept under the rebuilt version's number, now retired.
    assert version_status(migrated, "search", 2) == "retired"
    assert snapshot(migrated, "search", 2, testdb, "main") == broken_main
    # Nothing outside the scope moved.
    assert snapshot(migrated, "search", 1, testdb, "dev") == dev_before
    assert snapshot(migrated, "search", 1, other, "main") == other_before
    assert_read_models_match(migrated)

    # Later writes apply to the swapped-in rows.
    write(store, "main", create(person("cat"), {"name": "Cat Seoul"}), remove(person("bob")))
    write(store, "dev", create(person("dan"), {"name": "Dan Seoul"}))
    settle(worker)
    assert_read_models_match(migrated)
    assert searched(migrated, "seoul") == ["ann", "cat"]
    assert searched(migrated, "seoul", "dev") == ["ann", "dan"]
    # The retired version is no longer followed, and its claims were purged.
    assert [s.version for s in projection_status(migrated) if s.projection == "search"] == [1]
    with migrated.read() as connection:
        claims = connection.execute(
            select(func.count())
            .select_from(processed_events)
            .where(processed_events.c.handler == "projection:search:2")
        ).scalar_one()
    assert claims == 0


def test_readers_see_the_old_rows_or_the_new_never_a_mix(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    write(store, "main", *(create(person(f"p{n:03}"), {"name": f"P {n}"}) for n in range(150)))
    settle(worker)
    c = class_counts.c
    with migrated.transaction() as connection:
        connection.execute(
            update(class_counts)
            .where(c.version == 1, c.db_id == db_id(migrated, DB), c.branch == "main")
            .values(count=999)
        )
    job = jobs.create(RecomputeRequest("counts", DB, promote=True))
    runner.tick(force=True)
    runner.tick(force=True)
    settle(worker)

    seen: list[dict[str, int]] = []
    stop = threading.Event()

    def read() -> None:
        readers = SqlReadModels(migrated)
        while not stop.is_set():
            seen.append(readers.counts(DB, "main").counts)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        time.sleep(0.05)
        assert run_job(migrated, worker, runner, jobs, job.job_id).status == "done"
        time.sleep(0.05)
    finally:
        stop.set()
        reader.join()
    assert seen[0] == {"Person": 999}
    assert seen[-1] == {"Person": 152}
    assert all(counts in ({"Person": 999}, {"Person": 152}) for counts in seen)
    assert_read_models_match(migrated)


def test_allow_delete_base_index_deletes_the_replaced_rows(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    settle(worker)
    testdb = db_id(migrated, DB)
    job = jobs.create(RecomputeRequest("lineage", DB, promote=True, allow_delete_base_index=True))
    assert run_job(migrated, worker, runner, jobs, job.job_id).status == "done"
    assert version_status(migrated, "lineage", 2) == "dropped"
    for branch in ("main", "dev"):
        assert snapshot(migrated, "lineage", 2, testdb, branch) == {}
        assert snapshot(migrated, "lineage", 1, testdb, branch) != {}
    with migrated.read() as connection:
        s, a = projection_state.c, aggregate_versions.c
        assert not connection.execute(
            select(s.branch).where(s.projection == "lineage", s.version == 2)
        ).all()
        assert not connection.execute(
            select(a.aggregate_key).where(a.handler == "projection:lineage:2")
        ).all()
    assert_read_models_match(migrated)


def test_a_recompute_of_every_database_flips_the_serving_version(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    settle(worker)
    testdb = db_id(migrated, DB)
    old_rows = snapshot(migrated, "search", 1, testdb, "main")
    job = jobs.create(RecomputeRequest("search", promote=True, requested_by="ops"))
    job = run_job(migrated, worker, runner, jobs, job.job_id)
    assert (job.status, job.requested_by) == ("done", "ops")
    assert version_status(migrated, "search", 2) == "serving"
    assert version_status(migrated, "search", 1) == "retired"
    assert snapshot(migrated, "search", 1, testdb, "main") == old_rows  # kept
    assert SqlReadModels(migrated).search(DB, "main", "seoul").version == 2
    assert_read_models_match(migrated)

    write(store, "dev", create(person("eve"), {"name": "Eve Seoul"}))
    settle(worker)
    assert_read_models_match(migrated)
    assert searched(migrated, "seoul", "dev") == ["ann", "eve"]
    assert snapshot(migrated, "search", 1, testdb, "dev") != snapshot(
        migrated, "search", 2, testdb, "dev"
    )


def test_a_time_window_starts_from_the_state_at_from_ts_and_ends_at_to_ts(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    first = write(store, "main", create(person("w1"), {"name": "Window one"}))
    time.sleep(0.05)
    from_ts = datetime.now(UTC)
    time.sleep(0.05)
    second = write(store, "main", create(person("w2"), {"name": "Window two"}))
    write(store, "dev", create(person("w3"), {"name": "Window three"}))
    time.sleep(0.05)
    to_ts = datetime.now(UTC)
    time.sleep(0.05)
    write(store, "main", create(person("w4"), {"name": "Window four"}))
    settle(worker)

    kept = jobs.create(RecomputeRequest("search", DB, from_ts=from_ts, to_ts=to_ts))
    kept = run_job(migrated, worker, runner, jobs, kept.job_id)
    assert kept.status == "done"
    assert version_status(migrated, "search", 2) == "built"
    # Each branch as it was at to_ts, equal to a rebuild at that commit.
    assert compare_with_rebuild(migrated, ["search"], version=2) == []
    s = projection_state.c
    with migrated.read() as connection:
        reflected = dict(
            connection.execute(
                select(s.branch, s.commit_id).where(s.projection == "search", s.version == 2)
            ).all()
        )
    assert reflected["main"] == second.commit.commit_id
    assert set(snapshot(migrated, "search", 2, db_id(migrated, DB), "main")) == {
        ("Person", doc) for doc in ("ann", "bob", "w1", "w2")
    }
    # Started from the state at from_ts: the events before it were never replayed.
    registry = SqlRegistry(migrated)
    before, after = (
        SqlEventLog(migrated).read_after(LogCheckpoint.start(), 1000)[i] for i in (0, -1)
    )
    assert registry.status("projection:search:2", before.key) is None
    assert registry.status("projection:search:2", after.key) is None  # after to_ts
    assert first.commit.commit_id != reflected["main"]
    # Reads never moved, and the snapshot version is no longer followed.
    assert SqlReadModels(migrated).search(DB, "main", "window").total == 3
    assert [s.status for s in projection_status(migrated) if s.version == 2] == ["built"]

    promoted = jobs.create(RecomputeRequest("search", DB, "main", from_ts=from_ts, promote=True))
    assert run_job(migrated, worker, runner, jobs, promoted.job_id).status == "done"
    assert_read_models_match(migrated)
    assert searched(migrated, "window") == ["w1", "w2", "w4"]


def test_a_recompute_of_a_database_with_every_kind_of_history_equals_a_rebuild(
    migrated: SqlDatabase,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    source = SqlVersionedStore(migrated)
    build_history(source)
    import_history(migrated, export_history(migrated, SOURCE), name="copy")
    source.delete_branch("copy", "hotfix")
    settle(worker)
    origin = db_id(migrated, SOURCE)
    before = {
        branch.name: snapshot(migrated, "lineage", 1, origin, branch.name)
        for branch in source.list_branches(SOURCE)
    }
    job = jobs.create(RecomputeRequest("lineage", "copy", promote=True))
    assert run_job(migrated, worker, runner, jobs, job.job_id).status == "done"
    assert_read_models_match(migrated)
    assert before == {name: snapshot(migrated, "lineage", 1, origin, name) for name in before}


class RefusingSearch(SqlSearchModel):
    """Search that refuses to write any version but the first: a build that cannot work."""

    def apply(self, view: StoreView, scope: Scope, changes: Sequence[DocChange]) -> None:
        self._refuse(scope)
        super().apply(view, scope, changes)

    def build(self, view: StoreView, scope: Scope, states: Iterable[DocState]) -> None:
        self._refuse(scope)
        super().build(view, scope, states)

    @staticmethod
    def _refuse(scope: Scope) -> None:
        if scope.version != 1:
            raise RuntimeError(f"this model refuses version {scope.version}")


def test_a_failing_build_fails_the_job_and_leaves_serving_untouched(
    migrated: SqlDatabase, store: SqlVersionedStore, jobs: SqlRecomputeJobs
) -> None:
    models: dict[str, ReadModel] = {**MODELS, "search": RefusingSearch()}
    worker = Delivery(
        SqlApplier(migrated, "refusing", models), SqlEventLog(migrated), retry=FAST_RETRY
    )
    runner = RecomputeRunner(migrated, models, every_seconds=0, progress_seconds=0)
    settle(worker)
    testdb = db_id(migrated, DB)
    serving = snapshot(migrated, "search", 1, testdb, "main")

    job = jobs.create(RecomputeRequest("search", DB, promote=True))
    job = run_job(migrated, worker, runner, jobs, job.job_id)
    assert job.status == "failed"
    assert job.error is not None
    assert "this model refuses version 2" in job.error
    assert "dead letter" in job.error
    assert version_status(migrated, "search", 2) == "dropped"
    assert version_status(migrated, "search", 1) == "serving"
    assert snapshot(migrated, "search", 1, testdb, "main") == serving
    with migrated.read() as connection:
        d = dead_letters.c
        letters = connection.execute(
            select(d.status, d.resolution).where(d.projection == "search", d.version == 2)
        ).all()
        assert letters
        assert {tuple(letter) for letter in letters} == {("resolved", "dropped")}
        assert not connection.execute(
            select(search_docs.c.row_id).where(search_docs.c.version == 2)
        ).all()
    assert_read_models_match(migrated)
    # The projection is free for another job.
    assert jobs.create(RecomputeRequest("search", DB)).status == "queued"


def test_requests_are_checked_and_one_job_runs_per_projection(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    with pytest.raises(MalformedInput, match="unknown projection 'nope'"):
        jobs.create(RecomputeRequest("nope"))
    with pytest.raises(NotFound, match="database 'missing' does not exist"):
        jobs.create(RecomputeRequest("search", "missing"))
    with pytest.raises(NotFound, match="branch 'missing' does not exist"):
        jobs.create(RecomputeRequest("search", DB, "missing"))
    with pytest.raises(MalformedInput, match="needs its database"):
        jobs.create(RecomputeRequest("search", branch="main"))
    late, early = datetime(2030, 1, 2, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(MalformedInput, match="is after to_ts"):
        jobs.create(RecomputeRequest("search", from_ts=late, to_ts=early))
    with pytest.raises(MalformedInput, match="in the future"):
        jobs.create(RecomputeRequest("search", from_ts=late))
    with pytest.raises(MalformedInput, match="only with promote"):
        jobs.create(RecomputeRequest("search", allow_delete_base_index=True))
    with pytest.raises(NotFound):
        jobs.get("missing")

    first = jobs.create(RecomputeRequest("search", DB, promote=True))
    with pytest.raises(Conflict, match="still active"):
        jobs.create(RecomputeRequest("search"))
    assert jobs.create(RecomputeRequest("counts")).status == "queued"  # another projection

    settle(worker)
    runner.tick(force=True)
    assert jobs.get(first.job_id).status == "building"
    cancelled = jobs.cancel(first.job_id)
    assert cancelled.status == "cancelled"
    assert version_status(migrated, "search", 2) == "dropped"
    with pytest.raises(Conflict, match="already cancelled"):
        jobs.cancel(first.job_id)
    runner.tick(force=True)
    assert not purge_pending(migrated, first.job_id)
    assert not snapshot(migrated, "search", 2, db_id(migrated, DB), "main")
    assert [job.job_id for job in jobs.jobs()][1] == first.job_id


def test_a_rebuilt_version_ahead_of_serving_is_not_applied_again_after_the_swap(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    settle(worker)
    job = jobs.create(RecomputeRequest("search", DB, "main", promote=True))
    runner.tick(force=True)
    runner.tick(force=True)
    settle(worker)
    # Two commits on main that only the rebuilt version applies before the promotion.
    write(store, "main", create(person("c1"), {"name": "Ahead one"}))
    write(store, "main", create(person("c2"), {"name": "Ahead two"}))
    applier = SqlApplier(migrated, "ahead")
    subscriptions = {s.version: s for s in applier.subscriptions() if s.projection == "search"}
    events = SqlEventLog(migrated).read_after(subscriptions[2].checkpoint, 100)
    units = group_units(events, complete=True)
    assert [applier.apply(subscriptions[2], unit) for unit in units] == [UnitOutcome.APPLIED] * 2
    runner.tick(force=True)
    assert jobs.get(job.job_id).status == "done"
    assert searched(migrated, "ahead") == ["c1", "c2"]

    # The serving version meets those commits after the swap: they count as done for it, so
    # main does not go back to the first of them on the way.
    assert applier.apply(subscriptions[1], units[0]) is UnitOutcome.ALREADY_DONE
    assert searched(migrated, "ahead") == ["c1", "c2"]
    settle(worker)
    assert_read_models_match(migrated)


def test_a_replay_batch_lands_each_branch_through_resets_deletions_and_recreations(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    worker: Delivery,
    runner: RecomputeRunner,
    jobs: SqlRecomputeJobs,
) -> None:
    for n in range(30):
        write(store, "main", create(person(f"m{n:02}"), {"name": f"Many {n}"}))
    store.create_branch(DB, "gone", "dev")
    write(store, "gone", create(person("g1"), {"name": "Gone soon"}))
    store.delete_branch(DB, "gone")
    store.create_branch(DB, "gone", "main~5")
    write(store, "gone", create(person("g2"), {"name": "Back again"}))
    store.reset_branch(DB, "dev", "dev~1")
    write(store, "dev", edit(person("ann"), {"name": "Ann Reset"}))
    store.create_branch(DB, "late", "gone")
    store.delete_database(OTHER, None)
    settle(worker)
    # In one batch, main's 32 commits come down to its last, while each branch creation and
    # deletion stays (the first "gone" is created, deleted and created again).
    events = SqlEventLog(migrated).read_after(LogCheckpoint.start(), 10_000)
    units = group_units(events, complete=True)
    chosen = coalesced(units)
    testdb = db_id(migrated, DB)
    on_main = [u for u in chosen if (u.db_id, u.branch) == (testdb, "main")]
    assert len(on_main) == 1
    assert on_main[0].commit_id == store.resolve(DB, "main").commit_id
    gone = [u.event_type for u in chosen if (u.db_id, u.branch) == (testdb, "gone")]
    assert gone == [
        "BranchCreated",
        "InstanceCreated",
        "BranchDeleted",
        "BranchCreated",
        "InstanceCreated",
    ]

    job = jobs.create(RecomputeRequest("search", promote=True))
    assert run_job(migrated, worker, runner, jobs, job.job_id).status == "done"
    assert_read_models_match(migrated)
    assert searched(migrated, "again", "late") == ["g2"]
    assert searched(migrated, "soon", "gone") == []
    assert searched(migrated, "reset", "dev") == ["ann"]
