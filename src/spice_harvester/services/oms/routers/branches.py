"""Branches: list, create (no commit, no copy), info, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.domain.errors import Forbidden
from spice_harvester.services.oms.deps import Actor, CommandId, Runner, Store
from spice_harvester.services.responses import accepted, listed, ok

router = APIRouter(prefix="/api/v1/branch", tags=["branches"])


class CreateBranch(BaseModel):
    branch_name: str = Field(max_length=100)
    from_branch: str | None = Field(None, max_length=100)
    from_commit: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=10_000)


@router.get("/{db}/list")
def list_branches(
    db: str,
    store: Store,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    found = [branch.as_dict() for branch in store.list_branches(db)]
    return listed("branches", found[offset : offset + limit], len(found), limit, offset)


@router.post("/{db}/create", status_code=201)
def create_branch(
    db: str, body: CreateBranch, store: Store, runner: Runner, actor: Actor, command_id: CommandId
) -> JSONResponse:
    start = body.from_commit or body.from_branch or "main"

    def create(_: str) -> WriteOutcome:
        branch = store.create_branch(
            db, body.branch_name, start, actor=actor, description=body.description
        )
        return WriteOutcome(branch.head, body.branch_name, branch.seq, {"branch": branch.as_dict()})

    record = runner.run(
        kind="CreateBranch",
        db_name=db,
        actor=actor,
        payload=body.model_dump(),
        command_id=command_id,
        action=create,
    )
    return accepted(record, f"branch '{body.branch_name}' created from {start}", http_status=201)


@router.get("/{db}/branch/{name:path}/info")
def branch_info(db: str, name: str, store: Store) -> JSONResponse:
    return ok(store.get_branch(db, name).as_dict())


@router.delete("/{db}/branch/{name:path}", status_code=202)
def delete_branch(
    db: str,
    name: str,
    store: Store,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    force: Annotated[bool, Query(description="Protected branches refuse even with force.")] = False,
) -> JSONResponse:
    if name == "main":
        raise Forbidden("branch 'main' can never be deleted", field="branch")

    def delete(_: str) -> WriteOutcome:
        branch = store.get_branch(db, name)
        store.delete_branch(db, name, actor=actor)
        return WriteOutcome(None, name, branch.seq + 1, {"deleted": True, "head": branch.head})

    record = runner.run(
        kind="DeleteBranch",
        db_name=db,
        actor=actor,
        payload={"name": name, "force": force},
        command_id=command_id,
        action=delete,
    )
    return accepted(record, f"branch '{name}' deleted")
