"""Queries by id, run next to the store: structured queries, graph traversal, full-text search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from spice_harvester.application.graph import GraphRequest, GraphRunner, HopQuery
from spice_harvester.application.ontology import limits_from
from spice_harvester.application.query import QueryRequest, QueryRunner
from spice_harvester.application.search import SearchRunner
from spice_harvester.services.oms.deps import AppSettings, Store, resources
from spice_harvester.services.query_bodies import GraphBody, QueryFields, SearchSource
from spice_harvester.services.responses import ok

router = APIRouter(tags=["queries"])

Branch = Annotated[str, Query(min_length=1, max_length=100, description="The branch to use.")]
At = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="A commit id or ref; wins over branch."),
]


class QueryBody(QueryFields):
    class_id: str


@router.post("/api/v1/query/{db}")
def structured_query(
    db: str,
    body: QueryBody,
    store: Store,
    settings: AppSettings,
    branch: Branch = "main",
    at: At = None,
) -> JSONResponse:
    """The class's instances (its subclasses' too) passing every filter, ordered (absent
    values last) and paged, with the total of matches."""
    request = QueryRequest(
        body.class_id,
        [f.model_dump() for f in body.filters],
        body.select,
        body.order_by,
        body.order_direction,
        body.limit,
        body.offset,
    )
    data = QueryRunner(store, limits_from(settings)).run(db, request, branch, at)
    count = len(data["instances"])
    return ok(data, f"{count} of {data['total']} {body.class_id} instance(s)")


@router.post("/api/v1/graph/{db}")
def graph_query(
    db: str,
    body: GraphBody,
    store: Store,
    settings: AppSettings,
    branch: Branch = "main",
    at: At = None,
) -> JSONResponse:
    """A page of start nodes and what the hops reach from them: nodes, edges, the page's
    `next_offset`, and `warnings` when a cap stopped the traversal."""
    request = GraphRequest(
        start_class=body.start_class,
        hops=[
            HopQuery(
                h.predicate,
                h.target_class,
                h.direction,
                [f.model_dump() for f in h.filters],
                h.select,
            )
            for h in body.hops
        ],
        filters=[f.model_dump() for f in body.filters],
        select=body.select,
        limit=body.limit,
        offset=body.offset,
        max_nodes=body.max_nodes,
        max_edges=body.max_edges,
        no_cycles=body.no_cycles,
        include_documents=body.include_documents,
    )
    data = GraphRunner(store, limits_from(settings)).run(db, request, branch, at)
    return ok(data, f"{len(data['nodes'])} node(s), {len(data['edges'])} edge(s)")


@router.get("/api/v1/search/{db}")
def search(
    request: Request,
    db: str,
    store: Store,
    settings: AppSettings,
    q: Annotated[str, Query(min_length=1, max_length=500, description="Words to look for.")],
    class_id: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Only this class.")
    ] = None,
    branch: Branch = "main",
    at: At = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    source: SearchSource = "auto",
) -> JSONResponse:
    """Instances whose id or string values hold the query's terms (case-, width- and
    accent-form-insensitive), best first."""
    index = resources(request).search_index
    data = SearchRunner(store, limits_from(settings), index).run(
        db, q, class_id=class_id, branch=branch, at=at, limit=limit, source=source
    )
    return ok(data, f"{len(data['hits'])} of {data['total']} hit(s)")
