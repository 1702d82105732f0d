"""Admin routes: behind the admin guard (token, strict limit, every call audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.application.projections.recompute import RecomputeJobs, RecomputeRequest
from spice_harvester.bootstrap import Resources
from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.bff.security.admin import Admin, admin_guard
from spice_harvester.services.bff.security.context import security_of
from spice_harvester.services.envelope import envelope
from spice_harvester.services.responses import listed, ok

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


class RecomputeProjection(BaseModel):
    """A recompute: which read model, for which database and branch (all when left out),
    over which part of the log, and whether to promote the result."""

    projection: str = Field(max_length=64, examples=["search"])
    db_name: str | None = Field(None, max_length=64, description="None: every database.")
    branch: str | None = Field(None, max_length=100, description="None: every branch.")
    from_ts: datetime | None = Field(
        None, description="Start from the state at this time (UTC without an offset)."
    )
    to_ts: datetime | None = Field(
        None, description="Replay up to this time; default: the log's end when it starts."
    )
    promote: bool = Field(False, description="Serve the rebuilt rows once built.")
    allow_delete_base_index: bool = Field(
        False, description="With promote: delete the replaced rows instead of keeping them."
    )


def _jobs(request: Request) -> RecomputeJobs:
    resources: Resources = request.app.state.resources
    assert resources.projection_jobs is not None, "BFF wires recompute jobs at start-up"
    return resources.projection_jobs


@router.post("/recompute-projection", status_code=202)
def recompute_projection(
    operator: Operator, request: Request, body: RecomputeProjection
) -> JSONResponse:
    """Queues a rebuild of a read model from the log into a new version (run by the
    projection worker); reads keep using the serving version until it is promoted."""
    job = _jobs(request).create(
        RecomputeRequest(
            body.projection,
            body.db_name,
            body.branch,
            body.from_ts,
            body.to_ts,
            body.promote,
            body.allow_delete_base_index,
            f"admin:{operator.actor}",
        )
    )
    return envelope(
        "accepted", f"recompute job {job.job_id} queued", job.as_dict(), http_status=202
    )


@router.get("/recompute-projection/{job_id}")
def read_recompute_job(
    operator: Operator,
    request: Request,
    job_id: Annotated[str, Path(max_length=64)],
) -> JSONResponse:
    """A recompute job: status (queued, building, promoting, done, failed, cancelled),
    progress in log events, and the error that failed it."""
    job = _jobs(request).get(job_id)
    return ok(job.as_dict(), f"recompute job {job.job_id} is {job.status}")
