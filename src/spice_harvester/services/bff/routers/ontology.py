"""Classes by label: create, list, read, replace, delete. Answers carry ids as OMS stores them,
plus `class_label` and `labels` ({field id: label}) in the client's language."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query
from fastapi.responses import JSONResponse

from spice_harvester.application.labels import LabelIndex
from spice_harvester.services.bff.deps import Bff, Reader, Writer, part, relay
from spice_harvester.services.bff.routing import bff_router

router = bff_router(prefix="/api/v1/database/{db}/ontology", tags=["ontology"])
Branch = Annotated[str, Query(min_length=1, max_length=100)]
At = Annotated[str | None, Query(max_length=200, description="A commit id or a ref.")]
ExpectedSeq = Annotated[int, Query(ge=0, description="The class's current version.")]
ClassBody = Annotated[
    dict[str, Any],
    Body(
        description="A class, as in API.md; `parent_class` and relationship targets may be "
        "labels of existing classes."
    ),
]


def _path(db: str, class_id: str | None = None) -> str:
    base = f"/api/v1/database/{part(db)}/ontology"
    return base if class_id is None else f"{base}/{part(class_id)}"


def labelled(cls: dict[str, Any], index: LabelIndex, bff: Bff) -> dict[str, Any]:
    """A class as OMS answers it, with its label and its fields' labels in the client's
    language (fields inherited included)."""
    class_id = cls.get("id")
    if not isinstance(class_id, str) or class_id not in index.by_id:
        return cls
    return {
        **cls,
        "class_label": index.class_label(class_id, bff.languages),
        "labels": index.field_labels(class_id, bff.languages),
    }


@router.post("", status_code=202)
async def create_class(
    db: str, body: ClassBody, bff: Writer, branch: Branch = "main"
) -> JSONResponse:
    if body.get("parent_class") or body.get("relationships"):
        body = (await bff.index(db, branch)).class_refs_to_ids(body)
    answer = await bff.call("POST", _path(db), params=bff.query(), json=body)
    bff.schema_changed(db)
    return relay(answer)


@router.get("/list")
async def list_classes(
    db: str,
    bff: Reader,
    branch: Branch = "main",
    at: At = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    answer = await bff.call("GET", _path(db), params=bff.query())
    index = await bff.index(db, branch, at)
    page = answer.data
    page["ontologies"] = [labelled(c, index, bff) for c in page["ontologies"]]
    return relay(answer, page)


@router.get("/{class_label:path}")
async def read_class(
    db: str, class_label: str, bff: Reader, branch: Branch = "main", at: At = None
) -> JSONResponse:
    index, class_id = await bff.class_of(db, class_label, branch, at)
    answer = await bff.call("GET", _path(db, class_id), params=bff.query())
    return relay(answer, labelled(answer.data, index, bff))


@router.put("/{class_label:path}", status_code=202)
async def replace_class(
    db: str,
    class_label: str,
    body: ClassBody,
    bff: Writer,
    expected_seq: ExpectedSeq,
    branch: Branch = "main",
) -> JSONResponse:
    """The whole class, as on create (`id` may be left out); a `migration` carries existing
    instances over."""
    index, class_id = await bff.class_of(db, class_label, branch)
    payload = index.class_refs_to_ids(body)
    answer = await bff.call("PUT", _path(db, class_id), params=bff.query(), json=payload)
    bff.schema_changed(db)
    return relay(answer)


@router.delete("/{class_label:path}", status_code=202)
async def delete_class(
    db: str, class_label: str, bff: Writer, expected_seq: ExpectedSeq, branch: Branch = "main"
) -> JSONResponse:
    _, class_id = await bff.class_of(db, class_label, branch)
    answer = await bff.call("DELETE", _path(db, class_id), params=bff.query())
    bff.schema_changed(db)
    return relay(answer)
