"""Export and import of whole histories: same ids, branches, versions and hashes, both engines."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import (
    commit_parents,
    commits,
    doc_versions,
    events,
    timelines,
)
from spice_harvester.adapters.sql.versioned.exchange import (
    export_history,
    import_history,
    limits,
    read_history_file,
    state_hashes,
    write_history_file,
)
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.errors import (
    AlreadyExists,
    MalformedInput,
    NotFound,
    ValidationFailed,
)
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.merge import MergeOptions, Strategy
from spice_harvester.domain.versioning.model import CommitInfo, CommitRequest
from tests.integration.sql_engines import POOL, EngineUnderTest
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

pytestmark = pytest.mark.filterwarnings("error")

SOURCE = "ontology"
COPY = "ontology_copy"
PERSON = DocRef.of_class("Person")
PLACE = DocRef.of_class("Place")


def person(doc_id: str) -> DocRef:
    return DocRef.of_instance("Person", doc_id)


def place(doc_id: str) -> DocRef:
    return DocRef.of_instance("Place", doc_id)


def write(
    store: SqlVersionedStore,
    branch: str,
    *changes: Change,
    message: str = "change",
    command_id: str | None = None,
) -> CommitInfo:
    request = CommitRequest(branch, "미나", message, changes, command_id)
    return store.commit(SOURCE, request).commit


def create(ref: DocRef, data: dict[str, Any]) -> Change:
    return Change(ref, ChangeKind.CREATE, data)


def update(ref: DocRef, data: dict[str, Any], *unset: str) -> Change:
    return Change(ref, ChangeKind.UPDATE, data, unset=unset)


def remove(ref: DocRef) -> Change:
    return Change(ref, ChangeKind.DELETE)


def build_history(store: SqlVersionedStore) -> dict[str, str]:
    """Every kind of history the store can make; returns commits worth reading at."""
    store.create_database(SOURCE, "사람과 場所 🌶️", actor="創設者")
    write(
        store,
        "main",
        create(PERSON, {"label": {"ko": "사람", "ja": "人"}, "fields": ["name", "age"]}),
        create(PLACE, {"label": "장소 🗺️"}),
        message="Classes 클래스",
    )
    write(
        store,
        "main",
        create(person("kim"), {"name": "김민수", "age": 31, "tags": ["🌶️", "🧪"]}),
        create(person("yamada"), {"name": "山田太郎", "age": 40}),
        create(place("seoul"), {"name": "서울", "pop": 9.7}),
        message="People",
        command_id="cmd-people",
    )
    # Many documents in one commit, so small batch sizes split it.
    write(
        store,
        "main",
        *(create(person(f"p{n:02}"), {"name": f"人 {n}", "n": n}) for n in range(12)),
        message="Bulk",
    )
    write(store, "main", update(person("kim"), {"age": 32}, "tags"), message="Birthday")
    write(store, "main", remove(person("yamada")), message="Gone")
    write(store, "main", create(person("yamada"), {"name": "山田花子"}), message="Back again")

    store.create_branch(SOURCE, "feature", "main", description="機能 ✨")
    write(store, "feature", update(person("kim"), {"name": "Kim Minsu"}), message="Romanise")
    write(store, "feature", create(person("lee"), {"name": "이서연"}), message="Lee")
    write(store, "main", update(person("kim"), {"name": "김민수 (main)"}), message="Main edit")
    merged = store.merge(
        SOURCE,
        "feature",
        "main",
        author="미나",
        options=MergeOptions(strategy=Strategy.THEIRS),
    )
    assert merged.status == "merged"
    assert merged.resolved

    store.create_branch(SOURCE, "hotfix", "main")
    write(store, "hotfix", update(place("seoul"), {"pop": 9.4}), message="Fix population")
    forwarded = store.merge(SOURCE, "hotfix", "main", author="미나")
    assert forwarded.status == "fast_forward"
    # main now sits at hotfix's tip: this commit continues hotfix's timeline.
    reverted = write(store, "main", create(place("tokyo"), {"name": "東京"}), message="Tokyo")
    write(store, "hotfix", update(place("seoul"), {"note": "after"}), message="Hotfix later")
    write(store, "main", update(person("p03"), {"n": 300}), message="Three hundred")
    store.revert(SOURCE, "main", reverted.commit_id, author="미나")

    store.create_branch(SOURCE, "experiment", "main")
    write(store, "experiment", create(person("x1"), {"name": "x1"}), message="Try 1")
    write(store, "experiment", create(person("x2"), {"name": "x2"}), message="Try 2")
    store.reset_branch(SOURCE, "experiment", "experiment~1")
    write(store, "experiment", create(person("x3"), {"name": "x3 😀"}), message="Try 3")

    store.create_branch(SOURCE, "topic", "main")
    write(store, "topic", create(person("t1"), {"name": "토픽"}), message="Topic 1")
    write(store, "topic", update(person("p05"), {"n": 55}), message="Topic 2")
    write(store, "main", create(person("m1"), {"name": "메인"}), message="Main moves on")
    status, _, replayed = store.rebase(SOURCE, "topic", "main")
    assert (status, replayed) == ("rebased", 2)

    store.create_branch(SOURCE, "scratch", "main")
    scratch = write(store, "scratch", update(person("p01"), {"n": -1}), message="Scratch")
    store.delete_branch(SOURCE, "scratch")
    return {"reverted": reverted.commit_id, "scratch": scratch.commit_id}


READ_AT = ("main~2", "main~5", "main~5^2", "topic~1", "experiment~1")
DOCS = (PERSON, person("kim"), person("yamada"), person("p03"), place("seoul"), place("tokyo"))


def assert_same_history(
    one: SqlVersionedStore, other: SqlVersionedStore, notable: dict[str, str], name: str = SOURCE
) -> None:
    """What a reader can see of the two databases is the same, and both hashes check out."""
    first, second = one.get_database(SOURCE), other.get_database(name)
    assert (second.description, second.created_at, second.created_by) == (
        first.description,
        first.created_at,
        first.created_by,
    )
    assert other.list_branches(name) == one.list_branches(SOURCE)
    hashes = state_hashes(one, SOURCE)
    assert state_hashes(other, name) == hashes
    branch_names = [branch.name for branch in one.list_branches(SOURCE)]
    assert branch_names == ["experiment", "feature", "hotfix", "main", "topic"]
    refs = [*branch_names, *READ_AT, *notable.values()]
    for ref in refs:
        mine, theirs = one.resolve(SOURCE, ref), other.resolve(name, ref)
        assert _public(theirs) == _public(mine)
        assert other.recompute_state_hash(name, ref) == (mine.state_hash, mine.doc_count)
        assert [_public(c) for c in other.log(name, ref, limit=1000)[0]] == [
            _public(c) for c in one.log(SOURCE, ref, limit=1000)[0]
        ]
        for doc in DOCS:
            assert other.get(name, ref, doc, include_deleted=True) == one.get(
                SOURCE, ref, doc, include_deleted=True
            )
    for doc in DOCS:
        assert _versions(other, name, doc) == _versions(one, SOURCE, doc)
    for old, new in (("main~4", "main"), ("feature", "topic"), ("experiment", "hotfix")):
        assert _diff(other, name, old, new) == _diff(one, SOURCE, old, new)


def _public(info: CommitInfo) -> tuple[Any, ...]:
    # Timeline ids are storage details: the same history may get other ones elsewhere.
    return (info.as_dict(), info.generation, info.doc_count, info.pos)


def _versions(store: SqlVersionedStore, name: str, doc: DocRef) -> list[tuple[Any, ...]]:
    return [
        (v.state.seq, v.deleted, v.state.data, v.commit.commit_id)
        for v in store.history(name, "main", doc)
    ]


def _diff(store: SqlVersionedStore, name: str, old: str, new: str) -> tuple[Any, ...]:
    found = store.diff(name, old, new)
    changes = [(c.as_dict(), c.before, c.after) for c in found.changes]
    return found.from_commit, found.to_commit, found.merge_base, changes


def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records without what differs between two exports of one history."""
    header, *rest = copy.deepcopy(records)
    for volatile in ("exported_at", "engine", "database"):
        header.pop(volatile)
    return [header, *rest]


@contextmanager
def migrated_at(url: str) -> Iterator[SqlDatabase]:
    database = SqlDatabase(url, POOL)
    try:
        database.migrate()
        yield database
    finally:
        database.close()


@contextmanager
def another_database(engine: str, tmp_path: Path, label: str) -> Iterator[SqlDatabase]:
    """A second physical database on the given engine, migrated and empty."""
    if engine == "sqlite":
        with migrated_at(f"sqlite:///{tmp_path / label / 'spice.sqlite3'}") as database:
            yield database
        return
    with fresh_postgres_database() as url, migrated_at(url) as database:
        yield database


@pytest.fixture
def elsewhere(engine_under_test: EngineUnderTest, tmp_path: Path) -> Iterator[SqlDatabase]:
    with another_database(engine_under_test.name, tmp_path, "elsewhere") as database:
        yield database


@pytest.fixture
def source(migrated: SqlDatabase) -> SqlVersionedStore:
    return SqlVersionedStore(migrated)


@pytest.fixture
def notable(source: SqlVersionedStore) -> dict[str, str]:
    return build_history(source)


def rows_of(database: SqlDatabase, table: Any) -> int:
    with database.read() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", ["history.jsonl", "history.jsonl.gz"])
def test_an_imported_history_has_the_same_commits_branches_versions_and_hashes(
    source: SqlVersionedStore,
    notable: dict[str, str],
    migrated: SqlDatabase,
    elsewhere: SqlDatabase,
    tmp_path: Path,
    file_name: str,
) -> None:
    path = tmp_path / file_name
    header = write_history_file(migrated, SOURCE, path)
    assert header["counts"]["branches"] == 5
    assert not path.with_name(file_name + ".partial").exists()

    info = import_history(elsewhere, read_history_file(path), actor="복원")

    assert info.name == SOURCE
    copied = SqlVersionedStore(elsewhere)
    assert_same_history(source, copied, notable)
    assert comparable(list(export_history(elsewhere, SOURCE))) == comparable(
        list(read_history_file(path))
    )


def test_a_history_imported_under_a_new_name_keeps_its_commit_ids(
    source: SqlVersionedStore,
    notable: dict[str, str],
    migrated: SqlDatabase,
    elsewhere: SqlDatabase,
) -> None:
    info = import_history(elsewhere, export_history(migrated, SOURCE), name=COPY)

    assert info.name == COPY
    copied = SqlVersionedStore(elsewhere)
    assert_same_history(source, copied, notable, name=COPY)
    # The copy is an ordinary database: it takes new commits on every branch.
    write_result = copied.commit(
        COPY, CommitRequest("topic", "미나", "after import", (create(person("new"), {"n": 1}),))
    )
    assert write_result.commit.parents == (source.resolve(SOURCE, "topic").commit_id,)
    assert copied.recompute_state_hash(COPY, "topic") == (
        write_result.commit.state_hash,
        write_result.commit.doc_count,
    )


def test_the_log_of_a_copy_holds_the_original_document_events_and_says_where_it_came_from(
    notable: dict[str, str], migrated: SqlDatabase, elsewhere: SqlDatabase
) -> None:
    import_history(elsewhere, export_history(migrated, SOURCE), name=COPY, actor="복원")

    def logged(database: SqlDatabase) -> list[tuple[Any, ...]]:
        with database.read() as connection:
            rows = connection.execute(
                select(events.c.event_id, events.c.commit_id, events.c.seq)
                .add_columns(events.c.payload, events.c.branch, events.c.payload_hash)
                .where(events.c.aggregate_type.in_(["class", "instance"]))
                .order_by(events.c.position)
            )
            return [tuple(row) for row in rows]

    # Appended in the file's order (parents first), which need not be the original order.
    assert sorted(logged(elsewhere)) == sorted(logged(migrated))
    with elsewhere.read() as connection:
        lifecycle = connection.execute(
            select(events.c.event_type, events.c.aggregate_id, events.c.actor, events.c.payload)
            .where(events.c.aggregate_type.not_in(["class", "instance"]))
            .order_by(events.c.position)
        ).all()
    event_type, aggregate_id, actor, payload = lifecycle[0]
    assert (event_type, aggregate_id, actor) == ("DatabaseCreated", COPY, "복원")
    assert payload["imported_from"]["database"] == SOURCE
    # Then each branch's head, for consumers that follow branches (docs/design/0005).
    copied = SqlVersionedStore(elsewhere).list_branches(COPY)
    heads = {branch.name: branch.head for branch in copied}
    assert {row[1]: row[3]["head"] for row in lifecycle[1:]} == heads
    assert {row[0] for row in lifecycle[1:]} == {"BranchImported"}


def test_small_batches_give_the_same_copy(
    source: SqlVersionedStore,
    notable: dict[str, str],
    migrated: SqlDatabase,
    elsewhere: SqlDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shrink_batches(monkeypatch)

    import_history(elsewhere, export_history(migrated, SOURCE))

    assert_same_history(source, SqlVersionedStore(elsewhere), notable)


@pytest.mark.parametrize("tiny", [False, True], ids=["default-batches", "tiny-batches"])
def test_the_rebuilt_rows_equal_the_written_ones(
    notable: dict[str, str],
    migrated: SqlDatabase,
    elsewhere: SqlDatabase,
    monkeypatch: pytest.MonkeyPatch,
    tiny: bool,
) -> None:
    if tiny:
        shrink_batches(monkeypatch)

    import_history(elsewhere, export_history(migrated, SOURCE))

    assert stored_rows(elsewhere) == stored_rows(migrated)


@pytest.mark.parametrize("seed", range(6))
def test_random_histories_come_back_row_for_row(
    migrated: SqlDatabase,
    elsewhere: SqlDatabase,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    if seed % 2:
        shrink_batches(monkeypatch)
    original = SqlVersionedStore(migrated)
    random_history(original, random.Random(seed))

    import_history(elsewhere, export_history(migrated, SOURCE))

    copied = SqlVersionedStore(elsewhere)
    assert stored_rows(elsewhere) == stored_rows(migrated)
    for branch, state in state_hashes(copied, SOURCE).items():
        assert state == original.state_hash(SOURCE, branch)
        assert copied.recompute_state_hash(SOURCE, branch)[0] == state


def random_history(store: SqlVersionedStore, rng: random.Random, steps: int = 40) -> None:
    """Writes, branches, merges both ways and resets, chosen at random over a few keys, so
    that versions land on many timelines and supersede each other across forks."""
    store.create_database(SOURCE)
    keys = [person(f"k{n}") for n in range(6)]
    names = ["main"]
    for step in range(steps):
        action = rng.choice(["write", "write", "write", "branch", "merge", "reset"])
        branch = rng.choice(names)
        if action == "branch" and len(names) < 5:
            name = f"b{step}"
            store.create_branch(SOURCE, name, branch)
            names.append(name)
        elif action == "merge" and len(names) > 1:
            source_branch = rng.choice([n for n in names if n != branch])
            strategy = rng.choice([Strategy.OURS, Strategy.THEIRS])
            store.merge(
                SOURCE, source_branch, branch, author="r", options=MergeOptions(strategy=strategy)
            )
        elif action == "reset" and branch != "main":
            if store.resolve(SOURCE, branch).parents:
                store.reset_branch(SOURCE, branch, f"{branch}~1")
        else:
            changes = []
            for key in rng.sample(keys, rng.randint(1, 3)):
                exists = store.get(SOURCE, branch, key) is not None
                if exists and rng.random() < 0.3:
                    changes.append(remove(key))
                elif exists and rng.random() < 0.5:
                    changes.append(update(key, {"v": step}, *rng.sample(["a", "b"], 1)))
                else:
                    data = {"v": step, rng.choice(["a", "b"]): rng.randint(0, 3)}
                    changes.append(Change(key, ChangeKind.REPLACE, data))
            write(store, branch, *changes, message=f"step {step}")


def shrink_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny limits make every flush path run: early flushes on reads, parents read back
    # from the table after the in-memory placements are forgotten, timelines in batches.
    monkeypatch.setattr(limits, "EXPORT_BATCH", 2)
    monkeypatch.setattr(limits, "FLUSH_ROWS", 3)
    monkeypatch.setattr(limits, "PLACED_LIMIT", 4)
    monkeypatch.setattr(limits, "CHUNK", 2)


def stored_rows(database: SqlDatabase) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the versioned store's tables but the log, with timelines numbered in
    creation order (as the export numbers them); the database holds one history."""
    dv, tl, cp, c = doc_versions.c, timelines.c, commit_parents.c, commits.c
    with database.read() as connection:
        lines = connection.execute(
            select(
                tl.timeline_id, tl.parent_timeline_id, tl.fork_pos, tl.depth, tl.tip_pos
            ).order_by(tl.timeline_id)
        ).all()
        number = {row.timeline_id: n for n, row in enumerate(lines, start=1)}
        number[None] = 0

        def renumbered(rows: Any, *columns: int) -> list[tuple[Any, ...]]:
            return sorted(
                tuple(number[v] if i in columns else v for i, v in enumerate(row)) for row in rows
            )

        return {
            "timelines": renumbered(lines, 0, 1),
            "commits": renumbered(
                connection.execute(
                    select(c.commit_id, c.timeline_id, c.pos, c.generation, c.author)
                    .add_columns(c.message, c.created_at, c.command_id, c.request_hash)
                    .add_columns(c.state_hash, c.doc_count)
                ),
                1,
            ),
            "commit_parents": renumbered(
                connection.execute(
                    select(cp.commit_id, cp.idx, cp.parent_id, cp.parent_timeline_id).add_columns(
                        cp.parent_pos, cp.child_timeline_id, cp.child_pos
                    )
                ),
                3,
                5,
            ),
            "doc_versions": renumbered(
                connection.execute(
                    select(dv.timeline_id, dv.pos, dv.doc_key, dv.seq, dv.deleted, dv.data)
                    .add_columns(dv.doc_hash, dv.commit_id, dv.valid_to, dv.class_id)
                    .add_columns(dv.doc_id, dv.doc_type)
                ),
                0,
            ),
        }


@pytest.mark.postgres
@pytest.mark.skipif(SKIP_POSTGRES, reason="SPICE_TEST_SKIP_POSTGRES=1")
def test_a_history_moves_from_sqlite_to_postgresql_and_back(tmp_path: Path) -> None:
    with (
        another_database("sqlite", tmp_path, "first") as first,
        another_database("postgresql", tmp_path, "second") as second,
        another_database("sqlite", tmp_path, "third") as third,
    ):
        original = SqlVersionedStore(first)
        notable = build_history(original)
        write_history_file(first, SOURCE, tmp_path / "from-sqlite.jsonl.gz")
        import_history(second, read_history_file(tmp_path / "from-sqlite.jsonl.gz"))
        write_history_file(second, SOURCE, tmp_path / "from-postgresql.jsonl")
        import_history(third, read_history_file(tmp_path / "from-postgresql.jsonl"), name=COPY)

        assert_same_history(original, SqlVersionedStore(second), notable)
        assert_same_history(original, SqlVersionedStore(third), notable, name=COPY)
        exported = [
            comparable(list(read_history_file(tmp_path / name)))
            for name in ("from-sqlite.jsonl.gz", "from-postgresql.jsonl")
        ]
        assert exported[0] == exported[1]


# -- refusals ------------------------------------------------------------------------------

Records = list[dict[str, Any]]


def _commit_with_events(records: Records, at_least: int = 1) -> dict[str, Any]:
    return next(r for r in records if r["type"] == "commit" and len(r["events"]) >= at_least)


def _change_a_value(records: Records) -> str:
    commit = next(r for r in records if r["type"] == "commit" and r["message"] == "Birthday")
    commit["events"][0]["payload"]["set"]["age"] = 33
    return str(commit["commit_id"])


def _drop_an_event(records: Records) -> str:
    commit = _commit_with_events(records, at_least=2)
    del commit["events"][1]
    return str(commit["commit_id"])


def _change_a_state_hash(records: Records) -> str:
    commit = _commit_with_events(records)
    commit["state_hash"] = "f" * 64
    return str(commit["commit_id"])


def _change_a_seq(records: Records) -> str:
    commit = next(r for r in records if r["type"] == "commit" and r["message"] == "Gone")
    commit["events"][0]["seq"] += 1
    return str(commit["commit_id"])


def _change_a_timestamp(records: Records) -> str:
    commit = next(r for r in records if r["type"] == "commit" and r["message"] == "Lee")
    commit["created_at"] = commit["created_at"].replace("+00:00", "+00:01")
    return str(commit["commit_id"])


@pytest.mark.parametrize(
    "tamper",
    [_change_a_value, _drop_an_event, _change_a_state_hash, _change_a_seq, _change_a_timestamp],
    ids=["changed-value", "dropped-event", "changed-state-hash", "changed-seq", "changed-time"],
)
def test_a_tampered_history_is_refused_naming_the_commit_and_leaves_nothing_behind(
    notable: dict[str, str],
    migrated: SqlDatabase,
    elsewhere: SqlDatabase,
    tmp_path: Path,
    tamper: Callable[[Records], str],
) -> None:
    path = tmp_path / "history.jsonl"
    write_history_file(migrated, SOURCE, path)
    records = list(read_history_file(path))
    commit_id = tamper(records)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )

    with pytest.raises(ValidationFailed, match=commit_id):
        import_history(elsewhere, read_history_file(path))

    with pytest.raises(NotFound):
        SqlVersionedStore(elsewhere).get_database(SOURCE)
    for table in (commits, timelines, doc_versions, events):
        assert rows_of(elsewhere, table) == 0


def test_a_history_cut_short_is_refused(
    notable: dict[str, str], migrated: SqlDatabase, elsewhere: SqlDatabase
) -> None:
    records = [r for r in export_history(migrated, SOURCE) if r.get("name") != "topic"]

    with pytest.raises(ValidationFailed, match="5 branches, the file has 4"):
        import_history(elsewhere, records)

    assert SqlVersionedStore(elsewhere).list_databases() == []


def test_importing_under_a_taken_name_raises_already_exists(
    notable: dict[str, str], migrated: SqlDatabase, elsewhere: SqlDatabase
) -> None:
    copied = SqlVersionedStore(elsewhere)
    copied.create_database(SOURCE)

    with pytest.raises(AlreadyExists, match=SOURCE):
        import_history(elsewhere, export_history(migrated, SOURCE))

    assert [db.name for db in copied.list_databases()] == [SOURCE]


def test_a_copy_next_to_its_original_shares_its_commit_ids_and_event_ids(
    source: SqlVersionedStore, notable: dict[str, str], migrated: SqlDatabase
) -> None:
    records = list(export_history(migrated, SOURCE))

    import_history(migrated, records, name=COPY)

    assert state_hashes(source, COPY) == state_hashes(source, SOURCE)
    copied, _ = source.log(COPY, "main", limit=500)
    original, _ = source.log(SOURCE, "main", limit=500)
    assert [c.commit_id for c in copied] == [c.commit_id for c in original]
    with migrated.read() as connection:
        pairs = connection.execute(
            select(events.c.db_name, func.count())
            .where(events.c.aggregate_type.in_(["class", "instance"]))
            .group_by(events.c.db_name)
        ).all()
    counted: dict[str, int] = {name: count for name, count in pairs}
    assert counted[COPY] == counted[SOURCE]


@pytest.mark.parametrize(
    ("first_line", "complaint"),
    [
        ('{"type": "header", "format": "other", "version": 1}', "not a spice-history file"),
        ('{"type": "header", "format": "spice-history", "version": 2}', "version 2"),
        ('{"type": "commit"}', "starts with its header"),
        ("not json", "line 1: not JSON"),
        ("[1, 2]", "line 1: a record must be an object"),
    ],
    ids=["other-format", "newer-version", "no-header", "not-json", "not-an-object"],
)
def test_a_file_that_is_not_a_history_is_refused_before_anything_is_written(
    tmp_path: Path, first_line: str, complaint: str
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text(first_line + "\n", encoding="utf-8")
    with migrated_at(f"sqlite:///{tmp_path / 'db' / 'spice.sqlite3'}") as database:
        with pytest.raises(MalformedInput, match=complaint):
            import_history(database, read_history_file(path))

        assert rows_of(database, commits) == 0
