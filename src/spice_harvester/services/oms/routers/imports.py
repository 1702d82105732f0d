"""Importing rows into a class as one command: checked first, written in chunks, with its
progress in the command's status (docs/design/0006-import.md)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from spice_harvester.application.commands import CommandRunner, WriteOutcome, command_id_from
from spice_harvester.application.imports.background import BackgroundJob, BackgroundJobs, Work
from spice_harvester.application.imports.job import DEFAULT_CHUNK, ImportJob, ImportRequest
from spice_harvester.application.imports.wire import Header as RowsHeader
from spice_harvester.application.imports.wire import SpooledRows, Spooler
from spice_harvester.application.instance_bulk import MAX_BULK
from spice_harvester.application.ontology import limits_from
from spice_harvester.bootstrap import Resources
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.domain.versioning.hashing import canonical_json
from spice_harvester.ports.commands import CommandRecord
from spice_harvester.services.envelope import envelope
from spice_harvester.services.oms.deps import Actor, AppResources, AppSettings
from spice_harvester.services.responses import ok
from spice_harvester.settings import Settings

router = APIRouter(tags=["instances"])
NDJSON = "application/x-ndjson"
BODY = {
    "required": True,
    "description": (
        'NDJSON: an optional first line `{"header": {"columns": {field: column}}}`, then one '
        'row per line, `{"row": 2, "data": {...}, "raw"?: {...}, "issues"?: [...]}`. Or JSON: '
        '`{"header"?: {...}, "rows": [...]}` with rows as the lines are, or '
        '`{"instances": [{...}, ...]}` with each instance\'s fields.'
    ),
    "content": {
        NDJSON: {"schema": {"type": "string"}},
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "header": {"type": "object"},
                    "rows": {"type": "array", "items": {"type": "object"}},
                    "instances": {"type": "array", "items": {"type": "object"}},
                },
            }
        },
    },
}
Branch = Annotated[str, Query(min_length=1, max_length=100, description="The branch to write.")]


def _jobs(request: Request) -> BackgroundJobs:
    state = request.app.state
    jobs: BackgroundJobs | None = getattr(state, "imports", None)
    if jobs is None:
        jobs = BackgroundJobs()
        state.imports = jobs
    return jobs


@router.post(
    "/api/v1/instances/{db}/async/{class_id}/import",
    status_code=202,
    openapi_extra={"requestBody": BODY},
)
async def import_instances(
    db: str,
    class_id: str,
    request: Request,
    resources: AppResources,
    settings: AppSettings,
    actor: Actor,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    x_command_id: Annotated[str | None, Header(alias="X-Command-ID")] = None,
    branch: Branch = "main",
    allow_partial: Annotated[
        bool, Query(description="Write the rows that pass and report the others.")
    ] = False,
    dry_run: Annotated[
        bool, Query(description="Check every row and report, writing nothing (200).")
    ] = False,
    chunk_size: Annotated[
        int, Query(ge=1, le=MAX_BULK, description="Rows per commit.")
    ] = DEFAULT_CHUNK,
    wait: Annotated[
        bool,
        Query(description="Answer once the import is COMPLETED or FAILED (up to the wait limit)."),
    ] = False,
) -> JSONResponse:
    """Rows for one class, every one checked before any is written: 202 with the command
    (its status shows `progress` as it runs and the report in `result`), or with
    `dry_run` 200 with the report. Without `allow_partial` a failed row refuses the whole
    import (FAILED, `validation_failed` with the report in `error.data`, nothing written).
    The same rows sent again are the same command: it answers what it did (or resumes it,
    when an earlier attempt stopped half-way) and writes nothing twice."""
    command_id = (
        command_id_from(idempotency_key, x_command_id)
        if (idempotency_key or x_command_id)
        else None
    )
    rows = await _received(request, settings)
    handed_over = False
    try:
        if rows.total == 0:
            raise MalformedInput("the body holds no rows", field="rows")
        import_request = ImportRequest(
            db, branch, class_id, allow_partial, chunk_size, rows.header.columns
        )
        job = _job(resources, settings)
        if dry_run:
            report = await anyio.to_thread.run_sync(
                lambda: job.dry_run(import_request, rows.chunks(chunk_size), rows.total)
            )
            return ok(report, f"{report['rows_valid']} of {rows.total} rows would be imported")
        payload = {
            "class_id": class_id,
            "branch": branch,
            "allow_partial": allow_partial,
            "chunk_size": chunk_size,
            "rows_sha256": rows.sha256,
        }
        chosen = command_id or _derived_id(db, payload)
        runner = resources.commands
        assert runner is not None, "OMS wires the command runner at start-up"
        work = _work(runner, job, import_request, rows, actor, chosen, payload)
        background, handed_over = _jobs(request).start(chosen, work)
    finally:
        if not handed_over:
            rows.discard()
    await anyio.to_thread.run_sync(background.started.wait)
    if wait:
        await _settle(background, runner, chosen, settings)
    if background.future.done():
        background.future.result()  # raises what the import raised: 4xx with its report
    record = runner.status(chosen)
    assert record is not None, "the import's status is recorded before it starts"
    return _accepted(record)


def _work(
    runner: CommandRunner,
    job: ImportJob,
    request: ImportRequest,
    rows: SpooledRows,
    actor: str,
    command_id: str,
    payload: dict[str, Any],
) -> Work:
    """The import as the background thread runs it: one command, its progress reported."""

    def work(started: threading.Event) -> CommandRecord:
        def action(command: str) -> WriteOutcome:
            runner.report_progress(command, {"phase": "checking", "rows_total": rows.total})
            started.set()
            return job.run(
                request,
                rows.chunks(request.chunk_size),
                rows.total,
                actor=actor,
                command_id=command,
                on_progress=lambda progress: runner.report_progress(command, progress),
            )

        try:
            return runner.run(
                kind="ImportInstances",
                db_name=request.db,
                actor=actor,
                payload=payload,
                command_id=command_id,
                action=action,
            )
        finally:
            rows.discard()

    return work


async def _received(request: Request, settings: Settings) -> SpooledRows:
    """The body spooled to a file: NDJSON as it streams in, or a JSON body's rows."""
    spooler = Spooler(settings.data_dir / "imports")
    try:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/json":
            spooler.write_rows(*_json_rows(await request.body()))
        else:
            async for part in request.stream():
                spooler.write(part)
    except BaseException:
        spooler.discard()
        raise
    # Counting the rows reads the whole file: off the event loop.
    return await anyio.to_thread.run_sync(spooler.finish)


def _json_rows(body: bytes) -> tuple[RowsHeader | None, list[Any]]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise MalformedInput(f"the body is not valid JSON: {exc}", field="body") from exc
    if not isinstance(value, dict):
        raise MalformedInput("the body must be a JSON object", field="body")
    header = RowsHeader.of(value["header"]) if "header" in value else None
    if isinstance(value.get("rows"), list):
        return header, list(value["rows"])
    if isinstance(value.get("instances"), list):
        return header, [{"row": i + 1, "data": v} for i, v in enumerate(value["instances"])]
    raise MalformedInput('the body must hold "rows" or "instances" (a list)', field="rows")


def _job(resources: Resources, settings: Settings) -> ImportJob:
    assert resources.store is not None, "OMS wires the store at start-up"
    return ImportJob(resources.store, limits_from(settings), settings.data_dir / "imports")


def _derived_id(db: str, payload: dict[str, Any]) -> str:
    digest = hashlib.sha256(canonical_json({"db": db, **payload}).encode()).hexdigest()
    return f"import-{digest[:40]}"


async def _settle(
    background: BackgroundJob, runner: CommandRunner, command_id: str, settings: Settings
) -> None:
    """Waits (up to the wait limit) for the import to end and its commits to be applied."""
    limit = settings.oms.commands.wait_timeout_seconds
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    try:
        await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(background.future)), limit)
    except TimeoutError:
        return
    except Exception:  # the caller raises it from the future
        return
    left = max(0.0, deadline - loop.time())
    await anyio.to_thread.run_sync(runner.wait, command_id, left)


def _accepted(record: CommandRecord) -> JSONResponse:
    data: dict[str, Any] = {
        "command_id": record.command_id,
        "status": record.status.value,
        "progress": record.progress,
        **(record.result or {}),
    }
    if record.result:
        message = f"{record.result.get('rows_written', 0)} row(s) imported"
    else:
        message = f"import {record.status.value.lower()}"
    return envelope("accepted", message, data, http_status=202)
