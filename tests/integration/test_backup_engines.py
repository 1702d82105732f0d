"""Backups taken while writers go on, restored across engines, and the replay check, on the
real engines (adapters/sql/backup)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner, Result

from spice_harvester.adapters.sql.api_keys import SqlApiKeys
from spice_harvester.adapters.sql.audit import SqlAuditLog
from spice_harvester.adapters.sql.backup import (
    Metadata,
    RestoreRequest,
    create_backup,
    restore_backup,
)
from spice_harvester.adapters.sql.backup.integrity import verify_database
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.meta_store import SqlMetaStore
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.adapters.sql.pull_requests import SqlPullRequests
from spice_harvester.adapters.sql.tables import branches, doc_versions, events
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.cli.main import app
from spice_harvester.domain.errors import AlreadyExists, ValidationFailed
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from tests.conftest import SETTING_PREFIXES
from tests.integration.projection_helpers import delivery, settle
from tests.integration.sql_engines import POOL
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

ALPHA, BETA = "alpha", "beta"
PG = pytest.mark.skipif(SKIP_POSTGRES, reason="SPICE_TEST_SKIP_POSTGRES=1")


def person(doc_id: str) -> DocRef:
    return DocRef.of_instance("Person", doc_id)


def commit(store: SqlVersionedStore, db: str, branch: str, *changes: Change) -> str:
    request = CommitRequest(branch, "tester", f"{len(changes)} change(s)", changes)
    return store.commit(db, request).commit.commit_id


def create(doc_id: str, **data: Any) -> Change:
    return Change(person(doc_id), ChangeKind.CREATE, data)


@contextmanager
def engine_url(engine: str, folder: Path) -> Iterator[str]:
    """An empty database of the engine, gone afterwards (the PostgreSQL one dropped)."""
    if engine == "postgresql":
        with fresh_postgres_database() as url:
            yield url
        return
    folder.mkdir()
    yield f"sqlite:///{folder / 'spice.sqlite3'}"


@contextmanager
def opened(url: str) -> Iterator[SqlDatabase]:
    database = SqlDatabase(url, POOL)
    try:
        database.migrate()
        yield database
    finally:
        database.close()


def load(database: SqlDatabase) -> str:
    """Two databases with history (a branch, a three-way merge, a delete, a branch left
    behind), a pull request, an API key, audit entries and a meta entry; the key's secret."""
    store = SqlVersionedStore(database)
    store.create_database(ALPHA, "the drill")
    person_class = Change(DocRef.of_class("Person"), ChangeKind.CREATE, {"label": "Person"})
    commit(store, ALPHA, "main", person_class, *(create(f"p{i}", n=i) for i in range(12)))
    store.create_branch(ALPHA, "feature")
    commit(store, ALPHA, "feature", Change(person("p1"), ChangeKind.UPDATE, {"city": "서울"}))
    commit(store, ALPHA, "feature", create("f1", n=100))
    commit(store, ALPHA, "main", Change(person("p2"), ChangeKind.UPDATE, {"n": 20}))
    commit(store, ALPHA, "main", Change(person("p3"), ChangeKind.DELETE))
    store.merge(ALPHA, "feature", "main", author="tester")
    store.create_branch(ALPHA, "stale", "feature~1")
    commit(store, ALPHA, "stale", create("s1"))
    store.create_database(BETA)
    commit(store, BETA, "main", create("b0"))
    SqlPullRequests(database).open(
        ALPHA, source="stale", target="main", title="stale work", description=None, author="t"
    )
    SqlMetaStore(database).put("installation", "drill")
    audit = SqlAuditLog(database)
    audit.append(service="bff", actor="admin", action="admin.rebuild", outcome="success")
    audit.append(service="oms", actor="ops", action="rollback", outcome="refused", details={"x": 1})
    issued = SqlApiKeys(database).create(
        name="reader", role="viewer", databases=[ALPHA], created_by="admin"
    )
    return issued.secret


class Writer(threading.Thread):
    """Keeps writing: a commit to alpha, then one to beta with the same number, then an audit
    entry, until stopped; `rounds` counts finished rounds."""

    def __init__(self, database: SqlDatabase) -> None:
        super().__init__(daemon=True)
        self.store = SqlVersionedStore(database)
        self.audit = SqlAuditLog(database)
        self.stop = threading.Event()
        self.rounds = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                number = self.rounds
                commit(self.store, ALPHA, "main", create(f"w{number}", round=number))
                commit(self.store, BETA, "main", create(f"w{number}", round=number))
                self.audit.append(service="oms", actor="writer", action="write", outcome="ok")
                self.rounds += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def finish(self) -> None:
        self.stop.set()
        self.join(30)
        assert self.error is None, self.error


class WaitForWriter:
    """A backup reporter that, once the snapshot is open, holds the backup until the writer
    has committed three more rounds: those must not be in the backup."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.rounds_during: int | None = None

    def begin(self, description: str, total: int | None) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        if self.rounds_during is not None:
            return
        start = self.writer.rounds
        waited = threading.Event()
        while self.writer.rounds < start + 3 and self.writer.error is None:
            waited.wait(0.01)
        self.rounds_during = self.writer.rounds - start


@dataclass
class Expected:
    """The source as the backup must have caught it, read before the source is dropped."""

    heads: dict[str, dict[str, str]]
    logs: dict[tuple[str, str], list[tuple[Any, ...]]] = field(default_factory=dict)
    documents: dict[tuple[str, str], list[tuple[str, Any]]] = field(default_factory=dict)
    audit: list[tuple[int, str]] = field(default_factory=list)
    pull_requests: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def capture(cls, database: SqlDatabase, metadata: Metadata) -> Expected:
        store = SqlVersionedStore(database)
        heads = {
            name: {branch: head.head for branch, head in entry.branch_heads.items()}
            for name, entry in metadata.databases.items()
        }
        found = cls(heads)
        for name, named in heads.items():
            for branch, head in named.items():
                found.logs[(name, branch)] = _log(store, name, head)
                found.documents[(name, branch)] = _documents(store, name, head)
        count = metadata.system.counts["audit_log"]
        entries = SqlAuditLog(database).query(limit=100_000)
        found.audit = sorted((e.entry_id, e.entry_hash) for e in entries)[:count]
        found.pull_requests = SqlPullRequests(database).list(ALPHA)
        return found


def _log(store: SqlVersionedStore, db: str, ref: str) -> list[tuple[Any, ...]]:
    commits, _ = store.log(db, ref, limit=10_000)
    return [
        (c.commit_id, c.parents, c.author, c.message, c.created_at, c.state_hash) for c in commits
    ]


def _documents(store: SqlVersionedStore, db: str, ref: str) -> list[tuple[str, Any]]:
    page = store.list_docs(db, ref, limit=10_000)
    return [(state.ref.key, state.data) for state in page.items]


ACROSS = [
    pytest.param("postgresql", "postgresql", id="postgresql-to-postgresql", marks=PG),
    pytest.param("sqlite", "postgresql", id="sqlite-to-postgresql", marks=PG),
    pytest.param("postgresql", "sqlite", id="postgresql-to-sqlite", marks=PG),
]


@pytest.mark.parametrize(("source_engine", "target_engine"), ACROSS)
def test_a_backup_taken_while_writing_restores_identically_after_the_database_is_dropped(
    source_engine: str, target_engine: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backup"
    with engine_url(source_engine, tmp_path / "source") as source_url, opened(source_url) as source:
        secret = load(source)
        writer = Writer(source)
        writer.start()
        waiting = WaitForWriter(writer)
        metadata = create_backup(source, folder, reporter=waiting)
        writer.finish()
        assert waiting.rounds_during is not None
        assert waiting.rounds_during >= 3
        expected = Expected.capture(source, metadata)
        # The writes made while the backup ran are in the source, not in the backup.
        assert (
            SqlVersionedStore(source).resolve(ALPHA, "main").commit_id
            != expected.heads[ALPHA]["main"]
        )
    # The source is gone (its PostgreSQL database dropped); restore into an empty one.
    with engine_url(target_engine, tmp_path / "target") as target_url, opened(target_url) as target:
        result = restore_backup(target, RestoreRequest(folder))
        store = SqlVersionedStore(target)
        assert sorted(item.name for item in result.databases) == [ALPHA, BETA]
        for name, entry in metadata.databases.items():
            for branch, head in entry.branch_heads.items():
                restored = store.resolve(name, branch)
                assert (restored.commit_id, restored.state_hash) == (head.head, head.state_hash)
                assert store.recompute_state_hash(name, branch) == (head.state_hash, head.documents)
                assert _log(store, name, branch) == expected.logs[(name, branch)]
                assert _documents(store, name, branch) == expected.documents[(name, branch)]
        # One snapshot for both databases: beta holds no round that alpha lacks.
        rounds = {name: _last_round(store, name) for name in (ALPHA, BETA)}
        assert rounds[ALPHA] - 1 <= rounds[BETA] <= rounds[ALPHA]
        # Read models equal a rebuild at once, and the worker finds nothing left to change.
        assert compare_with_rebuild(target, require_fresh=True) == []
        settle(delivery(target))
        assert compare_with_rebuild(target, require_fresh=True) == []
        for name in (ALPHA, BETA):
            assert verify_database(target, name, _quiet).problems == []
        audit = SqlAuditLog(target)
        assert audit.check().holds
        restored_entries = sorted((e.entry_id, e.entry_hash) for e in audit.query(limit=100_000))
        assert restored_entries[: len(expected.audit)] == expected.audit
        assert restored_entries[-1] != expected.audit[-1]  # the restore itself was recorded
        assert SqlApiKeys(target).authenticate(secret).name == "reader"
        assert SqlPullRequests(target).list(ALPHA) == expected.pull_requests
        meta = SqlMetaStore(target).get("installation")
        assert meta is not None
        assert meta.value == "drill"


def _last_round(store: SqlVersionedStore, db: str) -> int:
    rounds = [
        state.data["round"]
        for state in store.list_docs(db, "main", limit=10_000).items
        if state.data is not None and "round" in state.data
    ]
    return max(rounds, default=-1)


def _quiet(description: str, total: int | None) -> Any:
    return lambda amount: None


ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres, PG]),
]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_restore_replaces_a_database_only_when_asked_and_keeps_read_models_right(
    engine: str, tmp_path: Path
) -> None:
    with engine_url(engine, tmp_path / "db") as url, opened(url) as database:
        load(database)
        folder = tmp_path / "backup"
        metadata = create_backup(database, folder)
        store = SqlVersionedStore(database)
        commit(store, ALPHA, "main", create("later"))
        settle(delivery(database))  # read models of the database about to be replaced
        with pytest.raises(AlreadyExists, match=r"'alpha', 'beta' already exist here"):
            restore_backup(database, RestoreRequest(folder))
        restored = restore_backup(database, RestoreRequest(folder, [ALPHA], replace=True))
        assert [item.name for item in restored.databases] == [ALPHA]
        assert (
            store.resolve(ALPHA, "main").commit_id
            == metadata.databases[ALPHA].branch_heads["main"].head
        )
        assert store.get(ALPHA, "main", person("later")) is None
        # The replaced database's read models went with it; the new ones equal a rebuild.
        assert compare_with_rebuild(database, require_fresh=True) == []
        settle(delivery(database))
        assert compare_with_rebuild(database, require_fresh=True) == []
        assert SqlAuditLog(database).check().holds
        assert len(SqlPullRequests(database).list(ALPHA)) == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_a_restore_refuses_a_foreign_audit_chain_before_writing_anything(
    engine: str, tmp_path: Path
) -> None:
    with engine_url(engine, tmp_path / "source") as url, opened(url) as source:
        load(source)
        folder = tmp_path / "backup"
        create_backup(source, folder)
    with engine_url(engine, tmp_path / "target") as url, opened(url) as target:
        SqlAuditLog(target).append(service="bff", actor="x", action="other", outcome="ok")
        with pytest.raises(ValidationFailed, match="differ at entry 1: they are not one chain"):
            restore_backup(target, RestoreRequest(folder))
        assert SqlVersionedStore(target).list_databases() == []
        # Without the system tables the databases restore, and the chain here still holds.
        restore_backup(target, RestoreRequest(folder, system=False))
        assert [db.name for db in SqlVersionedStore(target).list_databases()] == [ALPHA, BETA]
        assert SqlAuditLog(target).check().holds


@pytest.mark.parametrize("engine", ENGINES)
def test_the_replay_names_a_row_changed_an_event_deleted_and_a_head_moved_behind_its_back(
    engine: str, tmp_path: Path
) -> None:
    with engine_url(engine, tmp_path / "db") as url, opened(url) as database:
        load(database)
        assert verify_database(database, ALPHA, _quiet).problems == []
        store = SqlVersionedStore(database)
        stale_head = store.resolve(ALPHA, "stale").commit_id
        fork = store.resolve(ALPHA, "stale~1").commit_id
        with database.transaction() as connection:
            connection.execute(
                update(branches)
                .where(branches.c.name == "stale", branches.c.head_commit == stale_head)
                .values(head_commit=fork)
            )
            connection.execute(
                update(doc_versions).where(doc_versions.c.doc_id == "p5").values(data={"n": 555})
            )
            newest = (
                select(func.max(events.c.position))
                .where(events.c.aggregate_id == person("p1").key)
                .scalar_subquery()
            )
            connection.execute(delete(events).where(events.c.position == newest))
        problems = verify_database(database, ALPHA, _quiet).problems
        changed = [p for p in problems if p.document == "instances/Person/p5" and p.field == "n"]
        assert changed, problems
        assert changed[0].branches == ("feature", "main", "stale")
        assert "is 555 in the store, the log replays 5" in changed[0].message
        orphan = [p for p in problems if p.check == "event" and p.document == "instances/Person/p1"]
        assert orphan, problems
        assert "has no event in the log" in orphan[0].message
        assert orphan[0].branches == ("main",)
        assert any(p.check == "commit" and p.commit == orphan[0].commit for p in problems)
        (moved,) = [p for p in problems if p.field == "head_commit"]
        assert moved.branches == ("stale",)
        assert moved.message == (
            f"its head is {fork[:12]} in the store, the log last moved it to "
            f"{stale_head[:12]} (InstanceCreated)"
        )
        assert verify_database(database, BETA, _quiet).problems == []


# -- the commands, in this process (typer's CliRunner) --------------------------------


@pytest.fixture
def spice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`spice ...` in this process, in a scratch folder with no settings but DATABASE_URL."""
    for key in list(os.environ):
        if key.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(key)
    (tmp_path / "config").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPICE_CONFIG_DIR", str(tmp_path / "config"))

    def run(*args: str, url: str) -> Result:
        monkeypatch.setenv("DATABASE_URL", url)
        return CliRunner().invoke(app, list(args))

    return run


@pytest.mark.parametrize("engine", ENGINES)
def test_spice_verify_exits_1_naming_a_changed_value_and_a_deleted_event(
    engine: str, tmp_path: Path, spice: Callable[..., Result]
) -> None:
    with engine_url(engine, tmp_path / "db") as url, opened(url) as database:
        store = SqlVersionedStore(database)
        store.create_database(BETA)
        commit(store, BETA, "main", create("p1", name="서연", age=31), create("p2"))
        store.create_branch(BETA, "feature")
        commit(store, BETA, "feature", Change(person("p2"), ChangeKind.UPDATE, {"age": 40}))
        clean = spice("verify", url=url)
        assert clean.exit_code == 0, clean.output
        assert "the event log replays to every stored state and every read model" in clean.stdout
        with database.transaction() as connection:
            connection.execute(
                update(doc_versions)
                .where(doc_versions.c.doc_id == "p1")
                .values(data={"name": "forged", "age": 31})
            )
            newest = select(func.max(events.c.position)).where(
                events.c.aggregate_id == person("p2").key
            )
            connection.execute(delete(events).where(events.c.position == newest.scalar_subquery()))
        result = spice("verify", url=url)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    changed = [line for line in lines if "instances/Person/p1 field 'name'" in line]
    assert changed, result.stdout
    assert changed[0].startswith(f"database '{BETA}', branches 'feature', 'main', commit ")
    assert changed[0].endswith("is 'forged' in the store, the log replays '서연'")
    orphan = [line for line in lines if "has no event in the log" in line]
    assert orphan, result.stdout
    assert orphan[0].startswith(f"database '{BETA}', branch 'feature', commit ")
    assert "version 2 of instances/Person/p2 has no event" in orphan[0]
    assert result.stderr.startswith("spice: ")
    assert result.stderr.strip().endswith("difference(s) between the event log and what is stored")


def _names(url: str) -> list[str]:
    with opened(url) as database:
        return [db.name for db in SqlVersionedStore(database).list_databases()]


def test_spice_backup_restore_refuses_an_altered_backup_and_an_existing_database(
    tmp_path: Path, spice: Callable[..., Result]
) -> None:
    source = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    with opened(source) as database:
        load(database)
    backup = tmp_path / "backup"
    taken = spice("backup", "create", "--output", str(backup), url=source)
    assert taken.exit_code == 0, taken.output
    assert f"backed up 2 database(s) to {backup}" in taken.stdout
    intact = tmp_path / "intact"
    shutil.copytree(backup, intact)
    history = backup / "databases" / f"{ALPHA}.jsonl.gz"
    damaged = bytearray(history.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    history.write_bytes(bytes(damaged))
    target = f"sqlite:///{tmp_path / 'target.sqlite3'}"

    checked = spice("backup", "verify", str(backup), url=target)
    assert checked.exit_code == 1
    assert f"databases/{ALPHA}.jsonl.gz has SHA-256" in checked.stdout
    refused = spice("backup", "restore", str(backup), url=target)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        f"spice: cannot restore {backup}: the backup is damaged or was altered: "
        f"databases/{ALPHA}.jsonl.gz has SHA-256"
    ), refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert _names(target) == []

    first = spice("backup", "restore", str(intact), url=target)
    assert first.exit_code == 0, first.output
    again = spice("backup", "restore", str(intact), "--database", ALPHA, url=target)
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        f"spice: cannot restore {intact}: database '{ALPHA}' already exists here: restore "
        "with --replace to delete it and restore the backup's"
    )
    replaced = spice("backup", "restore", str(intact), "-d", ALPHA, "--replace", url=target)
    assert replaced.exit_code == 0, replaced.output
    assert f"{ALPHA}: " in replaced.stdout
    assert "(replaced the one here)" in replaced.stdout
    assert _names(target) == [ALPHA, BETA]
    unknown = spice("backup", "restore", str(intact), "-d", "gamma", url=target)
    assert unknown.exit_code == 1
    assert "database 'gamma' is not in this backup (it has: alpha, beta)" in unknown.stderr


def _age(path: Path, days: float) -> None:
    moment = time.time() - days * 86400
    os.utime(path, (moment, moment))


def test_spice_backup_run_removes_only_backups_older_than_the_retention(
    tmp_path: Path, spice: Callable[..., Result]
) -> None:
    source = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    with opened(source) as database:
        load(database)
    root = tmp_path / "backups"
    first = spice("backup", "run", "--dir", str(root), "--keep-days", "7", url=source)
    assert first.exit_code == 0, first.output
    (made,) = list(root.iterdir())
    old, recent = root / "20200101T000000Z", root / "20200102T000000Z"
    shutil.copytree(made, old)
    shutil.copytree(made, recent)
    unfinished = root / "20200103T000000Z.partial"
    unrelated = root / "holiday-photos"
    unfinished.mkdir()
    unrelated.mkdir()
    for path, days in ((old, 10), (recent, 3), (unfinished, 8), (unrelated, 30), (made, 0)):
        _age(path, days)

    listed = spice("backup", "list", str(root), url=source)
    assert listed.exit_code == 0
    assert listed.stdout.count(" scheduled ") == 3
    assert "unfinished" in listed.stdout

    second = spice("backup", "run", "--dir", str(root), "--keep-days", "7", url=source)
    assert second.exit_code == 0, second.output
    left = {path.name for path in root.iterdir()}
    assert old.name not in left
    assert unfinished.name not in left
    assert {recent.name, made.name, unrelated.name} <= left
    assert f"removed {old} (older than 7 days)" in second.stdout
    (new,) = left - {recent.name, made.name, unrelated.name}
    metadata = json.loads((root / new / "metadata.json").read_text())
    assert metadata["kind"] == "scheduled"
    assert metadata["spice_version"]
    assert metadata["schema_revision"]
    assert metadata["databases"][ALPHA]["branch_heads"]["main"]["state_hash"]
