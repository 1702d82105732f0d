"""Admin routes: behind the admin guard (token, strict limit, every call audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.bff.security.admin import Admin, admin_guard
from spice_harvester.services.bff.security.context import security_of
from spice_harvester.services.responses import listed

router = bff_router(prefix="/api/v1/admin", tags=["admin"])
Operator = Annotated[Admin, Depends(admin_guard)]


def _utc(moment: datetime | None) -> datetime | None:
    # A time without an offset is read as UTC, the log's own zone.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("/audit")
def read_audit(
    operator: Operator,
    request: Request,
    actor: str | None = None,
    action: str | None = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; UTC without an offset.")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; UTC without an offset.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """Audit entries, newest first, each with its hash and the hash of the one before."""
    audit = security_of(request.app).audit
    since, until = _utc(since), _utc(until)
    entries = audit.query(
        actor=actor, action=action, since=since, until=until, limit=limit, offset=offset
    )
    total = audit.count(actor=actor, action=action, since=since, until=until)
    return listed("entries", [entry.as_dict() for entry in entries], total, limit, offset)
