"""Branches, in both forms clients know: `/databases/{db}/branches` and the manual's
`/branch/{db}/list|create`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.services.bff.deps import Reader, Writer, part, relay
from spice_harvester.services.bff.routing import bff_router

router = bff_router(tags=["branches"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
Force = Annotated[bool, Query(description="Protected branches refuse even with force.")]


class CreateBranch(BaseModel):
    branch_name: str = Field(max_length=100, examples=["backup-20250726"])
    from_branch: str | None = Field(None, max_length=100, examples=["main"])
    from_commit: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=10_000)


async def _list(db: str, bff: Reader) -> JSONResponse:
    return relay(await bff.call("GET", f"/api/v1/branch/{part(db)}/list", params=bff.query()))


async def _create(db: str, body: CreateBranch, bff: Writer) -> JSONResponse:
    payload = body.model_dump(exclude_none=True)
    return relay(await bff.call("POST", f"/api/v1/branch/{part(db)}/create", json=payload))


@router.get("/api/v1/databases/{db}/branches")
async def list_branches(
    db: str, bff: Reader, limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    return await _list(db, bff)


@router.post("/api/v1/databases/{db}/branches", status_code=201)
async def create_branch(db: str, body: CreateBranch, bff: Writer) -> JSONResponse:
    """No commit and no copy: the new branch's head is the commit it starts from."""
    return await _create(db, body, bff)


@router.get("/api/v1/branch/{db}/list")
async def list_branches_manual(
    db: str, bff: Reader, limit: Limit = 100, offset: Offset = 0
) -> JSONResponse:
    return await _list(db, bff)


@router.post("/api/v1/branch/{db}/create", status_code=201)
async def create_branch_manual(db: str, body: CreateBranch, bff: Writer) -> JSONResponse:
    return await _create(db, body, bff)


@router.get("/api/v1/databases/{db}/branches/{branch:path}")
async def get_branch(db: str, branch: str, bff: Reader) -> JSONResponse:
    return relay(await bff.call("GET", f"/api/v1/branch/{part(db)}/branch/{part(branch)}/info"))


@router.delete("/api/v1/databases/{db}/branches/{branch:path}", status_code=202)
async def delete_branch(db: str, branch: str, bff: Writer, force: Force = False) -> JSONResponse:
    """`main` is never deleted (403, even with force)."""
    path = f"/api/v1/branch/{part(db)}/branch/{part(branch)}"
    answer = await bff.call("DELETE", path, params=bff.query())
    bff.schema_changed(db)
    return relay(answer)
