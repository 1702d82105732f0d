"""`spice import ...`: a file into a class, or a folder as an ontology plus its rows, run in
this process against the configured database, each import one command."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from spice_harvester.cli.common import EnvOption, console, fail, progress_bar, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.application.imports.plan import ImportPlan
    from spice_harvester.application.imports.service import ImportOptions, ImportService
    from spice_harvester.domain.ontology.schema import Schema

app = typer.Typer(
    help="Import files: one into a class, or a folder as an ontology plus instances.",
    no_args_is_help=True,
)
ERRORS_SHOWN = 20

Database = Annotated[str, typer.Option("--database", "-d", help="The database to import into.")]
BranchOption = Annotated[str, typer.Option("--branch", "-b", help="The branch to write.")]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check every row and report; write nothing.")
]
AllowPartial = Annotated[
    bool,
    typer.Option("--allow-partial", help="Write the rows that pass and report the others."),
]
ChunkSize = Annotated[int, typer.Option("--chunk-size", min=1, max=10_000, help="Rows per commit.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


@contextmanager
def _service(env: EnvOption) -> Iterator[tuple[ImportService, Any]]:
    """The store, its command statuses and the import service, on the configured database."""
    from spice_harvester.adapters.sql.commands import SqlCommandStore
    from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
    from spice_harvester.application.commands import CommandRunner
    from spice_harvester.application.imports.service import ImportService
    from spice_harvester.application.ontology import limits_from
    from spice_harvester.bootstrap import open_database

    settings = settings_for(env)
    try:
        database = open_database(settings, "oms")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")
    try:
        store = SqlVersionedStore(database, protected_branches=settings.protected_branches)
        runner = CommandRunner(SqlCommandStore(database))
        limits = limits_from(settings)
        yield ImportService(store, runner, limits, settings.data_dir / "imports"), settings
    finally:
        database.close()


@app.command("csv")
def import_csv(
    database: Database,
    file: Annotated[
        Path,
        typer.Option("--file", "-f", help="CSV, TSV, Excel (.xlsx) or JSON (lines) file."),
    ],
    class_: Annotated[
        str, typer.Option("--type", "-t", help="The class: its id or a label in any language.")
    ],
    branch: BranchOption = "main",
    dry_run: DryRun = False,
    allow_partial: AllowPartial = False,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--mapping",
            help="JSON {column: field or label | null}; other columns match by name or label.",
        ),
    ] = None,
    create_class: Annotated[
        bool, typer.Option("--create-class", help="Create the class from the file if missing.")
    ] = False,
    table: Annotated[str | None, typer.Option(help="The table, when the file has several.")] = None,
    sheet: Annotated[str | None, typer.Option(help="The worksheet of a workbook.")] = None,
    chunk_size: ChunkSize = 5_000,
    as_json: AsJson = False,
    env: EnvOption = None,
) -> None:
    """Import FILE's rows into a class, as one command (the manual's bulk_import).

    Columns are matched to the class's fields by name or label, values converted as the
    file writes them (day-first dates, decimal commas...). Every row is checked before any
    is written; a bad row refuses the import (exit 1, nothing written) unless
    --allow-partial. Running the same import again writes nothing twice; an import that
    stopped half-way resumes where it stopped.
    """
    from spice_harvester.application.imports.plan import (
        import_command_id,
        new_class_plan,
        plan_for_class,
        read_source,
    )
    from spice_harvester.application.imports.service import ImportOptions
    from spice_harvester.application.ontology import load_schema

    if not file.is_file():
        fail(f"no such file: {file}")
    given = _mapping(mapping)
    content = file.read_bytes()
    options = ImportOptions(branch, allow_partial, chunk_size)
    with _service(env) as (service, _settings):
        try:
            source = read_source(file.name, content, table=table, sheet=sheet)
            schema = load_schema(service.store, database, branch, service.limits)
            class_id = _class_id(schema, class_, create_class)
            target = {"db": database, "branch": branch, "file": file.name}
            definition = None
            if class_id is None:
                definition, plan = new_class_plan(source, class_)
                if not dry_run:
                    command = import_command_id(content, {**target, "class": definition})
                    service.create_class(database, branch, definition, f"{command}:class")
            else:
                plan = plan_for_class(source, schema.resolved(class_id), given)
            if dry_run:
                _dry_run(service, database, plan, options, as_json, definition)
                return
            identity = {**target, **plan.identity(), "allow_partial": allow_partial}
            command_id = import_command_id(content, {**identity, "chunk_size": chunk_size})
            payload = {**identity, "sha256": hashlib.sha256(content).hexdigest()}
            _commit(service, database, plan, options, command_id, payload, as_json)
        except SpiceError as exc:
            _refused(exc, as_json)


def _class_id(schema: Schema, text: str, create: bool) -> str | None:
    from spice_harvester.application.labels import Lookup, Named

    lookup = Lookup("class", "classes", (Named(c.id, c.label) for c in schema.classes.values()))
    found = lookup.find(text, field="--type")
    if found is None and not create:
        fail(f"no class has the id or a label {text!r}; add --create-class to create one")
    return found


def _mapping(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        fail(f"--mapping is not valid JSON: {exc}")
    if not isinstance(value, dict):
        fail("--mapping must be a JSON object {column: field}")
    return value


def _dry_run(
    service: ImportService,
    database: str,
    plan: ImportPlan,
    options: ImportOptions,
    as_json: bool,
    new_class: dict[str, Any] | None,
) -> None:
    from spice_harvester.application.imports.plan import schema_with
    from spice_harvester.application.imports.report import preview_new_class

    with progress_bar() as bar:
        task = bar.add_task(f"checking {plan.table.name}", total=plan.total)

        def progress(shown: dict[str, Any]) -> None:
            bar.update(task, completed=shown["rows_checked"])

        if new_class is not None:
            request = plan.request(database, options.branch, chunk_size=options.chunk_size)
            chunks = plan.chunks(options.chunk_size)
            report = preview_new_class(schema_with(new_class), request, chunks, plan.total)
        else:
            report = service.dry_run(database, plan, options, progress)
    _show(report, plan, as_json, title="dry run")
    if report["rows_failed"]:
        raise typer.Exit(1)


def _commit(
    service: ImportService,
    database: str,
    plan: ImportPlan,
    options: ImportOptions,
    command_id: str,
    payload: dict[str, Any],
    as_json: bool,
) -> None:
    with progress_bar() as bar:
        checking = bar.add_task(f"checking {plan.table.name}", total=plan.total)
        writing = bar.add_task(f"writing {plan.table.name}", total=plan.total)

        def progress(shown: dict[str, Any]) -> None:
            bar.update(checking, completed=shown.get("rows_checked", 0))
            valid = shown.get("rows_checked", 0) - shown.get("rows_failed", 0)
            bar.update(writing, completed=shown.get("rows_done", 0), total=max(valid, 1))

        record = service.table(database, plan, options, command_id, payload, progress)
    result = record.result or {}
    _show({"command_id": record.command_id, "status": record.status.value, **result}, plan, as_json)


def _refused(exc: SpiceError, as_json: bool) -> None:
    data = exc.data or {}
    if as_json:
        console.print_json(json.dumps({"error": exc.code, "message": exc.message, **data}))
    elif isinstance(data.get("errors"), list):
        _errors(data["errors"], int(data.get("error_count", len(data["errors"]))))
    fail(exc.message)


def _show(report: dict[str, Any], plan: ImportPlan, as_json: bool, *, title: str = "") -> None:
    if as_json:
        console.print_json(json.dumps({**report, "import": plan.describe()}, ensure_ascii=False))
        return
    mapping = plan.describe()["mapping"]
    for column in mapping["columns"]:
        how = mapping["conversions"].get(column["column"])
        extra = f" ({how})" if how else ""
        console.print(f"  {column['column']} -> {column['field']}{extra}", markup=False)
    for column in mapping["unmapped"]:
        console.print(f"  {column} -> (not imported)", markup=False)
    if mapping["missing_required"]:
        console.print(f"  required, no column: {', '.join(mapping['missing_required'])}")
    if report.get("errors"):
        _errors(report["errors"], int(report.get("error_count", 0)))
    head = f"{title}: " if title else ""
    written = report.get("rows_written", report.get("rows_valid", 0))
    verb = "would be imported" if title else "imported"
    console.print(
        f"{head}{written} of {report.get('rows_total', plan.total)} rows {verb}, "
        f"{report.get('rows_failed', 0)} failed"
        + (f" (command {report['command_id']})" if report.get("command_id") else ""),
        markup=False,
    )


def _errors(errors: list[dict[str, Any]], total: int) -> None:
    shown = Table("row", "column", "value", "reason", title=f"{total} problem(s)")
    for error in errors[:ERRORS_SHOWN]:
        shown.add_row(
            str(error.get("row")),
            str(error.get("column") or error.get("field") or ""),
            "" if error.get("value") is None else str(error.get("value")),
            str(error.get("reason") or error.get("message") or ""),
        )
    console.print(shown)
    if total > ERRORS_SHOWN:
        console.print(f"... and {total - ERRORS_SHOWN} more")


@app.command("folder")
def import_folder(
    database: Database,
    path: Annotated[Path, typer.Argument(help="A folder of CSV (or TSV) files, one per table.")],
    branch: BranchOption = "main",
    dry_run: DryRun = False,
    allow_partial: AllowPartial = False,
    chunk_size: ChunkSize = 5_000,
    as_json: AsJson = False,
    env: EnvOption = None,
) -> None:
    """Import a folder as an ontology plus instances.

    Suggests a class per table (keys, composite ones too, and relationships from foreign-key
    evidence), creates the database if missing and the classes with relationship targets
    first (relationships forming a cycle are added in a second pass), then imports every
    table's rows, one command per table. Running it again redoes nothing.
    """
    from spice_harvester.application.imports.folder import folder_identity, plan_folder
    from spice_harvester.application.imports.service import ImportOptions

    if not path.is_dir():
        fail(f"no such folder: {path}")
    options = ImportOptions(branch, allow_partial, chunk_size)
    try:
        with console.status(f"reading {path}..."):
            plan = plan_folder(path)
    except SpiceError as exc:
        fail(f"cannot read {path}: {exc.message}")
    if dry_run:
        _folder_dry_run(plan, database, options, as_json)
        return
    folder_id = folder_identity(path, database, branch)
    with _service(env) as (service, _settings), progress_bar() as bar:
        tasks = {
            t.name: bar.add_task(f"{t.name} -> {t.class_id}", total=t.plan.total)
            for t in plan.tables
        }

        def progress(table: str, shown: dict[str, Any]) -> None:
            done = shown.get("rows_done", 0) if shown.get("phase") == "writing" else 0
            bar.update(tasks[table], completed=done)

        try:
            report = service.folder(database, plan, folder_id, options, progress)
        except SpiceError as exc:
            bar.stop()
            _refused(exc, as_json)
    if as_json:
        console.print_json(json.dumps({"plan": plan.describe(), **report.to_json()}))
        return
    _folder_summary(plan.describe(), report.to_json())


def _folder_dry_run(plan: Any, database: str, options: Any, as_json: bool) -> None:
    from spice_harvester.application.imports.report import preview_new_class
    from spice_harvester.domain.ontology.classes import ClassDef
    from spice_harvester.domain.ontology.schema import Schema

    schema = Schema({c["id"]: ClassDef.from_api(plan.full_class(c["id"])) for c in plan.classes})
    reports = {}
    for load in plan.tables:
        request = load.plan.request(database, options.branch, chunk_size=options.chunk_size)
        chunks = load.plan.chunks(options.chunk_size)
        reports[load.name] = preview_new_class(schema, request, chunks, load.plan.total)
    described = plan.describe()
    if as_json:
        console.print_json(json.dumps({"plan": described, "tables": reports}, ensure_ascii=False))
    else:
        _folder_summary(described, {"tables": reports})
    if any(r["rows_failed"] for r in reports.values()):
        raise typer.Exit(1)


def _folder_summary(described: dict[str, Any], report: dict[str, Any]) -> None:
    for shown in described["classes"]:
        key = ", ".join(shown["key"]) or "(generated ids)"
        links = "; ".join(shown["relationships"] + [f"{r} (second pass)" for r in shown["later"]])
        console.print(f"class {shown['id']}  key: {key}  {links}", markup=False)
    for table in described["tables"]:
        done = report.get("tables", {}).get(table["table"], {})
        written = done.get("rows_written", done.get("rows_valid", 0))
        console.print(
            f"{table['table']:24} -> {table['class_id']:20} "
            f"{written}/{table['rows']} rows, {done.get('rows_failed', 0)} failed",
            markup=False,
        )
