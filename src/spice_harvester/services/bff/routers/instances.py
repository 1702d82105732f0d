"""Instances by class label: writes whose field keys may be labels, and reads that carry ids
plus `class_label` and `labels` in the client's language. Relationship values are ids."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.application.labels import LabelIndex
from spice_harvester.services.bff.deps import Bff, Reader, Writer, part, relay
from spice_harvester.services.bff.routing import bff_router

router = bff_router(prefix="/api/v1/database/{db}", tags=["instances"])
Branch = Annotated[str, Query(min_length=1, max_length=100, description="The branch to use.")]
At = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="A commit id or ref; wins over branch."),
]
ExpectedSeq = Annotated[int, Query(ge=0, description="The instance's current version.")]
Wait = Annotated[bool, Query(description="Answer once the command is COMPLETED or FAILED.")]


class InstanceBody(BaseModel):
    data: dict[str, Any] = Field(
        description="Field values by field id or label (any language).",
        examples=[{"name": "Acme", "고객_등급": "gold"}],
    )


class BulkBody(BaseModel):
    instances: list[Any] = Field(description="Rows like `data` above, all in one commit.")


def _writes(db: str, class_id: str) -> str:
    return f"/api/v1/instances/{part(db)}/async/{part(class_id)}"


def _labels(index: LabelIndex, class_id: str, bff: Bff) -> dict[str, Any]:
    return {
        "class_label": index.class_label(class_id, bff.languages),
        "labels": index.field_labels(class_id, bff.languages),
    }


def _written(answer_data: Any, index: LabelIndex, class_id: str, bff: Bff) -> Any:
    if not isinstance(answer_data, dict):
        return answer_data
    return {**answer_data, "class_id": class_id, **_labels(index, class_id, bff)}


@router.post("/instances/{class_label:path}/create", status_code=202)
async def create_instance(
    db: str,
    class_label: str,
    body: InstanceBody,
    bff: Writer,
    branch: Branch = "main",
    wait: Wait = False,
) -> JSONResponse:
    index, class_id = await bff.class_of(db, class_label, branch)
    data = index.data_to_ids(class_id, body.data)
    path = f"{_writes(db, class_id)}/create"
    answer = await bff.call("POST", path, params=bff.query(), json={"data": data})
    return relay(answer, _written(answer.data, index, class_id, bff))


@router.put("/instances/{class_label:path}/{instance_id}/update", status_code=202)
async def update_instance(
    db: str,
    class_label: str,
    instance_id: str,
    body: InstanceBody,
    bff: Writer,
    expected_seq: ExpectedSeq,
    branch: Branch = "main",
    wait: Wait = False,
) -> JSONResponse:
    """Field merge: fields not sent keep their values; `null` unsets a field."""
    index, class_id = await bff.class_of(db, class_label, branch)
    data = index.data_to_ids(class_id, body.data)
    path = f"{_writes(db, class_id)}/{part(instance_id)}/update"
    answer = await bff.call("PUT", path, params=bff.query(), json={"data": data})
    return relay(answer, _written(answer.data, index, class_id, bff))


@router.delete("/instances/{class_label:path}/{instance_id}/delete", status_code=202)
async def delete_instance(
    db: str,
    class_label: str,
    instance_id: str,
    bff: Writer,
    expected_seq: ExpectedSeq,
    branch: Branch = "main",
    cascade: Annotated[bool, Query(description="Delete the instances pointing at it too.")] = False,
    unlink: Annotated[bool, Query(description="Remove their links to it instead.")] = False,
    wait: Wait = False,
) -> JSONResponse:
    """Refused with 409 naming the referrers while others point at the instance, unless
    `cascade` or `unlink` says what to do with them."""
    index, class_id = await bff.class_of(db, class_label, branch)
    path = f"{_writes(db, class_id)}/{part(instance_id)}/delete"
    answer = await bff.call("DELETE", path, params=bff.query())
    return relay(answer, _written(answer.data, index, class_id, bff))


@router.post("/instances/{class_label:path}/bulk-create", status_code=202)
async def bulk_create_instances(
    db: str,
    class_label: str,
    body: BulkBody,
    bff: Writer,
    branch: Branch = "main",
    wait: Wait = False,
) -> JSONResponse:
    """All rows in one commit, or none: errors come back per row."""
    index, class_id = await bff.class_of(db, class_label, branch)
    rows = [
        index.data_to_ids(class_id, row, where=f"instances[{i}]")
        for i, row in enumerate(body.instances)
    ]
    path = f"{_writes(db, class_id)}/bulk-create"
    answer = await bff.call("POST", path, params=bff.query(), json={"instances": rows})
    return relay(answer, _written(answer.data, index, class_id, bff))


@router.get("/class/{class_label:path}/instances")
async def list_instances(
    db: str,
    class_label: str,
    bff: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    search: Annotated[str | None, Query(max_length=200)] = None,
    branch: Branch = "main",
    at: At = None,
) -> JSONResponse:
    index, class_id = await bff.class_of(db, class_label, branch, at)
    path = f"/api/v1/instance/{part(db)}/class/{part(class_id)}/instances"
    answer = await bff.call("GET", path, params=bff.query())
    return relay(answer, {**answer.data, "class_id": class_id, **_labels(index, class_id, bff)})


@router.get("/class/{class_label:path}/instance/{instance_id}")
async def get_instance(
    db: str,
    class_label: str,
    instance_id: str,
    bff: Reader,
    branch: Branch = "main",
    at: At = None,
) -> JSONResponse:
    index, class_id = await bff.class_of(db, class_label, branch, at)
    path = f"/api/v1/instance/{part(db)}/instance/{part(instance_id)}"
    answer = await bff.call("GET", path, params=bff.query(class_id=class_id))
    return relay(answer, {**answer.data, **_labels(index, class_id, bff)})
