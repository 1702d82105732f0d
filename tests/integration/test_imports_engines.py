"""Imports on SQLite and PostgreSQL: chunks as commits, dry runs that predict the commit,
partial imports, idempotent re-runs, a resume after a chunk failed, and a folder whose
relationships form a cycle."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from spice_harvester.adapters.sql.commands import SqlCommandStore
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.commands import CommandRunner
from spice_harvester.application.imports.folder import folder_identity, plan_folder
from spice_harvester.application.imports.plan import ImportPlan, SourceTable, plan_for_class
from spice_harvester.application.imports.service import ImportOptions, ImportService
from spice_harvester.application.instance_links import iter_instances
from spice_harvester.application.ontology import ClassWriter, load_schema
from spice_harvester.domain.errors import DependencyUnavailable, ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest, CommitResult
from spice_harvester.ports.commands import CommandStatus

DB = "imports"
LIMITS = SchemaLimits()
PERSON: dict[str, Any] = {
    "id": "Person",
    "label": "Person",
    "key": ["person_id"],
    "properties": [
        {"name": "person_id", "type": "string", "required": True},
        {"name": "email", "type": "email", "unique": True},
        {"name": "born", "type": "date"},
    ],
    "relationships": [{"predicate": "mentor", "target": "Person", "cardinality": "n:1"}],
}
# No key: every row gets a generated id, so a row written twice would be two instances.
VISIT: dict[str, Any] = {
    "id": "Visit",
    "label": "Visit",
    "properties": [
        {"name": "n", "type": "integer", "required": True},
        {"name": "day", "type": "date"},
    ],
}


class FailingOnce(SqlVersionedStore):
    """The real store, but the first commit whose command id ends with `suffix` fails as a
    lost connection would."""

    def __init__(self, database: SqlDatabase, suffix: str) -> None:
        super().__init__(database)
        self.suffix = suffix
        self.failed = False

    def commit(self, db: str, request: CommitRequest) -> CommitResult:
        if not self.failed and (request.command_id or "").endswith(self.suffix):
            self.failed = True
            raise DependencyUnavailable("database", "connection lost (injected)")
        return super().commit(db, request)


def service_on(store: SqlVersionedStore, migrated: SqlDatabase, tmp_path: Path) -> ImportService:
    runner = CommandRunner(SqlCommandStore(migrated))
    return ImportService(store, runner, LIMITS, tmp_path / "spool", actor="tester")


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlVersionedStore:
    found = SqlVersionedStore(migrated)
    found.create_database(DB)
    writer = ClassWriter(found, LIMITS)
    for definition in (PERSON, VISIT):
        writer.create(DB, "main", definition, "setup", f"class-{definition['id']}")
    return found


@pytest.fixture
def service(store: SqlVersionedStore, migrated: SqlDatabase, tmp_path: Path) -> ImportService:
    return service_on(store, migrated, tmp_path)


def table(columns: dict[str, list[str | None]]) -> SourceTable:
    frame = pl.DataFrame({k: pl.Series(k, v, dtype=pl.String) for k, v in columns.items()})
    return SourceTable("t", frame, "csv", 2)


def people(count: int, *, bad: dict[int, str] | None = None) -> ImportPlan:
    """Rows p0000...; from the second chunk on, each mentored by a row of the first."""
    ids = [f"p{i:04d}" for i in range(count)]
    emails = [f"{p}@example.com" for p in ids]
    for index, email in (bad or {}).items():
        emails[index] = email
    columns: dict[str, list[str | None]] = {
        "person_id": list(ids),
        "email": list(emails),
        "born": [f"{1 + i % 28:02d}/05/1990" for i in range(count)],
        "mentor": [ids[i % 10] if i >= 10 else None for i in range(count)],
    }
    return plan_of(table(columns), "Person")


def plan_of(source: SourceTable, class_id: str) -> ImportPlan:
    classes = {c["id"]: ClassDef.from_api(c) for c in (PERSON, VISIT)}
    return plan_for_class(source, Schema(classes).resolved(class_id))


def run(service: ImportService, plan: ImportPlan, command_id: str, **options: Any) -> Any:
    chosen = ImportOptions(**{"chunk_size": 10, **options})
    return service.table(DB, plan, chosen, command_id, {"test": command_id})


def commits(store: SqlVersionedStore, db: str = DB) -> int:
    return store.log(db, "main", limit=1)[1]


def test_an_import_writes_every_row_one_commit_per_chunk(
    service: ImportService, store: SqlVersionedStore
) -> None:
    before = commits(store)
    record = run(service, people(35), "imp-1")
    assert record.status is CommandStatus.COMPLETED
    assert record.result["rows_written"] == 35
    assert record.result["chunks_written"] == 4
    assert store.count(DB, "main", "instance", "Person") == 35
    assert commits(store) == before + 4
    mentee = store.get(DB, "main", DocRef.of_instance("Person", "p0012"))
    assert mentee is not None
    assert mentee.data == {
        "person_id": "p0012",
        "email": "p0012@example.com",
        "born": "1990-05-13",
        "mentor": "p0002",
    }
    progress = record.progress
    assert progress is not None
    assert (progress["rows_total"], progress["rows_done"], progress["chunks_done"]) == (35, 35, 4)


def test_a_dry_run_reports_exactly_what_the_commit_refuses(
    service: ImportService, store: SqlVersionedStore
) -> None:
    plan = people(30, bad={4: "not-an-email", 17: "p0002@example.com"})
    report = service.dry_run(DB, plan, ImportOptions(chunk_size=10), None)
    with pytest.raises(ValidationFailed) as refused:
        run(service, plan, "imp-refused")
    assert refused.value.data is not None
    assert refused.value.data["errors"] == report["errors"]
    rows = [e["row"] for e in report["errors"]]
    # Row 6 is p0004, which p0014 and p0024 name as mentor, so they fail too; p0017 (row
    # 19) reuses the email of p0002, written by an earlier chunk.
    assert rows == [6, 16, 19, 26]
    assert report["rows_failed"] == 4
    assert store.count(DB, "main", "instance", "Person") == 0
    status = service.runner.status("imp-refused")
    assert status is not None
    assert status.status is CommandStatus.FAILED
    assert status.error is not None
    assert status.error["data"]["rows_failed"] == 4


def test_allow_partial_writes_the_good_rows_and_reports_the_others(
    service: ImportService, store: SqlVersionedStore
) -> None:
    plan = people(30, bad={4: "not-an-email"})
    record = run(service, plan, "imp-partial", allow_partial=True)
    assert record.status is CommandStatus.COMPLETED
    assert record.result["rows_written"] == 27
    assert [(e["row"], e["column"]) for e in record.result["errors"]] == [
        (6, "email"),
        (16, "mentor"),
        (26, "mentor"),
    ]
    assert store.count(DB, "main", "instance", "Person") == 27


def test_the_same_import_again_is_answered_from_its_command_and_writes_nothing(
    service: ImportService, store: SqlVersionedStore
) -> None:
    first = run(service, people(25), "imp-again")
    before = commits(store)
    again = run(service, people(25), "imp-again")
    assert again.status is CommandStatus.COMPLETED
    assert again.result == first.result
    assert commits(store) == before
    assert store.count(DB, "main", "instance", "Person") == 25


def test_an_import_stopped_by_a_failed_chunk_resumes_and_writes_every_row_once(
    migrated: SqlDatabase, store: SqlVersionedStore, tmp_path: Path
) -> None:
    failing = FailingOnce(migrated, ":chunk:2")
    service = service_on(failing, migrated, tmp_path)
    days: list[str | None] = [f"{1 + i % 28:02d}/03/2024" for i in range(47)]
    plan = plan_of(table({"n": [str(i) for i in range(47)], "day": days}), "Visit")
    with pytest.raises(DependencyUnavailable):
        run(service, plan, "imp-visits")
    stopped = service.runner.status("imp-visits")
    assert stopped is not None
    assert stopped.status is CommandStatus.FAILED
    assert store.count(DB, "main", "instance", "Visit") == 20

    resumed = run(service, plan, "imp-visits")
    assert resumed.status is CommandStatus.COMPLETED
    assert resumed.result["chunks_resumed"] == 2
    assert resumed.result["chunks_written"] == 3
    assert resumed.result["rows_written"] == 47
    numbers = Counter(s.data["n"] for s in iter_instances(store, DB, "main", "Visit") if s.data)
    assert sorted(numbers) == list(range(47))
    assert set(numbers.values()) == {1}


def test_a_folder_whose_relationships_form_a_cycle_is_linked_in_a_second_pass(
    service: ImportService, store: SqlVersionedStore, tmp_path: Path
) -> None:
    folder = tmp_path / "org"
    folder.mkdir()
    pick = random.Random(7)
    staff = [f"E{i:03d}" for i in range(1, 31)]
    lines = ["employee_id,name,manager_id,department_id"]
    for i, employee in enumerate(staff):
        manager = "" if i == 0 else staff[pick.randrange(len(staff))]
        lines.append(f"{employee},Person {i},{manager},D{i % 4 + 1:02d}")
    (folder / "employees.csv").write_text("\n".join(lines) + "\n")
    heads = [f"D{d:02d},Dept {d},{staff[d * 3]}" for d in range(1, 5)]
    (folder / "departments.csv").write_text(
        "department_id,title,head_employee_id\n" + "\n".join(heads) + "\n"
    )
    plan = plan_folder(folder)
    assert {c: [r["predicate"] for r in rels] for c, rels in plan.later.items()} == {
        "Department": ["head"],
        "Employee": ["manager"],
    }
    folder_id = folder_identity(folder, "org", "main")
    report = service.folder("org", plan, folder_id, ImportOptions(chunk_size=7))
    assert report.database_created
    assert report.tables["employees"]["rows_written"] == 30
    assert report.links["employees"]["rows_linked"] == 29
    assert report.links["departments"]["rows_linked"] == 4
    schema = load_schema(store, "org", "main", LIMITS)
    assert schema.resolved("Employee").relationship("manager") is not None
    second = store.get("org", "main", DocRef.of_instance("Employee", "E002"))
    assert second is not None
    assert second.data is not None
    assert second.data["manager"] in staff
    assert second.data["department"] == "D02"
    head = store.get("org", "main", DocRef.of_instance("Department", "D01"))
    assert head is not None
    assert head.data is not None
    assert head.data["head"] == "E004"

    before = commits(store, "org")
    again = service.folder("org", plan, folder_id, ImportOptions(chunk_size=7))
    assert not again.database_created
    assert commits(store, "org") == before
