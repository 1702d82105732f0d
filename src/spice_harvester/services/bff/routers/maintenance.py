"""BFF's maintenance admin routes: behind the admin guard like every admin route (token,
strict limit, every call audited), and writing the switch in the shared database itself, as
the recompute route writes its job: no detour through OMS, which may be the thing being
maintained."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from spice_harvester.services import maintenance_routes
from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.bff.security.admin import Admin, admin_guard
from spice_harvester.services.maintenance_routes import MaintenanceOn

router = bff_router(prefix="/api/v1/admin", tags=["admin"])
Operator = Annotated[Admin, Depends(admin_guard)]


@router.get("/maintenance")
async def read_maintenance(operator: Operator, request: Request) -> JSONResponse:
    """Whether maintenance mode is on, since when, by whom, and what clients are told."""
    return await maintenance_routes.read(request)


@router.post("/maintenance")
async def maintenance_on(operator: Operator, request: Request, body: MaintenanceOn) -> JSONResponse:
    """Every OMS, BFF and Funnel process answers 503 `maintenance` (with Retry-After) to all
    but /health and admin routes within about two seconds."""
    return await maintenance_routes.turn_on(
        request, body, f"admin:{operator.actor}", "bff", operator.client
    )


@router.delete("/maintenance")
async def maintenance_off(operator: Operator, request: Request) -> JSONResponse:
    return await maintenance_routes.turn_off(
        request, f"admin:{operator.actor}", "bff", operator.client
    )
