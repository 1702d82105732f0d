"""Command status: once (`/status`), or as server-sent events until it is over (`/events`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse, StreamingResponse

from spice_harvester.adapters.oms_client import OmsAnswer
from spice_harvester.domain.errors import SpiceError
from spice_harvester.services.bff.deps import Bff, Reader, part, relay
from spice_harvester.services.bff.routing import bff_router

router = bff_router(prefix="/api/v1/commands", tags=["commands"])
FINISHED = frozenset({"COMPLETED", "FAILED"})
# A comment line now and then keeps proxies from closing a quiet stream.
KEEP_ALIVE_SECONDS = 15.0


async def _status(bff: Bff, command_id: str) -> OmsAnswer:
    answer = await bff.call("GET", f"/api/v1/commands/{part(command_id)}/status")
    # A key limited to some databases sees only their commands.
    db = answer.data.get("db_name") if isinstance(answer.data, dict) else None
    if isinstance(db, str):
        bff.caller.require_database(db)
    return answer


@router.get("/{command_id}/status")
async def command_status(command_id: str, bff: Reader) -> JSONResponse:
    """PENDING, PROCESSING, COMPLETED or FAILED, with history, progress, result and error."""
    return relay(await _status(bff, command_id))


@router.get(
    "/{command_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def command_events(
    command_id: str,
    bff: Reader,
    interval: Annotated[float, Query(ge=0.05, le=10, description="Seconds between polls.")] = 0.5,
    timeout: Annotated[float, Query(gt=0, le=3600, description="Longest stream, seconds.")] = 300,
) -> StreamingResponse:
    """Server-sent events: a `status` event (the status record as JSON) at first and on every
    change, ending after COMPLETED or FAILED; `timeout` when it lasts too long, `error` when
    OMS stops answering. An unknown command is 404 before any event."""
    first = (await _status(bff, command_id)).data
    stream = _events(bff, command_id, first, interval, timeout)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def _events(
    bff: Bff, command_id: str, record: dict[str, Any], interval: float, timeout: float
) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    seen: tuple[Any, ...] | None = None
    count = 0
    while True:
        now = time.monotonic()
        state = (record.get("status"), record.get("updated_at"), _canonical(record.get("progress")))
        if state != seen:
            seen, count, last_sent = state, count + 1, now
            yield event("status", record, count)
        if record.get("status") in FINISHED:
            return
        if now - started >= timeout:
            yield event("timeout", {"command_id": command_id, "after_seconds": timeout}, count + 1)
            return
        if now - last_sent >= KEEP_ALIVE_SECONDS:
            last_sent = now
            yield ": keep-alive\n\n"
        await asyncio.sleep(interval)
        try:
            record = (await _status(bff, command_id)).data
        except SpiceError as exc:
            yield event("error", {"code": exc.code, "message": exc.message}, count + 1)
            return


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def event(name: str, data: Any, event_id: int) -> str:
    """One server-sent event; the JSON is on one line, so it is one `data:` field."""
    return f"event: {name}\nid: {event_id}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
