"""Queries by label: structured queries, graph queries and full-text search, run by OMS on ids.
Answers carry OMS's ids plus `class_label` and `labels` in the client's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import Field

from spice_harvester.application.labels import LabelIndex
from spice_harvester.application.query_labels import (
    graph_to_ids,
    labelled_graph,
    labelled_query,
    labelled_search,
    query_to_ids,
)
from spice_harvester.domain.errors import NotFound, ValidationFailed
from spice_harvester.services.bff.deps import Bff, Reader, part, relay
from spice_harvester.services.bff.routing import bff_router
from spice_harvester.services.query_bodies import GraphBody, QueryFields, SearchSource

router = bff_router(tags=["queries"])
Branch = Annotated[str, Query(min_length=1, max_length=100, description="The branch to use.")]
At = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="A commit id or ref; wins over branch."),
]


class QueryBody(QueryFields):
    class_label: str | None = Field(
        None, min_length=1, max_length=200, description="The class, by label (any language)."
    )
    class_id: str | None = Field(None, min_length=1, max_length=200, description="Or by id.")


async def _named_class(
    bff: Bff, db: str, text: str, branch: str, at: str | None, where: str
) -> tuple[LabelIndex, str]:
    """The class a body names: a label naming no class is 422 naming the body's field."""
    try:
        return await bff.class_of(db, text, branch, at)
    except NotFound as exc:
        raise ValidationFailed(f"{where}: {exc.message}", field=where, data=exc.data) from None


@router.post("/api/v1/database/{db}/query")
async def structured_query(
    db: str, body: QueryBody, bff: Reader, branch: Branch = "main", at: At = None
) -> JSONResponse:
    """A class's instances (its subclasses' too) passing every filter `{field, operator,
    value}`, ordered (absent values last) and paged, with the total. Fields may be labels."""
    where = "class_id" if body.class_label is None and body.class_id is not None else "class_label"
    text = body.class_label or body.class_id
    if text is None:
        raise ValidationFailed("class_label: name the class (class_label or class_id)", field=where)
    index, class_id = await _named_class(bff, db, text, branch, at, where)
    payload = query_to_ids(index, class_id, body.model_dump(exclude={"class_label", "class_id"}))
    path = f"/api/v1/query/{part(db)}"
    answer = await bff.call("POST", path, params=bff.query(), json=payload)
    return relay(answer, labelled_query(answer.data, index, class_id, bff.languages))


@router.post("/api/v1/graph-query/{db}")
async def graph_query(
    db: str, body: GraphBody, bff: Reader, branch: Branch = "main", at: At = None
) -> JSONResponse:
    """From a page of `start_class` instances along `hops` (each `{predicate, target_class?,
    direction?: out|in, filters?, select?}`, labels allowed) to `nodes` and `edges`, with
    `next_offset` for the next page of start nodes and `warnings` when a cap was hit."""
    index, start = await _named_class(bff, db, body.start_class, branch, at, "start_class")
    payload = graph_to_ids(index, start, body.model_dump())
    answer = await bff.call("POST", f"/api/v1/graph/{part(db)}", params=bff.query(), json=payload)
    return relay(answer, labelled_graph(answer.data, index, bff.languages))


@router.get("/api/v1/database/{db}/search")
async def search(
    db: str,
    bff: Reader,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Words to look for.")],
    class_label: Annotated[
        str | None,
        Query(alias="class", min_length=1, max_length=200, description="Only this class."),
    ] = None,
    branch: Branch = "main",
    at: At = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    source: SearchSource = "auto",
) -> JSONResponse:
    """Instances whose id or string values hold the words of `q` (case- and width-insensitive,
    Korean and Japanese included), best first: more words matched, then a field equal to the
    whole query. `source` and `index_status` say whether the search read model answered."""
    if class_label is not None:
        index, class_id = await _named_class(bff, db, class_label, branch, at, "class")
        params = bff.query(drop=("class",), class_id=class_id)
    else:
        index = await bff.index(db, branch, at)
        params = bff.query()
    answer = await bff.call("GET", f"/api/v1/search/{part(db)}", params=params)
    return relay(answer, labelled_search(answer.data, index, bff.languages))
