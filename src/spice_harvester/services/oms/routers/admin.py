"""OMS's admin routes: maintenance mode (never closed by it, so it can be turned off here).

OMS is the internal service: like its other routes these trust the network they are served
on, and record `X-Actor` as who acted. The public, token-guarded switch is BFF's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from spice_harvester.services import maintenance_routes
from spice_harvester.services.maintenance_routes import MaintenanceOn
from spice_harvester.services.oms.deps import Actor

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/maintenance")
async def read_maintenance(request: Request) -> JSONResponse:
    """Whether maintenance mode is on, with its message (Funnel asks this once a second)."""
    return await maintenance_routes.read(request)


@router.post("/maintenance")
async def maintenance_on(request: Request, body: MaintenanceOn, actor: Actor) -> JSONResponse:
    """Every OMS, BFF and Funnel process answers 503 to all but health and admin within ~2 s."""
    return await maintenance_routes.turn_on(request, body, actor, "oms", _client(request))


@router.delete("/maintenance")
async def maintenance_off(request: Request, actor: Actor) -> JSONResponse:
    return await maintenance_routes.turn_off(request, actor, "oms", _client(request))
