"""Databases: create, list, exists, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.application import databases
from spice_harvester.application.databases import database_dict
from spice_harvester.domain.errors import NotFound
from spice_harvester.services.oms.deps import Actor, CommandId, Runner, Store
from spice_harvester.services.responses import accepted, listed, ok

router = APIRouter(prefix="/api/v1/database", tags=["databases"])


class CreateDatabase(BaseModel):
    name: str = Field(max_length=100)
    description: str | None = Field(None, max_length=10_000)


@router.get("/list")
def list_databases(
    store: Store,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    found = store.list_databases()
    page = [database_dict(info) for info in found[offset : offset + limit]]
    return listed("databases", page, len(found), limit, offset)


@router.post("/create", status_code=202)
def create_database(
    body: CreateDatabase, store: Store, runner: Runner, actor: Actor, command_id: CommandId
) -> JSONResponse:
    record = databases.create_database(
        store,
        runner,
        name=body.name,
        description=body.description,
        actor=actor,
        command_id=command_id,
    )
    return accepted(record, f"database '{body.name}' created")


@router.get("/exists/{db}")
def database_exists(db: str, store: Store) -> JSONResponse:
    try:
        store.get_database(db)
    except NotFound:
        return ok({"exists": False}, f"database '{db}' does not exist")
    return ok({"exists": True}, f"database '{db}' exists")


@router.get("/{db}")
def get_database(db: str, store: Store) -> JSONResponse:
    return ok(database_dict(store.get_database(db)))


@router.delete("/{db}", status_code=202)
def delete_database(
    db: str,
    store: Store,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    expected_seq: Annotated[int, Query(ge=0, description="The database's current version.")],
) -> JSONResponse:
    record = databases.delete_database(
        store, runner, name=db, expected_seq=expected_seq, actor=actor, command_id=command_id
    )
    return accepted(record, f"database '{db}' deleted")
