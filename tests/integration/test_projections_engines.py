"""Projections on SQLite and PostgreSQL: writes through the store, the worker's loop run in
this process for a bounded number of rounds, and every read model compared with a rebuild."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy import update as sql_update
from typer.testing import CliRunner, Result

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.dead_letters import RetryOutcome, SqlDeadLetters
from spice_harvester.adapters.sql.projections.read_models import MODELS, Scope
from spice_harvester.adapters.sql.projections.readers import SqlReadModels
from spice_harvester.adapters.sql.projections.status import projection_status
from spice_harvester.adapters.sql.projections.tables import (
    class_counts,
    dead_letters,
    doc_lineage,
    projection_checkpoints,
    search_docs,
)
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.adapters.sql.registry import SqlRegistry
from spice_harvester.adapters.sql.versioned.exchange import export_history, import_history
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.projections.delivery import Subscription, UnitOutcome
from spice_harvester.application.projections.units import group_units
from spice_harvester.cli.main import app
from spice_harvester.domain.errors import NotFound, ValidationFailed
from spice_harvester.domain.versioning.changes import Change
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.ports.registry import LogCheckpoint
from tests.conftest import SETTING_PREFIXES
from tests.integration.projection_helpers import (
    assert_read_models_match,
    cure,
    delivery,
    poison,
    settle,
)
from tests.integration.sql_engines import EngineUnderTest
from tests.integration.store_helpers import DB, create, person, remove, update, write
from tests.integration.test_history_exchange import SOURCE, build_history

PERSON = DocRef.of_class("Person")


def place(doc_id: str) -> DocRef:
    return DocRef.of_instance("Place", doc_id)


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlVersionedStore:
    created = SqlVersionedStore(migrated)
    created.create_database(DB, actor="admin")
    write(
        created,
        "main",
        create(PERSON, {"label": "Person"}),
        create(person("ann"), {"name": "Ann Lee", "city": "Seoul 서울"}),
        create(person("bob"), {"name": "Bob Stone", "tags": ["ＶＩＰ", "early"]}),
        create(place("icn"), {"name": "Incheon", "code": "ICN"}),
        command_id="cmd-seed",
    )
    return created


def searched(database: SqlDatabase, q: str, branch: str = "main") -> list[str]:
    return [hit.doc_id for hit in SqlReadModels(database).search(DB, branch, q).hits]


def test_writes_updates_and_deletes_reach_every_read_model(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    worker = delivery(migrated)
    settle(worker)
    assert_read_models_match(migrated)
    assert searched(migrated, "seoul") == ["ann"]

    write(
        store,
        "main",
        update(person("ann"), {"city": "Busan"}),
        remove(person("bob")),
        *(create(person(f"p{n:02}"), {"name": f"Person {n}"}) for n in range(20)),
    )
    settle(worker)
    assert_read_models_match(migrated)
    assert searched(migrated, "seoul") == []
    assert searched(migrated, "busan") == ["ann"]
    counts = SqlReadModels(migrated).counts(DB, "main")
    assert counts.counts == {"Person": 21, "Place": 1}
    assert counts.freshness.fresh


def test_branches_follow_creation_merges_fast_forwards_resets_rebases_and_deletion(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    worker = delivery(migrated)
    store.create_branch(DB, "dev", "main")
    write(store, "dev", update(person("ann"), {"name": "Ann Kim"}))
    settle(worker)
    assert_read_models_match(migrated)
    assert searched(migrated, "kim", "dev") == ["ann"]
    assert searched(migrated, "kim") == []

    # A fast-forward moves main's head without document events.
    assert store.merge(DB, "dev", "main", author="t").status == "fast_forward"
    settle(worker)
    assert searched(migrated, "kim") == ["ann"]

    write(store, "main", create(person("cat"), {"name": "Cat"}))
    write(store, "dev", create(person("dan"), {"name": "Dan"}))
    assert store.merge(DB, "dev", "main", author="t").status == "merged"
    store.reset_branch(DB, "dev", "dev~1")
    write(store, "dev", create(person("eve"), {"name": "Eve"}))
    write(store, "main", create(person("fay"), {"name": "Fay"}))
    assert store.rebase(DB, "dev", "main")[0] == "rebased"
    # An empty commit moves a head too.
    store.commit(DB, CommitRequest("dev", "t", "nothing", (), allow_empty=True))
    store.create_branch(DB, "from-commit", store.resolve(DB, "main~1").commit_id)
    store.create_branch(DB, "doomed", "dev")
    settle(worker)
    assert_read_models_match(migrated)
    assert SqlReadModels(migrated).counts(DB, "dev").counts == {"Person": 6, "Place": 1}
    assert searched(migrated, "eve", "dev") == ["eve"]

    store.delete_branch(DB, "doomed")
    settle(worker)
    assert_read_models_match(migrated)
    with migrated.read() as connection:
        assert MODELS["search"].snapshot(connection, Scope(1, 1, "doomed")) == {}


def test_every_kind_of_history_imports_and_pulls_project_at_each_head(
    migrated: SqlDatabase,
) -> None:
    source = SqlVersionedStore(migrated)
    build_history(source)
    import_history(migrated, export_history(migrated, SOURCE), name="copy")
    worker = delivery(migrated, batch_size=5)
    settle(worker)
    assert_read_models_match(migrated)

    # Commits fetched from another database arrive with their events, then a head moves.
    source.create_branch(SOURCE, "remote-only", "main")
    write_to(source, SOURCE, "remote-only", create(person("far"), {"name": "Far away"}))
    write_to(source, SOURCE, "main", create(person("near"), {"name": "Near"}))
    copy_heads = [branch.head for branch in source.list_branches("copy")]
    for branch in ("main", "remote-only"):
        pack = source.pack(SOURCE, branch, copy_heads)
        source.integrate("copy", pack, branch)
    settle(worker)
    assert_read_models_match(migrated)

    source.delete_database(SOURCE, None)
    settle(worker)
    assert_read_models_match(migrated)


def write_to(store: SqlVersionedStore, db: str, branch: str, *changes: Change) -> None:
    store.commit(db, CommitRequest(branch, "t", "change", changes))


def test_a_redelivered_unit_is_a_no_op(migrated: SqlDatabase, store: SqlVersionedStore) -> None:
    applier = SqlApplier(migrated, "first")
    events = SqlEventLog(migrated).read_after(LogCheckpoint.start())
    units = group_units(events, complete=True)
    subscription = Subscription("search", 1, "serving", LogCheckpoint.start())
    assert [applier.apply(subscription, unit) for unit in units] == [UnitOutcome.APPLIED] * 2
    with migrated.read() as connection:
        before = MODELS["search"].snapshot(connection, Scope(1, 1, "main"))

    again = SqlApplier(migrated, "second")
    assert [again.apply(subscription, unit) for unit in units] == [UnitOutcome.ALREADY_DONE] * 2
    # The whole log again from the start: every claim is done, nothing changes.
    with migrated.transaction() as connection:
        connection.execute(sql_update(projection_checkpoints).values(tx_order=0, position=0))
    settle(delivery(migrated, owner="third"))
    with migrated.read() as connection:
        assert MODELS["search"].snapshot(connection, Scope(1, 1, "main")) == before
    assert_read_models_match(migrated)
    status = SqlRegistry(migrated).status("projection:search:1", units[1].first.key)
    assert status is not None
    assert (status["status"], status["attempts"]) == ("done", 1)


def test_many_small_commits_go_in_one_batch_folded_per_document(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    settle(delivery(migrated))
    # One document created, changed, deleted and created again; another changed and then
    # changed back; a branch made and written in between: all in one batch.
    write(store, "main", create(person("kim"), {"name": "Kim"}))
    write(store, "main", update(person("kim"), {"name": "Kim Min-ji"}))
    store.create_branch(DB, "side", "main")
    write(store, "side", update(person("kim"), {"name": "Kim on the side"}))
    write(store, "main", remove(person("kim")))
    write(store, "main", update(person("bob"), {"name": "Robert"}))
    write(store, "main", update(person("bob"), {"name": "Bob Stone"}))
    write(store, "main", create(person("kim"), {"name": "Kim again"}))
    write(store, "side", remove(person("ann")))
    applier = SqlApplier(migrated, "batch")
    subscriptions = applier.subscriptions()
    units = group_units(
        SqlEventLog(migrated).read_after(subscriptions[0].checkpoint), complete=True
    )
    assert {s.checkpoint for s in subscriptions} == {subscriptions[0].checkpoint}
    assert len(units) == 9
    assert applier.apply_batch(subscriptions, units) == 9
    assert_read_models_match(migrated)
    assert searched(migrated, "kim") == ["kim"]
    assert searched(migrated, "again") == ["kim"]
    assert searched(migrated, "side", branch="side") == ["kim"]
    assert searched(migrated, "ann", branch="side") == []
    # Applied again (a redelivery), the batch changes nothing and says so.
    assert applier.apply_batch(subscriptions, units) == 9
    assert_read_models_match(migrated)


def test_a_batch_that_meets_a_failing_unit_writes_nothing_and_the_rest_goes_on(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    worker = delivery(migrated, batch_size=100)
    settle(worker)
    before = snapshot_all(migrated)
    write(store, "main", create(person("amy"), {"name": "Amy"}))
    poison(migrated, "zed")
    write(store, "main", create(person("zed"), {"name": "Zed"}))
    write(store, "main", create(person("joe"), {"name": "Joe"}))
    applier = SqlApplier(migrated, "batch")
    subscriptions = applier.subscriptions()
    units = group_units(
        SqlEventLog(migrated).read_after(subscriptions[0].checkpoint), complete=True
    )
    assert applier.apply_batch(subscriptions, units) == 0
    assert snapshot_all(migrated) == before  # rolled back whole, checkpoints included
    report = settle(worker)
    assert report.parked == 2  # Zed's commit, and Joe's (the store's diff still holds Zed)
    assert searched(migrated, "amy") == ["amy"]
    assert SqlReadModels(migrated).counts(DB, "main").counts["Person"] == 5
    assert_read_models_match(migrated, require_fresh=False)


def snapshot_all(database: SqlDatabase) -> dict[str, list[tuple[object, ...]]]:
    tables = (search_docs, class_counts, doc_lineage, projection_checkpoints)
    with database.read() as connection:
        return {
            table.name: sorted(tuple(row) for row in connection.execute(select(table)))
            for table in tables
        }


def test_a_poisoned_unit_is_parked_holds_its_branch_and_is_applied_by_dlq_retry(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    engine_under_test: EngineUnderTest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    worker = delivery(migrated)
    settle(worker)
    poison(migrated, "zed")
    write(store, "main", create(person("zed"), {"name": "Zed"}))
    # Later commits on the branch move through the store's diff, which still holds Zed.
    write(store, "main", create(person("amy"), {"name": "Amy"}))
    report = settle(worker)
    assert report.parked == 2
    assert report.failed == 4  # two failures each before the third attempt parks it
    letters = SqlDeadLetters(migrated, SqlApplier(migrated, "cli")).letters()
    assert [(letter.projection, letter.attempts) for letter in letters] == [("search", 3)] * 2
    assert "poisoned document" in letters[0].error
    # The other projections went on; search still reflects the commit before Zed.
    assert_read_models_match(migrated, require_fresh=False)
    assert SqlReadModels(migrated).counts(DB, "main").freshness.fresh
    assert not SqlReadModels(migrated).search(DB, "main", "amy").freshness.fresh

    still = run_cli(tmp_path, engine_under_test.url, monkeypatch, "dlq", "retry", "--all")
    assert still.exit_code == 1
    assert "failed: " in still.output
    cure(migrated)
    retried = run_cli(tmp_path, engine_under_test.url, monkeypatch, "dlq", "retry", "--all")
    assert retried.exit_code == 0, retried.output
    assert retried.output.count(": applied") == 2
    assert_read_models_match(migrated)
    assert searched(migrated, "zed") == ["zed"]
    listed = run_cli(tmp_path, engine_under_test.url, monkeypatch, "dlq", "list")
    assert "no parked dead letters" in listed.output


def test_a_letter_overtaken_by_a_later_unit_on_its_branch_is_superseded(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    worker = delivery(migrated)
    settle(worker)
    poison(migrated, "zed")
    write(store, "main", create(person("zed"), {"name": "Zed"}))
    assert settle(worker).parked == 1
    cure(migrated)
    write(store, "main", update(person("ann"), {"name": "Ann Again"}))
    settle(worker)
    assert_read_models_match(migrated)
    letters = SqlDeadLetters(migrated, SqlApplier(migrated, "cli"))
    [result] = letters.retry_all()
    assert result.outcome is RetryOutcome.SUPERSEDED
    assert_read_models_match(migrated)
    with migrated.read() as connection:
        resolution = connection.execute(select(dead_letters.c.resolution)).scalar_one()
    assert resolution == "superseded"


def test_search_ranks_by_terms_found_and_says_how_fresh_it_is(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    readers = SqlReadModels(migrated)
    stale = readers.search(DB, "main", "ann")
    assert (stale.hits, stale.freshness.commit_id) == ([], None)
    settle(delivery(migrated))
    write(store, "main", create(person("lee"), {"name": "Lee Ann Park"}))
    settle(delivery(migrated))

    found = readers.search(DB, "main", "ANN lee")
    assert [hit.doc_id for hit in found.hits] == ["ann", "lee"]
    assert [hit.matched_terms for hit in found.hits] == [2, 2]
    assert found.hits[0].rank > found.hits[1].rank  # "ann lee" is one run only in Ann's
    assert found.total == 2
    assert found.freshness.fresh
    assert [hit.doc_id for hit in readers.search(DB, "main", "서울").hits] == ["ann"]
    assert [hit.doc_id for hit in readers.search(DB, "main", "vip").hits] == ["bob"]
    assert [hit.doc_id for hit in readers.search(DB, "main", "ic").hits] == ["icn"]
    only_places = readers.search(DB, "main", "n", class_ids=["Place"])
    assert [hit.class_id for hit in only_places.hits] == ["Place"]
    assert readers.search(DB, "main", "100%").hits == []
    limited = readers.search(DB, "main", "e", limit=1)
    assert (len(limited.hits), limited.total) == (1, 4)
    with pytest.raises(NotFound):
        readers.search("nothing", "main", "x")
    with pytest.raises(NotFound):
        readers.search(DB, "nowhere", "x")
    with pytest.raises(ValidationFailed):
        readers.search(DB, "main", "   ")
    with pytest.raises(ValidationFailed):
        readers.search(DB, "main", "x", limit=0)


def test_status_reports_checkpoint_lag_and_each_branch_against_its_head(
    migrated: SqlDatabase,
    store: SqlVersionedStore,
    engine_under_test: EngineUnderTest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    before = {item.projection: item for item in projection_status(migrated)}
    assert before["search"].lag == 5  # DatabaseCreated and the seed commit's four events
    assert [b.fresh for b in before["search"].branches] == [False]
    settle(delivery(migrated))
    after = {item.projection: item for item in projection_status(migrated)}
    assert {name: item.lag for name, item in after.items()} == {
        "counts": 0,
        "lineage": 0,
        "search": 0,
    }
    assert [b.fresh for b in after["lineage"].branches] == [True]
    shown = run_cli(tmp_path, engine_under_test.url, monkeypatch, "projection", "status")
    assert shown.exit_code == 0, shown.output
    assert "search v1 (serving)" in shown.output
    assert "lag 0 event(s)" in shown.output
    verified = run_cli(tmp_path, engine_under_test.url, monkeypatch, "projection", "verify")
    assert verified.exit_code == 0, verified.output


def test_lineage_names_the_commit_and_command_behind_each_document(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    changed = write(store, "main", update(person("ann"), {"age": 3}), command_id="cmd-ann")
    settle(delivery(migrated))
    with migrated.read() as connection:
        rows = MODELS["lineage"].snapshot(connection, Scope(1, 1, "main"))
    assert rows["instance:Person/ann"].command_id == "cmd-ann"
    assert rows["instance:Person/ann"].commit_id == changed.commit.commit_id
    assert rows["instance:Person/ann"].seq == 2
    assert rows["instance:Person/bob"].command_id == "cmd-seed"
    assert rows["class:Person"].seq == 1


def run_cli(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """`spice ...` in this process, on the test's database, with no other settings."""
    for key in list(os.environ):
        if key.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(key)
    (tmp_path / "config").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPICE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("DATABASE_URL", url)
    return CliRunner().invoke(app, list(args))


def test_the_rebuild_check_names_every_kind_of_drift(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    settle(delivery(migrated))
    assert_read_models_match(migrated)
    with migrated.transaction() as connection:
        connection.execute(
            sql_update(search_docs).where(search_docs.c.doc_id == "ann").values(text="wrong")
        )
        connection.execute(sql_update(class_counts).values(count=class_counts.c["count"] + 1))
        connection.execute(delete(doc_lineage).where(doc_lineage.c.doc_key == "class:Person"))
    store.create_branch(DB, "unseen", "main")
    problems = [str(problem) for problem in compare_with_rebuild(migrated, require_fresh=True)]
    assert any("search" in p and "different ('Person', 'ann')" in p for p in problems)
    assert any("counts" in p and "different Person" in p for p in problems)
    assert any("lineage" in p and "missing class:Person" in p for p in problems)
    assert any("'unseen': reflects None" in p for p in problems)


def test_reading_the_log_again_passes_parked_units_without_parking_them_twice(
    migrated: SqlDatabase, store: SqlVersionedStore
) -> None:
    worker = delivery(migrated)
    poison(migrated, "zed")
    write(store, "main", create(person("zed"), {"name": "Zed"}))
    assert settle(worker).parked == 1
    with migrated.transaction() as connection:
        connection.execute(sql_update(projection_checkpoints).values(tx_order=0, position=0))
    again = settle(worker)
    assert (again.parked, again.failed) == (0, 0)
    assert len(SqlDeadLetters(migrated, SqlApplier(migrated, "cli")).letters()) == 1
