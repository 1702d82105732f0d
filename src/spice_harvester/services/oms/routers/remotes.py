"""Remotes: push, pull and clone between databases here and on other OMS servers.

Commits travel with their events and keep their ids. The three user-facing routes take an
optional `remote_url` (`source_url` for clone): without it the other database is on this
server. Three more routes are what one server asks of another: `pack` (the commits the
asker lacks), `receive` (commits pushed here) and the history export a clone reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from spice_harvester.adapters.remote_oms import RemoteOms
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.exchange import export_history, import_history
from spice_harvester.application.commands import WriteOutcome
from spice_harvester.bootstrap import Resources
from spice_harvester.domain.names import check_database_name
from spice_harvester.domain.versioning.merge import MergeOptions, Strategy
from spice_harvester.domain.versioning.model import Pack, RemoteUpdate
from spice_harvester.services.oms.deps import (
    Actor,
    AppResources,
    AppSettings,
    CommandId,
    Runner,
    Store,
)
from spice_harvester.services.responses import accepted, ok

router = APIRouter(tags=["remotes"])

BranchName = Annotated[str, Field(min_length=1, max_length=100)]
Url = Annotated[str, Field(min_length=1, max_length=2000)]


class RemoteBody(BaseModel):
    remote_url: Url | None = Field(None, description="Another OMS; omitted: this server.")
    remote_db: str = Field(min_length=1, max_length=64)
    remote_branch: BranchName = "main"
    branch: BranchName = "main"
    strategy: Strategy = Field(
        Strategy.FAIL, description="Pull only: how a merge with local changes resolves."
    )


class CloneBody(BaseModel):
    source_url: Url | None = Field(None, description="Another OMS; omitted: this server.")
    source_db: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)


class PackRequest(BaseModel):
    ref: str = Field("main", min_length=1, max_length=200)
    haves: list[Annotated[str, Field(max_length=64)]] = Field([], max_length=10_000)


class ReceiveBody(BaseModel):
    branch: BranchName
    head: str = Field(min_length=1, max_length=64)
    commits: list[dict[str, Any]]


def _update(update: RemoteUpdate, **extra: Any) -> WriteOutcome:
    return WriteOutcome(
        update.head.commit_id,
        update.branch,
        0,
        {
            "remote": update.status,
            "branch": update.branch,
            "head": update.head.commit_id,
            "fetched": update.fetched,
            **extra,
        },
    )


def _heads(store: Store, db: str) -> list[str]:
    return [branch.head for branch in store.list_branches(db)]


@router.post("/api/v1/version/{db}/push")
def push(
    db: str,
    body: RemoteBody,
    store: Store,
    runner: Runner,
    settings: AppSettings,
    actor: Actor,
    command_id: CommandId,
) -> JSONResponse:
    """Sends `branch` to `remote_branch` of `remote_db`: a fast-forward there, or 409 when
    the remote branch has commits this one lacks (pull first)."""

    def run(_: str) -> WriteOutcome:
        if body.remote_url is None:
            pack = store.pack(db, body.branch, _heads(store, body.remote_db))
            update = store.integrate(body.remote_db, pack, body.remote_branch, actor=actor)
            return _update(update, sent=len(pack.commits))
        with RemoteOms(body.remote_url, settings.request_timeout, actor) as remote:
            pack = store.pack(db, body.branch, remote.heads(body.remote_db))
            answer = remote.receive(body.remote_db, body.remote_branch, pack)
        return WriteOutcome(
            answer["head"], body.remote_branch, 0, {**answer, "sent": len(pack.commits)}
        )

    record = runner.run(
        kind="Push",
        db_name=db,
        actor=actor,
        payload=body.model_dump(mode="json"),
        command_id=command_id,
        action=run,
    )
    result = record.result or {}
    return accepted(
        record,
        f"pushed {db}/{body.branch} to {body.remote_db}/{body.remote_branch}: "
        f"{result.get('remote')}",
        http_status=200,
    )


@router.post("/api/v1/version/{db}/pull")
def pull(
    db: str,
    body: RemoteBody,
    store: Store,
    runner: Runner,
    settings: AppSettings,
    actor: Actor,
    command_id: CommandId,
) -> JSONResponse:
    """Brings `remote_branch` of `remote_db` into `branch`: a fast-forward, or a merge
    (409 `merge_conflict` under strategy fail, with nothing written)."""

    def run(_: str) -> WriteOutcome:
        haves = _heads(store, db)
        if body.remote_url is None:
            pack = store.pack(body.remote_db, body.remote_branch, haves)
        else:
            with RemoteOms(body.remote_url, settings.request_timeout, actor) as remote:
                pack = remote.pack(body.remote_db, body.remote_branch, haves)
        update = store.integrate(
            db, pack, body.branch, actor=actor, merge=True, options=MergeOptions(body.strategy)
        )
        return _update(update)

    record = runner.run(
        kind="Pull",
        db_name=db,
        actor=actor,
        payload=body.model_dump(mode="json"),
        command_id=command_id,
        action=run,
    )
    result = record.result or {}
    return accepted(
        record,
        f"pulled {body.remote_db}/{body.remote_branch} into {db}/{body.branch}: "
        f"{result.get('remote')}",
        http_status=200,
    )


@router.post("/api/v1/database/clone", status_code=202)
def clone(
    body: CloneBody,
    resources: AppResources,
    runner: Runner,
    settings: AppSettings,
    actor: Actor,
    command_id: CommandId,
) -> JSONResponse:
    """A new database `name` with the whole history of `source_db`: every branch and
    commit, same ids."""
    check_database_name(body.name)
    database = _database(resources)

    def run(_: str) -> WriteOutcome:
        if body.source_url is None:
            info = import_history(
                database, export_history(database, body.source_db), name=body.name, actor=actor
            )
        else:
            with (
                RemoteOms(body.source_url, settings.request_timeout, actor) as remote,
                remote.history(body.source_db) as records,
            ):
                info = import_history(database, records, name=body.name, actor=actor)
        assert resources.store is not None
        head = resources.store.resolve(info.name, "main")
        branches = len(resources.store.list_branches(info.name))
        return WriteOutcome(
            head.commit_id, info.name, info.seq, {"name": info.name, "branches": branches}
        )

    record = runner.run(
        kind="Clone",
        db_name=body.name,
        actor=actor,
        payload=body.model_dump(mode="json"),
        command_id=command_id,
        action=run,
    )
    return accepted(record, f"database '{body.name}' cloned from '{body.source_db}'")


# -- what another server asks of this one -------------------------------------------------


@router.post("/api/v1/version/{db}/pack")
def pack(db: str, body: PackRequest, store: Store) -> JSONResponse:
    """The commits of `ref` (with their events, oldest first) that a database whose
    branches point at `haves` lacks."""
    found = store.pack(db, body.ref, body.haves)
    return ok({"head": found.head, "commits": list(found.commits)}, f"{len(found.commits)} commits")


@router.post("/api/v1/version/{db}/receive")
def receive(
    db: str, body: Annotated[ReceiveBody, Body()], store: Store, actor: Actor
) -> JSONResponse:
    """Commits pushed by another server: applied, verified, and `branch` fast-forwarded
    (or created); 409 when it has moved on, with nothing written."""
    update = store.integrate(db, Pack(body.head, tuple(body.commits)), body.branch, actor=actor)
    return ok(_update(update).as_dict(), f"{db}/{body.branch}: {update.status}")


@router.get(
    "/api/v1/database/{db}/history",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "One JSON record per line: header, timelines, commits, branches.",
        }
    },
)
def history_export(db: str, resources: AppResources) -> StreamingResponse:
    """The database's whole history as JSON Lines (docs/history-format.md)."""
    database = _database(resources)
    assert resources.store is not None
    resources.store.get_database(db)  # a 404 before the stream starts

    def lines() -> Iterator[bytes]:
        for record in export_history(database, db):
            yield _json_line(record)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def _database(resources: Resources) -> SqlDatabase:
    database = resources.database
    assert isinstance(database, SqlDatabase), "OMS wires its database at start-up"
    return database


def _json_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
