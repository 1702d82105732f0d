"""The versioned store's contract, run unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    Forbidden,
    IdempotencyMismatch,
    MalformedInput,
    MergeConflict,
    NotFound,
    ValidationFailed,
)
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.merge import MergeOptions, Resolution, Strategy
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.ports.registry import LogCheckpoint
from tests.integration.store_helpers import (
    DB,
    create,
    data_at,
    person,
    remove,
    update,
    write,
)


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlVersionedStore:
    created = SqlVersionedStore(migrated, protected_branches=["release"])
    created.create_database(DB, "test database", actor="admin")
    return created


def heads(store: SqlVersionedStore) -> dict[str, str]:
    return {branch.name: branch.head for branch in store.list_branches(DB)}


# -- databases and commits -------------------------------------------------------------


def test_a_new_database_has_a_protected_main_with_one_commit(store: SqlVersionedStore) -> None:
    [main] = store.list_branches(DB)
    assert (main.name, main.protected) == ("main", True)
    commits, total = store.log(DB, "main")
    assert total == 1
    assert commits[0].commit_id == main.head
    assert commits[0].parents == ()
    assert store.get_database(DB).description == "test database"
    with pytest.raises(AlreadyExists):
        store.create_database(DB)


def test_a_write_is_one_commit_with_versions_and_events(store: SqlVersionedStore) -> None:
    result = write(
        store,
        "main",
        create(person("p1"), {"name": "김민수", "note": "東京 🚚"}),
        create(person("p2"), {"name": "Lee"}),
        message="two people",
        author="alice",
    )
    assert result.versions == {"instance:Person/p1": 1, "instance:Person/p2": 1}
    assert [event.event_type for event in result.events] == ["InstanceCreated"] * 2
    commit = store.resolve(DB, "main")
    assert commit.commit_id == result.commit.commit_id
    assert (commit.author, commit.message) == ("alice", "two people")
    assert len(commit.parents) == 1
    assert data_at(store, "main", person("p1")) == {"name": "김민수", "note": "東京 🚚"}
    assert store.count(DB, "main", "instance", "Person") == 2


def test_updates_merge_fields_and_bump_the_version(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"name": "Kim", "age": 30}))
    result = write(
        store,
        "main",
        Change(person("p1"), ChangeKind.UPDATE, {"age": 31}, unset=("name",), expected_seq=1),
    )
    assert result.versions == {"instance:Person/p1": 2}
    state = store.get(DB, "main", person("p1"))
    assert state is not None
    assert (state.seq, state.data) == (2, {"age": 31})


def test_a_stale_expected_seq_writes_nothing(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"name": "Kim"}))
    before = store.resolve(DB, "main")
    with pytest.raises(ConcurrencyConflict) as caught:
        write(
            store,
            "main",
            create(person("p2x"), {"a": 1}, expected_seq=0),
            update(person("p1"), {"name": "Park"}, expected_seq=5),
        )
    assert caught.value.data == {
        "aggregate_id": "instance:Person/p1",
        "expected_seq": 5,
        "actual_seq": 1,
    }
    assert store.resolve(DB, "main") == before
    assert data_at(store, "main", person("p1")) == {"name": "Kim"}
    assert data_at(store, "main", person("p2x")) is None


def test_create_of_an_existing_id_and_update_of_a_missing_one_are_refused(
    store: SqlVersionedStore,
) -> None:
    write(store, "main", create(person("p1"), {"name": "Kim"}))
    with pytest.raises(AlreadyExists):
        write(store, "main", create(person("p1"), {"name": "Again"}))
    with pytest.raises(NotFound):
        write(store, "main", update(person("nobody"), {"name": "x"}))
    with pytest.raises(AlreadyExists):
        write(store, "main", create(person("p9"), {}), create(person("p9"), {}))
    assert store.count(DB, "main") == 1


def test_deletes_are_tombstones_and_a_recreate_continues_the_sequence(
    store: SqlVersionedStore,
) -> None:
    write(store, "main", create(person("p1"), {"name": "Kim"}))
    write(store, "main", remove(person("p1"), expected_seq=1))
    assert store.get(DB, "main", person("p1")) is None
    tombstone = store.get(DB, "main", person("p1"), include_deleted=True)
    assert tombstone is not None
    assert (tombstone.seq, tombstone.data) == (2, None)
    assert store.list_docs(DB, "main", "instance", "Person").total == 0
    again = write(store, "main", create(person("p1"), {"name": "Kim II"}, expected_seq=2))
    assert again.versions == {"instance:Person/p1": 3}
    assert data_at(store, "main~2", person("p1")) == {"name": "Kim"}


def test_history_lists_every_version_newest_first(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"v": 1}), author="a")
    write(store, "main", update(person("p1"), {"v": 2}), author="b")
    write(store, "main", remove(person("p1")), author="c")
    versions = store.history(DB, "main", person("p1"))
    assert [(v.state.seq, v.deleted, v.commit.author) for v in versions] == [
        (3, True, "c"),
        (2, False, "b"),
        (1, False, "a"),
    ]
    assert versions[1].state.data == {"v": 2}


def test_the_same_command_twice_returns_the_original_commit(store: SqlVersionedStore) -> None:
    first = write(store, "main", create(person("p1"), {"n": 1}), command_id="cmd-1")
    second = write(store, "main", create(person("p1"), {"n": 1}), command_id="cmd-1")
    assert second.replayed
    assert second.commit.commit_id == first.commit.commit_id
    assert second.versions == first.versions
    assert store.log(DB, "main")[1] == 2
    with pytest.raises(IdempotencyMismatch):
        write(store, "main", create(person("p1"), {"n": 2}), command_id="cmd-1")


def test_an_event_id_reused_with_another_payload_is_refused(store: SqlVersionedStore) -> None:
    first = write(store, "main", create(person("p1"), {"n": 1}, event_id="evt-1"))
    again = write(store, "main", create(person("p1"), {"n": 1}, event_id="evt-1"))
    assert again.commit.commit_id == first.commit.commit_id
    with pytest.raises(IdempotencyMismatch, match="evt-1"):
        write(store, "main", create(person("p2"), {"n": 1}, event_id="evt-1"))


def test_list_pages_in_key_order(store: SqlVersionedStore) -> None:
    write(store, "main", *(create(person(f"p{i:02d}"), {"i": i}) for i in range(25)))
    write(store, "main", create(DocRef.of_class("Person"), {"label": "Person"}))
    page = store.list_docs(DB, "main", "instance", "Person", limit=10, offset=20)
    assert page.total == 25
    assert [state.ref.doc_id for state in page.items] == [f"p{i:02d}" for i in range(20, 25)]
    assert store.count(DB, "main", "class") == 1


# -- branches and time travel ----------------------------------------------------------


def test_a_branch_sees_its_base_at_the_fork_and_never_later_changes(
    store: SqlVersionedStore,
) -> None:
    write(store, "main", create(person("p1"), {"name": "Kim"}))
    fork = store.resolve(DB, "main")
    branch = store.create_branch(DB, "feature", "main", actor="bob", description="try")
    assert (branch.head, branch.fork_commit, branch.from_branch) == (
        fork.commit_id,
        fork.commit_id,
        "main",
    )
    assert store.log(DB, "main")[1] == 2  # creating a branch made no commit
    write(store, "main", update(person("p1"), {"name": "Main"}), create(person("p2"), {}))
    write(store, "feature", update(person("p1"), {"city": "Seoul"}))
    assert data_at(store, "feature", person("p1")) == {"name": "Kim", "city": "Seoul"}
    assert data_at(store, "feature", person("p2")) is None
    assert data_at(store, "main", person("p1")) == {"name": "Main"}
    assert store.count(DB, "feature", "instance") == 1


def test_branches_can_start_from_a_commit_or_a_ref(store: SqlVersionedStore) -> None:
    first = write(store, "main", create(person("p1"), {"v": 1})).commit
    write(store, "main", update(person("p1"), {"v": 2}))
    store.create_branch(DB, "old", first.commit_id[:8])
    store.create_branch(DB, "prev", "main~1")
    assert data_at(store, "old", person("p1")) == {"v": 1}
    assert data_at(store, "prev", person("p1")) == {"v": 1}
    assert store.get_branch(DB, "old").from_branch is None
    with pytest.raises(AlreadyExists):
        store.create_branch(DB, "old")
    with pytest.raises(MalformedInput):
        store.create_branch(DB, "bad name!")
    with pytest.raises(NotFound):
        store.create_branch(DB, "x", "no-such-branch")


def test_refs_walk_first_parents_and_numbered_parents(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"v": 1}), message="one")
    write(store, "main", update(person("p1"), {"v": 2}), message="two")
    write(store, "main", update(person("p1"), {"v": 3}), message="three")
    assert store.resolve(DB, "main~2").message == "one"
    assert store.resolve(DB, "HEAD~1", branch="main").message == "two"
    assert store.resolve(DB, "main^").message == "two"
    head = store.resolve(DB, "main")
    assert store.resolve(DB, head.commit_id[:10]) == head
    with pytest.raises(NotFound):
        store.resolve(DB, "main~10")
    with pytest.raises(MalformedInput):
        store.resolve(DB, "main~x")


def test_deleting_branches_respects_protection(store: SqlVersionedStore) -> None:
    store.create_branch(DB, "scratch")
    store.create_branch(DB, "release")
    store.delete_branch(DB, "scratch")
    assert set(heads(store)) == {"main", "release"}
    with pytest.raises(Forbidden):
        store.delete_branch(DB, "main")
    with pytest.raises(Forbidden):
        store.delete_branch(DB, "release")
    with pytest.raises(NotFound):
        store.delete_branch(DB, "scratch")


def test_reset_moves_a_head_back_and_keeps_the_commits_readable(
    store: SqlVersionedStore,
) -> None:
    store.create_branch(DB, "work")
    write(store, "work", create(person("p1"), {"v": 1}))
    dropped = write(store, "work", update(person("p1"), {"v": 2})).commit
    store.reset_branch(DB, "work", "HEAD~1")
    assert data_at(store, "work", person("p1")) == {"v": 1}
    assert data_at(store, dropped.commit_id, person("p1")) == {"v": 2}
    write(store, "work", update(person("p1"), {"v": 3}))
    assert data_at(store, "work", person("p1")) == {"v": 3}
    with pytest.raises(Forbidden):
        store.reset_branch(DB, "main", "HEAD~1")


# -- diff and merge --------------------------------------------------------------------


def test_diff_is_field_level_and_counts_documents(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"a": 1, "b": 2}), create(person("p2"), {"a": 1}))
    store.create_branch(DB, "feature")
    write(
        store,
        "feature",
        update(person("p1"), {"a": 9, "c": 3}, unset=("b",)),
        remove(person("p2")),
        create(person("p3"), {"a": 3}),
    )
    diff = store.diff(DB, "main", "feature")
    assert diff.summary == {"added": 1, "modified": 1, "deleted": 1}
    modified = next(change for change in diff.changes if change.change == "modified")
    assert [(f.field, f.change.value, f.before, f.after) for f in modified.fields] == [
        ("a", "modified", 1, 9),
        ("b", "deleted", 2, None),
        ("c", "added", None, 3),
    ]
    assert store.diff(DB, "feature", "feature").changes == []


def test_a_fast_forward_merge_moves_only_the_head(store: SqlVersionedStore) -> None:
    store.create_branch(DB, "feature")
    write(store, "feature", create(person("p1"), {"v": 1}))
    source = store.resolve(DB, "feature")
    commits_before = store.log(DB, "feature")[1]
    result = store.merge(DB, "feature", "main", author="alice")
    assert result.status == "fast_forward"
    assert store.resolve(DB, "main") == source
    assert store.log(DB, "main")[1] == commits_before
    again = store.merge(DB, "feature", "main", author="alice")
    assert again.status == "up_to_date"


def test_a_three_way_merge_makes_a_commit_with_two_parents(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"a": 1, "b": 1}))
    store.create_branch(DB, "feature")
    write(store, "feature", update(person("p1"), {"a": 2}), create(person("p2"), {}))
    write(store, "main", update(person("p1"), {"b": 2}))
    target_head = store.resolve(DB, "main")
    result = store.merge(DB, "feature", "main", author="alice", message="merge it")
    assert result.status == "merged"
    merged = store.resolve(DB, "main")
    assert merged.parents == (target_head.commit_id, store.resolve(DB, "feature").commit_id)
    assert merged.message == "merge it"
    assert data_at(store, "main", person("p1")) == {"a": 2, "b": 2}
    assert data_at(store, "main", person("p2")) == {}
    assert (
        store.merge_base(DB, "main", "feature").commit_id == store.resolve(DB, "feature").commit_id
    )
    assert store.resolve(DB, "main^2") == store.resolve(DB, "feature")


def conflicting_history(store: SqlVersionedStore) -> None:
    write(
        store,
        "main",
        create(person("p1"), {"name": "base", "x": 0}),
        create(person("p2"), {"name": "keep"}),
    )
    store.create_branch(DB, "feature")
    write(
        store,
        "feature",
        update(person("p1"), {"name": "source"}),
        remove(person("p2")),
        create(person("p3"), {"v": "s"}),
    )
    write(
        store,
        "main",
        update(person("p1"), {"name": "target", "x": 1}),
        update(person("p2"), {"name": "changed"}),
        create(person("p3"), {"v": "t"}),
    )


def test_conflicts_come_back_structured_and_nothing_is_written(
    store: SqlVersionedStore,
) -> None:
    conflicting_history(store)
    before = store.resolve(DB, "main")
    with pytest.raises(MergeConflict) as caught:
        store.merge(DB, "feature", "main", author="alice")
    conflicts = {c["path"]: c for c in caught.value.conflicts}
    assert set(conflicts) == {
        "instances/Person/p1/name",
        "instances/Person/p2",
        "instances/Person/p3/v",
    }
    assert conflicts["instances/Person/p1/name"] | {} == {
        "path": "instances/Person/p1/name",
        "doc_type": "instance",
        "class_id": "Person",
        "id": "p1",
        "field": "name",
        "kind": "field",
        "base": "base",
        "source": "source",
        "target": "target",
        "options": ["source", "target", "value"],
    }
    assert conflicts["instances/Person/p2"]["kind"] == "delete_modify"
    assert conflicts["instances/Person/p3/v"]["kind"] == "both_created"
    assert store.resolve(DB, "main") == before


def test_ours_keeps_the_target_and_theirs_takes_the_source(store: SqlVersionedStore) -> None:
    conflicting_history(store)
    store.create_branch(DB, "main2", "main")
    store.merge(DB, "feature", "main", author="a", options=MergeOptions(Strategy.OURS))
    assert data_at(store, "main", person("p1")) == {"name": "target", "x": 1}
    assert data_at(store, "main", person("p2")) == {"name": "changed"}
    store.merge(DB, "feature", "main2", author="a", options=MergeOptions(Strategy.THEIRS))
    assert data_at(store, "main2", person("p1")) == {"name": "source", "x": 1}
    assert data_at(store, "main2", person("p2")) is None
    assert data_at(store, "main2", person("p3")) == {"v": "s"}


def test_explicit_resolutions_decide_each_conflict(store: SqlVersionedStore) -> None:
    conflicting_history(store)
    resolutions = (
        Resolution("instances/Person/p1/name", "value", "agreed"),
        Resolution("instances/Person/p2", "source"),
        Resolution("instances/Person/p3/v", "target"),
    )
    result = store.merge(
        DB, "feature", "main", author="a", options=MergeOptions(resolutions=resolutions)
    )
    assert len(result.resolved) == 3
    assert data_at(store, "main", person("p1")) == {"name": "agreed", "x": 1}
    assert data_at(store, "main", person("p2")) is None
    assert data_at(store, "main", person("p3")) == {"v": "t"}


def test_a_partial_or_unknown_resolution_is_refused(store: SqlVersionedStore) -> None:
    conflicting_history(store)
    with pytest.raises(MergeConflict) as caught:
        store.merge(
            DB,
            "feature",
            "main",
            author="a",
            options=MergeOptions(resolutions=(Resolution("instances/Person/p2", "target"),)),
        )
    assert len(caught.value.conflicts) == 2
    with pytest.raises(ValidationFailed, match="no conflict at"):
        store.merge(
            DB,
            "feature",
            "main",
            author="a",
            options=MergeOptions(Strategy.OURS, (Resolution("instances/Person/zz", "target"),)),
        )


def test_revert_undoes_one_commit_with_a_new_commit(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"a": 1, "b": 1}))
    bad = write(store, "main", update(person("p1"), {"a": 2}), create(person("p2"), {})).commit
    write(store, "main", update(person("p1"), {"b": 2}))
    reverted = store.revert(DB, "main", bad.commit_id, author="ops")
    assert reverted.message.startswith("Revert")
    assert data_at(store, "main", person("p1")) == {"a": 1, "b": 2}
    assert data_at(store, "main", person("p2")) is None
    assert store.log(DB, "main")[1] == 5


def test_a_revert_that_meets_a_later_change_conflicts(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"a": 1}))
    bad = write(store, "main", update(person("p1"), {"a": 2})).commit
    write(store, "main", update(person("p1"), {"a": 3}))
    with pytest.raises(MergeConflict):
        store.revert(DB, "main", bad.commit_id, author="ops")


def test_rebase_replays_the_branch_on_the_new_base(store: SqlVersionedStore) -> None:
    write(store, "main", create(person("p1"), {"a": 1}))
    store.create_branch(DB, "feature")
    write(store, "feature", update(person("p1"), {"b": 1}), message="b")
    write(store, "feature", create(person("p2"), {}), message="p2")
    write(store, "main", update(person("p1"), {"c": 1}), message="c")
    status, head, count = store.rebase(DB, "feature", "main")
    assert (status, count) == ("rebased", 2)
    assert [c.message for c in store.log(DB, "feature")[0][:3]] == ["p2", "b", "c"]
    assert store.merge_base(DB, "feature", "main") == store.resolve(DB, "main")
    assert data_at(store, "feature", person("p1")) == {"a": 1, "b": 1, "c": 1}
    assert store.merge(DB, "feature", "main", author="a").status == "fast_forward"
    assert store.resolve(DB, "main") == head
    with pytest.raises(Forbidden):
        store.rebase(DB, "main", "feature")


def test_the_state_hash_matches_a_recount_after_any_history(store: SqlVersionedStore) -> None:
    conflicting_history(store)
    store.merge(DB, "feature", "main", author="a", options=MergeOptions(Strategy.THEIRS))
    write(store, "main", remove(person("p1")))
    for ref in ("main", "feature", "main~1", "main~2"):
        recomputed, count = store.recompute_state_hash(DB, ref)
        commit = store.resolve(DB, ref)
        assert (recomputed, count) == (commit.state_hash, commit.doc_count)
    store.create_branch(DB, "same")
    assert store.state_hash(DB, "same") == store.state_hash(DB, "main")


def test_deleting_a_database_checks_its_version(store: SqlVersionedStore) -> None:
    with pytest.raises(ConcurrencyConflict):
        store.delete_database(DB, expected_seq=7)
    store.delete_database(DB, expected_seq=store.get_database(DB).seq)
    with pytest.raises(NotFound):
        store.get_database(DB)
    assert store.list_databases() == []


def test_concurrent_writers_with_the_same_expected_seq_have_one_winner(
    store: SqlVersionedStore,
) -> None:
    write(store, "main", create(person("p1"), {"n": 0}))
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        start.wait()
        try:
            write(store, "main", update(person("p1"), {"n": n}, expected_seq=1))
            outcomes.append("won")
        except ConcurrencyConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["won"]
    state = store.get(DB, "main", person("p1"))
    assert state is not None
    assert state.seq == 2


def test_a_branch_committing_first_never_pushes_main_onto_a_deeper_line(
    store: SqlVersionedStore,
) -> None:
    root = store.resolve(DB, "main")
    for n in range(3):
        store.create_branch(DB, f"early{n}")
        write(store, f"early{n}", create(person(f"b{n}"), {}))
        write(store, "main", create(person(f"m{n}"), {}))
    # Main kept appending to its own timeline: its reads stay one level deep.
    assert store.resolve(DB, "main").timeline_id == root.timeline_id
    assert store.resolve(DB, "early2").timeline_id != root.timeline_id


def test_a_dry_run_merge_reports_without_writing(store: SqlVersionedStore) -> None:
    conflicting_history(store)
    before = heads(store)
    with pytest.raises(MergeConflict):
        store.merge(DB, "feature", "main", author="a", options=MergeOptions(dry_run=True))
    preview = store.merge(
        DB, "feature", "main", author="a", options=MergeOptions(Strategy.THEIRS, dry_run=True)
    )
    assert (preview.status, preview.changed) == ("would_merge", 3)
    store.create_branch(DB, "ahead", "feature")
    write(store, "ahead", create(person("p9"), {}))
    assert (
        store.merge(DB, "ahead", "feature", author="a", options=MergeOptions(dry_run=True)).status
        == "fast_forward"
    )
    assert heads(store) == {**before, "ahead": store.resolve(DB, "ahead").commit_id}


def test_a_large_commit_stores_every_version_and_event_exactly(
    store: SqlVersionedStore, migrated: SqlDatabase
) -> None:
    """Large batches take another insert path on PostgreSQL (COPY): the same rows result."""
    people = [person(f"big{i:03d}") for i in range(300)]
    data = {"name": "김민수 \\ \t tab", "nested": {"a": [1, 2.5, None, True]}, "note": None}
    write(store, "main", *(create(ref, {**data, "n": i}) for i, ref in enumerate(people)))
    result = write(store, "main", *(remove(ref) for ref in people[:150]))

    assert store.count(DB, "main", "instance", "Person") == 150
    assert data_at(store, "main", people[200]) == {**data, "n": 200}
    assert data_at(store, "main~1", people[0]) == {**data, "n": 0}
    assert data_at(store, "main", people[0]) is None
    assert len(result.events) == 150
    assert store.recompute_state_hash(DB, "main") == (
        store.state_hash(DB, "main"),
        150,
    )
    history = store.history(DB, "main", people[0])
    assert [v.deleted for v in history] == [True, False]
    logged = SqlEventLog(migrated).read_after(LogCheckpoint.start(), limit=2000)
    created = [e for e in logged if e.event_type == "InstanceCreated"]
    assert len(created) == 300
    assert created[7].payload == {"data": {**data, "n": 7}}
    assert created[7].actor == "tester"


def test_a_head_moved_without_document_events_is_a_branch_event_and_not_a_write(
    store: SqlVersionedStore, migrated: SqlDatabase
) -> None:
    request = CommitRequest("main", "tester", "checkpoint", (), "cmd-empty", allow_empty=True)
    first = store.commit(DB, request)
    again = store.commit(DB, request)
    assert (first.events, again.events) == ((), ())
    assert again.replayed
    logged = SqlEventLog(migrated).read_after(LogCheckpoint.start())
    advanced = [event for event in logged if event.event_type == "BranchAdvanced"]
    assert [(event.branch, event.commit_id) for event in advanced] == [
        ("main", first.commit.commit_id)
    ]
    assert advanced[0].payload["to"] == first.commit.commit_id
