"""Version control: a database's versions (commits), diff, and merge simulated or resolved."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.domain.errors import PeerError
from spice_harvester.services.bff.deps import Reader, Writer, part, relay
from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.envelope import envelope

router = bff_router(tags=["version control"])
Ref = Annotated[str, Query(min_length=1, max_length=200)]


class ResolutionBody(BaseModel):
    path: str = Field(examples=["instance:Customer/c1/name"])
    choice: Literal["source", "target", "value"]
    value: Any = None


class MergeBody(BaseModel):
    source_branch: str = Field(max_length=200)
    target_branch: str = Field("main", max_length=100)
    strategy: Literal["fail", "ours", "theirs"] = "fail"
    resolutions: list[ResolutionBody] = []
    message: str | None = Field(None, max_length=10_000)
    fast_forward: bool = True


@router.get("/api/v1/databases/{db}/versions")
async def list_versions(
    db: str,
    bff: Reader,
    branch: Ref = "main",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """The branch's commits, newest first (`parents[0]` is the previous head)."""
    answer = await bff.call("GET", f"/api/v1/version/{part(db)}/history", params=bff.query())
    page = dict(answer.data)
    page["versions"] = page.pop("commits")
    return relay(answer, page, message=f"{len(page['versions'])} of {page['total']} versions")


@router.get("/api/v1/database/{db}/diff")
async def diff(db: str, bff: Reader, from_ref: Ref, to_ref: Ref) -> JSONResponse:
    """What changed from one ref to another, field by field; the summary counts documents."""
    return relay(await bff.call("GET", f"/api/v1/version/{part(db)}/diff", params=bff.query()))


@router.post("/api/v1/database/{db}/merge/simulate")
async def simulate_merge(db: str, body: MergeBody, bff: Reader) -> JSONResponse:
    """What merging would do, writing nothing: `mergeable`, and the conflicts that block it
    (each with `path` to name in a resolution) under strategy fail."""
    payload = {**body.model_dump(exclude_none=True), "dry_run": True}
    try:
        answer = await bff.call("POST", f"/api/v1/version/{part(db)}/merge", json=payload)
    except PeerError as exc:
        if exc.code != "merge_conflict":
            raise
        conflicts = (exc.data or {}).get("conflicts", [])
        data = {"mergeable": False, "merge": "conflict", "conflicts": conflicts}
        return envelope("success", f"would conflict: {exc.message}", data)
    return relay(answer, {"mergeable": True, "conflicts": [], **answer.data})


@router.post("/api/v1/database/{db}/merge/resolve")
async def resolve_merge(db: str, body: MergeBody, bff: Writer) -> JSONResponse:
    """Merges with a strategy and per-conflict resolutions (`[{path, choice, value?}]`);
    a conflict left open is 409 `merge_conflict` and nothing is written."""
    payload = body.model_dump(exclude_none=True)
    answer = await bff.call("POST", f"/api/v1/version/{part(db)}/merge", json=payload)
    bff.schema_changed(db)
    return relay(answer)
