"""`GET /api/v1/whoami`: who BFF takes the caller to be, and what the key may do."""

from __future__ import annotations

from typing import Annotated

from fastapi.responses import JSONResponse

from spice_harvester.services.bff.access import Caller, requires
from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.responses import ok

router = bff_router(prefix="/api/v1", tags=["security"])


@router.get("/whoami")
async def whoami(caller: Annotated[Caller, requires("viewer")]) -> JSONResponse:
    """The caller's actor, role and databases (null: every database)."""
    return ok(caller.as_dict(), f"{caller.actor} ({caller.role})")
