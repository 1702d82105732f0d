"""Command status: where a write stands and what it did."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from spice_harvester.domain.errors import NotFound
from spice_harvester.services.oms.deps import Runner
from spice_harvester.services.responses import ok

router = APIRouter(prefix="/api/v1/commands", tags=["commands"])


@router.get("/{command_id}/status")
def command_status(command_id: str, runner: Runner) -> JSONResponse:
    record = runner.status(command_id)
    if record is None:
        raise NotFound(f"command '{command_id}' is not known", field="command_id")
    return ok(record.as_dict(), f"command {record.status.value}")
