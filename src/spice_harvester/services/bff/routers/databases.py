"""Databases: list (only those the caller's key may use), create, read, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.services.bff.deps import Bff, Reader, Writer, part, relay
from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.responses import listed

router = bff_router(prefix="/api/v1/databases", tags=["databases"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
PAGE = 1000


class CreateDatabase(BaseModel):
    name: str = Field(max_length=100, examples=["demo"])
    description: str | None = Field(None, max_length=10_000)


@router.get("")
async def list_databases(bff: Reader, limit: Limit = 100, offset: Offset = 0) -> JSONResponse:
    if bff.caller.databases is None:
        return relay(await bff.call("GET", "/api/v1/database/list", params=bff.query()))
    # A key limited to some databases sees those only, so the page is cut here.
    usable = [d for d in await _every_database(bff) if bff.caller.may_use(str(d.get("name")))]
    return listed("databases", usable[offset : offset + limit], len(usable), limit, offset)


async def _every_database(bff: Bff) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        params = {"limit": PAGE, "offset": len(found)}
        page = (await bff.call("GET", "/api/v1/database/list", params=params)).data
        found.extend(page["databases"])
        if not page["databases"] or len(found) >= page["total"]:
            return found


@router.post("", status_code=202)
async def create_database(body: CreateDatabase, bff: Writer) -> JSONResponse:
    bff.caller.require_database(body.name)
    answer = await bff.call(
        "POST", "/api/v1/database/create", json=body.model_dump(exclude_none=True)
    )
    bff.schema_changed(body.name)
    return relay(answer)


@router.get("/{db}")
async def get_database(db: str, bff: Reader) -> JSONResponse:
    return relay(await bff.call("GET", f"/api/v1/database/{part(db)}"))


@router.delete("/{db}", status_code=202)
async def delete_database(
    db: str,
    bff: Writer,
    expected_seq: Annotated[int, Query(ge=0, description="The database's current version.")],
) -> JSONResponse:
    answer = await bff.call("DELETE", f"/api/v1/database/{part(db)}", params=bff.query())
    bff.schema_changed(db)
    return relay(answer)
