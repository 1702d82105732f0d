"""Pull requests, passed to OMS: open, list, read (with whether it merges cleanly), diff,
review, merge, close. The author and reviewer are the caller."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Body, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.services.bff.deps import Reader, Writer, part, relay
from spice_harvester.services.bff.routers.versions import ResolutionBody
from spice_harvester.services.bff.routing import bff_router

router = bff_router(prefix="/api/v1/database/{db}/pull-requests", tags=["pull requests"])


class OpenPullRequest(BaseModel):
    source_branch: str = Field(max_length=100)
    target_branch: str = Field("main", max_length=100)
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(None, max_length=20_000)


class ReviewBody(BaseModel):
    state: Literal["approved", "changes_requested", "commented"]
    body: str | None = Field(None, max_length=20_000)


class MergePullRequest(BaseModel):
    strategy: Literal["fail", "ours", "theirs"] = "fail"
    resolutions: list[ResolutionBody] = []
    message: str | None = Field(None, max_length=10_000)


def _path(db: str, pr_id: int | None = None, action: str = "") -> str:
    base = f"/api/v1/database/{part(db)}/pull-requests"
    return base if pr_id is None else f"{base}/{pr_id}{action}"


@router.post("", status_code=201)
async def open_pull_request(db: str, body: OpenPullRequest, bff: Writer) -> JSONResponse:
    payload = body.model_dump(exclude_none=True)
    return relay(await bff.call("POST", _path(db), json=payload))


@router.get("")
async def list_pull_requests(
    db: str,
    bff: Reader,
    status: Annotated[Literal["open", "merged", "closed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    return relay(await bff.call("GET", _path(db), params=bff.query()))


@router.get("/{pr_id}")
async def read_pull_request(db: str, pr_id: int, bff: Reader) -> JSONResponse:
    return relay(await bff.call("GET", _path(db, pr_id)))


@router.get("/{pr_id}/diff")
async def pull_request_diff(db: str, pr_id: int, bff: Reader) -> JSONResponse:
    return relay(await bff.call("GET", _path(db, pr_id, "/diff")))


@router.post("/{pr_id}/reviews", status_code=201)
async def review_pull_request(db: str, pr_id: int, body: ReviewBody, bff: Writer) -> JSONResponse:
    payload = body.model_dump(exclude_none=True)
    return relay(await bff.call("POST", _path(db, pr_id, "/reviews"), json=payload))


@router.post("/{pr_id}/merge")
async def merge_pull_request(
    db: str, pr_id: int, bff: Writer, body: Annotated[MergePullRequest | None, Body()] = None
) -> JSONResponse:
    """Strategy fail unless said otherwise; no body is the same as `{}`."""
    payload = (body or MergePullRequest()).model_dump(exclude_none=True)
    answer = await bff.call("POST", _path(db, pr_id, "/merge"), json=payload)
    bff.schema_changed(db)
    return relay(answer)


@router.post("/{pr_id}/close")
async def close_pull_request(db: str, pr_id: int, bff: Writer) -> JSONResponse:
    return relay(await bff.call("POST", _path(db, pr_id, "/close")))
