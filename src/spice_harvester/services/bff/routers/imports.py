"""Importing a file into a class by label: the file read and mapped here (Funnel's readers and
profiles, in process), the rows checked and written by OMS as one command
(docs/design/0006-import.md)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import File, Form, Query, UploadFile
from fastapi.responses import JSONResponse

from spice_harvester.adapters.oms_client import Forwarded, OmsAnswer
from spice_harvester.application.imports.plan import (
    ImportPlan,
    SourceTable,
    import_command_id,
    new_class_plan,
    plan_for_class,
    read_source,
    schema_with,
)
from spice_harvester.application.imports.report import preview_new_class
from spice_harvester.application.imports.request import DEFAULT_CHUNK
from spice_harvester.application.instance_bulk import MAX_BULK
from spice_harvester.application.labels import LabelIndex
from spice_harvester.domain.errors import (
    MalformedInput,
    NotFound,
    UnsupportedFormat,
    ValidationFailed,
)
from spice_harvester.services.bff.deps import Bff, Writer, part, relay
from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.responses import ok
from spice_harvester.settings import Settings

router = bff_router(prefix="/api/v1/database/{db}", tags=["import"])
Branch = Annotated[str, Query(min_length=1, max_length=100, description="The branch to write.")]
Wait = Annotated[bool, Query(description="Answer once the import is COMPLETED or FAILED.")]
NDJSON = "application/x-ndjson"
# OMS checks every row before answering a dry run, which takes minutes for millions of rows.
IMPORT_TIMEOUT_SECONDS = 3600.0


@router.post("/import", status_code=202)
async def import_file(
    db: str,
    bff: Writer,
    file: Annotated[
        UploadFile | None, File(description="CSV (or TSV), Excel workbook (.xlsx) or JSON (lines).")
    ] = None,
    target_class: Annotated[
        str | None, Form(description="The class: its id or a label in any language.")
    ] = None,
    mapping: Annotated[
        str | None,
        Form(
            description="JSON: {column: field (id or label) | [fields] | null}; columns left "
            "out are matched to fields by name or label."
        ),
    ] = None,
    dry_run: Annotated[
        bool, Form(description="Check every row and report (200), writing nothing.")
    ] = False,
    allow_partial: Annotated[
        bool, Form(description="Write the rows that pass and report the others.")
    ] = False,
    create_class: Annotated[
        bool,
        Form(description="When no class has that id or label, create one suggested by the file."),
    ] = False,
    table: Annotated[
        str | None, Form(description="The table, when the file holds several.")
    ] = None,
    sheet: Annotated[str | None, Form(description="The worksheet of a workbook.")] = None,
    delimiter: Annotated[str | None, Form(description="A CSV file's delimiter.")] = None,
    chunk_size: Annotated[int, Form(ge=1, le=MAX_BULK, description="Rows per commit.")] = (
        DEFAULT_CHUNK
    ),
    branch: Branch = "main",
    wait: Wait = False,
) -> JSONResponse:
    """A file's rows into a class. A dry run answers 200 with every row's errors (`row` as in
    the file, `column`, `field`, `value`, `reason`); otherwise 202 with the command, whose
    status shows `progress` (`rows_total`, `rows_done`, `chunks_done`...) and ends with the
    report in `result` (or, refused, in `error.data`). Without `allow_partial` one bad row
    refuses the import and nothing is written. The same file, class, mapping and options
    again are the same import (unless `Idempotency-Key` says otherwise): it answers the
    first one's command and writes nothing twice."""
    if file is None:
        raise MalformedInput("send the file as the multipart part `file`", field="file")
    if not target_class:
        raise MalformedInput("name the class in `target_class`", field="target_class")
    given = _mapping(mapping)
    content = await file.read()
    settings: Settings = bff.request.app.state.settings
    source = await _read(file, content, settings, table, sheet, delimiter)
    index, class_id = await _class(bff, db, target_class, branch, create_class)
    created: dict[str, Any] | None = None
    if class_id is None:
        suggested, plan = await anyio.to_thread.run_sync(new_class_plan, source, target_class)
        if dry_run:
            return await _preview(suggested, plan, db, branch, chunk_size)
        await bff.call(
            "POST",
            f"/api/v1/database/{part(db)}/ontology",
            params={"branch": branch},
            json=suggested,
        )
        bff.schema_changed(db)
        created = suggested
        class_id = str(suggested["id"])
        index = await bff.index(db, branch)
    else:
        resolved = index.schema.resolved(class_id)
        plan = await anyio.to_thread.run_sync(lambda: plan_for_class(source, resolved, given))
    target = {
        "db": db,
        "branch": branch,
        **plan.identity(),
        "allow_partial": allow_partial,
        "chunk_size": chunk_size,
    }
    forwarded = bff.forwarded
    if not dry_run and not ({"Idempotency-Key", "X-Command-ID"} & set(forwarded.headers)):
        chosen = import_command_id(content, target)
        forwarded = Forwarded(forwarded.actor, {**forwarded.headers, "X-Command-ID": chosen})
    del content
    params: dict[str, Any] = {
        "branch": branch,
        "allow_partial": allow_partial,
        "dry_run": dry_run,
        "chunk_size": chunk_size,
        "wait": wait,
    }
    answer = await bff.oms.send_stream(
        f"/api/v1/instances/{part(db)}/async/{part(class_id)}/import",
        forwarded,
        _lines(plan, chunk_size),
        content_type=NDJSON,
        params=params,
        timeout=IMPORT_TIMEOUT_SECONDS,
    )
    return _answer(answer, plan, index, class_id, bff, created)


def _mapping(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise MalformedInput(f"mapping is not valid JSON: {exc}", field="mapping") from exc
    if not isinstance(value, dict):
        raise MalformedInput("mapping must be a JSON object {column: field}", field="mapping")
    return value


async def _read(
    file: UploadFile,
    content: bytes,
    settings: Settings,
    table: str | None,
    sheet: str | None,
    delimiter: str | None,
) -> SourceTable:
    """The table to import; a file that cannot be read is 400 naming why (415 for a format
    nothing reads)."""
    name = file.filename or "upload"

    def read() -> SourceTable:
        return read_source(
            name,
            content,
            file.content_type,
            table=table,
            sheet=sheet,
            delimiter=delimiter,
            max_bytes=settings.bff.server.max_upload_bytes,
        )

    try:
        return await anyio.to_thread.run_sync(read)
    except UnsupportedFormat:
        raise
    except ValidationFailed as exc:
        raise MalformedInput(exc.message, field=exc.field or "file", data=exc.data) from None


async def _class(
    bff: Bff, db: str, text: str, branch: str, create: bool
) -> tuple[LabelIndex, str | None]:
    """The class `text` names, or None when none does and `create` asks for a new one."""
    try:
        return await bff.class_of(db, text, branch)
    except NotFound as exc:
        if not create or (exc.data or {}).get("label") != text:
            raise
        return await bff.index(db, branch), None


async def _preview(
    created: dict[str, Any], plan: ImportPlan, db: str, branch: str, chunk_size: int
) -> JSONResponse:
    """A dry run into a class not yet created: the rows checked against it here (values,
    required fields, keys, unique values within the file)."""
    request = plan.request(db, branch, chunk_size=chunk_size)

    def check() -> dict[str, Any]:
        return preview_new_class(schema_with(created), request, plan.chunks(chunk_size), plan.total)

    report = await anyio.to_thread.run_sync(check)
    data = {**report, "class": created, "import": plan.describe(), "created_class": False}
    message = f"{report['rows_valid']} of {plan.total} rows would be imported into a new class"
    return ok(data, message)


async def _lines(plan: ImportPlan, size: int) -> AsyncIterator[bytes]:
    """The rows as NDJSON, built a chunk at a time off the event loop."""
    yield plan.header().line()
    for start in range(0, plan.total, size):

        def build(begin: int = start) -> bytes:
            rows = plan.builder.rows(plan.table.frame, begin, begin + size)
            return b"".join(row.line() for row in rows)

        yield await anyio.to_thread.run_sync(build)


def _answer(
    answer: OmsAnswer,
    plan: ImportPlan,
    index: LabelIndex,
    class_id: str,
    bff: Bff,
    created: dict[str, Any] | None,
) -> JSONResponse:
    data = answer.data if isinstance(answer.data, dict) else {}
    labels: dict[str, Any] = {}
    if class_id in index.by_id:
        labels = {
            "class_label": index.class_label(class_id, bff.languages),
            "labels": index.field_labels(class_id, bff.languages),
        }
    extra = {"import": plan.describe(), "created_class": created is not None}
    return relay(answer, {**data, "class_id": class_id, **labels, **extra})
