"""Suggesting a class from rows: Funnel profiles them, BFF labels the properties with the
column names and compares the class with the database's own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, JsonValue

from spice_harvester.adapters.funnel_client import FunnelClient
from spice_harvester.application.labels import LabelIndex
from spice_harvester.application.suggested_class import differences, with_column_labels
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.services.bff.deps import Reader
from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.responses import ok

router = bff_router(tags=["import"])
Branch = Annotated[
    str, Query(min_length=1, max_length=100, description="The branch to compare with.")
]


class SuggestBody(BaseModel):
    columns: list[str] = Field(description="The column names, distinct; any language.")
    data: list[list[JsonValue]] = Field(description="The rows, one cell per column.")
    class_name: str | None = Field(
        None, min_length=1, max_length=200, description="The class's name (its label)."
    )


@router.post("/api/v1/database/{db}/suggest-schema-from-data")
async def suggest_schema_from_data(
    db: str, body: SuggestBody, bff: Reader, request: Request, branch: Branch = "main"
) -> JSONResponse:
    """Funnel's class for the rows, each property labelled with its column's name; `exists`
    says whether the database already has a class with the suggested id, `existing_class`
    names the class compared with (that one, else one whose label is `class_name`) and
    `differences` what adopting the suggestion would change in it. Nothing is written."""
    index = await bff.index(db, branch)  # a database that does not exist is 404 before work
    funnel: FunnelClient | None = request.app.state.resources.funnel
    assert funnel is not None, "BFF wires its Funnel client at start-up"
    suggestion = await funnel.suggest_schema(
        body.columns, body.data, body.class_name, bff.forwarded
    )
    suggested = with_column_labels(suggestion["class"], suggestion.get("mapping") or {})
    compared = _compared_with(index, suggested, body.class_name)
    return ok(
        {**suggestion, "class": suggested, **compared},
        f"class {suggested['id']} suggested"
        + (" (a class with this id exists)" if compared["exists"] else ""),
    )


def _compared_with(
    index: LabelIndex, suggested: dict[str, Any], class_name: str | None
) -> dict[str, Any]:
    class_id = str(suggested.get("id"))
    exists = class_id in index.by_id
    existing = class_id if exists else _named(index, class_name)
    if existing is None or existing not in index.schema:
        return {"exists": exists, "existing_class": existing, "differences": None}

    fields = index.by_id[existing].fields

    def field_named(text: str) -> str | None:
        try:
            return fields.find(text, field="columns")
        except MalformedInput:  # a label several fields share matches none of them
            return None

    found = differences(suggested, index.schema.resolved(existing), field_named)
    return {"exists": exists, "existing_class": existing, "differences": found}


def _named(index: LabelIndex, class_name: str | None) -> str | None:
    if class_name is None:
        return None
    try:
        return index.classes.find(class_name, field="class_name")
    except MalformedInput:  # a label several classes share names none of them
        return None
