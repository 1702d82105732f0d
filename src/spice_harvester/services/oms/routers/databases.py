"""Databases: create, list, exists, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.domain.errors import NotFound
from spice_harvester.domain.names import check_database_name
from spice_harvester.domain.versioning.model import DatabaseInfo
from spice_harvester.services.oms.deps import Actor, CommandId, Runner, Store
from spice_harvester.services.responses import accepted, listed, ok

router = APIRouter(prefix="/api/v1/database", tags=["databases"])


class CreateDatabase(BaseModel):
    name: str = Field(max_length=100)
    description: str | None = Field(None, max_length=10_000)


def database_dict(info: DatabaseInfo) -> dict[str, object]:
    return {
        "name": info.name,
        "description": info.description,
        "version": info.seq,
        "created_at": info.created_at.isoformat(),
        "created_by": info.created_by,
    }


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
    check_database_name(body.name)

    def create(_: str) -> WriteOutcome:
        info = store.create_database(body.name, body.description, actor)
        head = store.resolve(body.name, "main")
        return WriteOutcome(head.commit_id, body.name, info.seq, {"name": body.name})

    record = runner.run(
        kind="CreateDatabase",
        db_name=body.name,
        actor=actor,
        payload=body.model_dump(),
        command_id=command_id,
        action=create,
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
    def delete(_: str) -> WriteOutcome:
        store.delete_database(db, expected_seq, actor)
        return WriteOutcome(None, db, expected_seq + 1, {"deleted": True})

    record = runner.run(
        kind="DeleteDatabase",
        db_name=db,
        actor=actor,
        payload={"expected_seq": expected_seq},
        command_id=command_id,
        action=delete,
    )
    return accepted(record, f"database '{db}' deleted")
