"""Instances: create, update, delete and bulk create as commands; reads at a branch or a ref."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.application.instances import InstanceReader, InstanceWriter
from spice_harvester.application.ontology import limits_from
from spice_harvester.services.oms.deps import Actor, AppSettings, CommandId, Runner, Store
from spice_harvester.services.responses import accepted, listed, ok

router = APIRouter(tags=["instances"])
WRITES = "/api/v1/instances/{db}/async/{class_id}"
READS = "/api/v1/instance/{db}"

Branch = Annotated[str, Query(min_length=1, max_length=100, description="The branch to use.")]
At = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="A commit id or ref; wins over branch."),
]
ClassFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=100, description="Needed when several classes have the id."),
]
ExpectedSeq = Annotated[int, Query(ge=0, description="The instance's current version.")]
Wait = Annotated[
    bool,
    Query(
        description="Answer once the command is COMPLETED (its commit applied by every "
        "projection) or FAILED, or after oms.commands.wait_timeout_seconds."
    ),
]


class InstanceBody(BaseModel):
    data: dict[str, Any]


class BulkBody(BaseModel):
    # Rows are checked one by one by the use case, so a bad row is reported with its number.
    instances: list[Any]


def _writer(store: Store, settings: AppSettings) -> InstanceWriter:
    return InstanceWriter(store, limits_from(settings))


def _reader(store: Store, settings: AppSettings) -> InstanceReader:
    return InstanceReader(store, limits_from(settings))


@router.post(f"{WRITES}/create", status_code=202)
def create_instance(
    db: str,
    class_id: str,
    body: InstanceBody,
    store: Store,
    settings: AppSettings,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    branch: Branch = "main",
    wait: Wait = False,
) -> JSONResponse:
    writer = _writer(store, settings)

    def create(command: str) -> WriteOutcome:
        return writer.create(db, branch, class_id, body.data, actor, command)

    record = runner.run(
        kind="CreateInstance",
        db_name=db,
        actor=actor,
        payload={"class_id": class_id, "branch": branch, "data": body.data},
        command_id=command_id,
        action=create,
    )
    instance_id = (record.result or {}).get("instance_id")
    return accepted(record, f"instance {class_id}/{instance_id} created")


@router.put(f"{WRITES}/{{instance_id}}/update", status_code=202)
def update_instance(
    db: str,
    class_id: str,
    instance_id: str,
    body: InstanceBody,
    store: Store,
    settings: AppSettings,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    expected_seq: ExpectedSeq,
    branch: Branch = "main",
    wait: Wait = False,
) -> JSONResponse:
    """Field merge: fields not sent keep their values; `null` unsets a field."""
    writer = _writer(store, settings)

    def update(command: str) -> WriteOutcome:
        return writer.update(
            db, branch, class_id, instance_id, body.data, expected_seq, actor, command
        )

    record = runner.run(
        kind="UpdateInstance",
        db_name=db,
        actor=actor,
        payload={
            "class_id": class_id,
            "id": instance_id,
            "branch": branch,
            "expected_seq": expected_seq,
            "data": body.data,
        },
        command_id=command_id,
        action=update,
    )
    return accepted(record, f"instance {class_id}/{instance_id} updated")


@router.delete(f"{WRITES}/{{instance_id}}/delete", status_code=202)
def delete_instance(
    db: str,
    class_id: str,
    instance_id: str,
    store: Store,
    settings: AppSettings,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    expected_seq: ExpectedSeq,
    branch: Branch = "main",
    cascade: Annotated[bool, Query(description="Delete the instances pointing at it too.")] = False,
    unlink: Annotated[bool, Query(description="Remove their links to it instead.")] = False,
    wait: Wait = False,
) -> JSONResponse:
    """Refused with 409 naming the referrers while others point at the instance, unless
    `cascade` or `unlink` says what to do with them."""
    writer = _writer(store, settings)

    def delete(command: str) -> WriteOutcome:
        return writer.delete(
            db,
            branch,
            class_id,
            instance_id,
            expected_seq,
            actor,
            command,
            cascade=cascade,
            unlink=unlink,
        )

    record = runner.run(
        kind="DeleteInstance",
        db_name=db,
        actor=actor,
        payload={
            "class_id": class_id,
            "id": instance_id,
            "branch": branch,
            "expected_seq": expected_seq,
            "cascade": cascade,
            "unlink": unlink,
        },
        command_id=command_id,
        action=delete,
    )
    return accepted(record, f"instance {class_id}/{instance_id} deleted")


@router.post(f"{WRITES}/bulk-create", status_code=202)
def bulk_create_instances(
    db: str,
    class_id: str,
    body: BulkBody,
    store: Store,
    settings: AppSettings,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    branch: Branch = "main",
    wait: Wait = False,
) -> JSONResponse:
    """All rows in one commit, or none: errors come back per row (the first 100)."""
    writer = _writer(store, settings)

    def bulk(command: str) -> WriteOutcome:
        return writer.bulk_create(db, branch, class_id, body.instances, actor, command)

    record = runner.run(
        kind="BulkCreateInstances",
        db_name=db,
        actor=actor,
        payload={"class_id": class_id, "branch": branch, "instances": body.instances},
        command_id=command_id,
        action=bulk,
    )
    count = (record.result or {}).get("count", 0)
    return accepted(record, f"{count} {class_id} instance(s) created")


@router.get(f"{READS}/class/{{class_id}}/instances")
def list_instances(
    db: str,
    class_id: str,
    store: Store,
    settings: AppSettings,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    search: Annotated[str | None, Query(max_length=200)] = None,
    branch: Branch = "main",
    at: At = None,
) -> JSONResponse:
    page = _reader(store, settings).page(
        db, class_id, limit=limit, offset=offset, search=search, branch=branch, at=at
    )
    return listed("instances", page.instances, page.total, limit, offset)


@router.get(f"{READS}/class/{{class_id}}/count")
def count_instances(
    db: str,
    class_id: str,
    store: Store,
    settings: AppSettings,
    branch: Branch = "main",
    at: At = None,
) -> JSONResponse:
    count = _reader(store, settings).count(db, class_id, branch, at)
    return ok({"count": count}, f"{count} {class_id} instance(s)")


@router.get(f"{READS}/instance/{{instance_id}}")
def get_instance(
    db: str,
    instance_id: str,
    store: Store,
    settings: AppSettings,
    class_id: ClassFilter = None,
    branch: Branch = "main",
    at: At = None,
) -> JSONResponse:
    return ok(_reader(store, settings).get(db, instance_id, class_id, branch, at))


@router.get(f"{READS}/instance/{{instance_id}}/history")
def instance_history(
    db: str,
    instance_id: str,
    store: Store,
    settings: AppSettings,
    class_id: ClassFilter = None,
    branch: Branch = "main",
    at: At = None,
) -> JSONResponse:
    versions = _reader(store, settings).history(db, instance_id, class_id, branch, at)
    return ok({"versions": versions}, f"{len(versions)} version(s)")
