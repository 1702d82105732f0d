"""Whole-schema export (JSON, JSON-LD, OWL as Turtle or RDF/XML) and import in one commit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from spice_harvester.application.ontology import limits_from
from spice_harvester.application.schema_exchange import (
    ImportFormat,
    base_iri,
    parse_schema,
    sorted_classes,
)
from spice_harvester.application.schema_exchange import import_schema as import_schema_command
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.exchange import schema_document
from spice_harvester.domain.ontology.rdf import export_jsonld, export_rdfxml, export_turtle
from spice_harvester.services.oms.deps import Store, actor, command_id
from spice_harvester.services.responses import accepted, ok

router = APIRouter(prefix="/api/v1/database/{db}/schema", tags=["ontology"])
Format = Literal["json", "jsonld", "owl"]
OwlSyntax = Literal["turtle", "xml"]


# What an export answers with, by `format` (and `syntax` for OWL), for the OpenAPI document.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "json: the spice-schema document in the envelope; jsonld: JSON-LD; "
        "owl: Turtle (syntax=turtle) or RDF/XML (syntax=xml).",
        "content": {
            "application/json": {},
            "application/ld+json": {},
            "text/turtle": {},
            "application/rdf+xml": {},
        },
    }
}


def render(classes: list[ClassDef], db: str, format: Format, syntax: OwlSyntax) -> Response:
    """One schema in the asked form; JSON in the envelope, the RDF forms as documents."""
    if format == "json":
        return ok(schema_document(classes, database=db), f"{len(classes)} class(es)")
    if format == "jsonld":
        return JSONResponse(
            export_jsonld(classes, base_iri=base_iri(db)), media_type="application/ld+json"
        )
    if syntax == "xml":
        return Response(
            export_rdfxml(classes, base_iri=base_iri(db)), media_type="application/rdf+xml"
        )
    return Response(export_turtle(classes, base_iri=base_iri(db)), media_type="text/turtle")


@router.get("", responses=EXPORT_RESPONSES)
def export_schema(
    db: str,
    store: Store,
    branch: Annotated[str, Query(max_length=100)] = "main",
    at: Annotated[str | None, Query(max_length=200)] = None,
    format: Format = "json",
    syntax: OwlSyntax = "turtle",
) -> Response:
    return render(sorted_classes(store, db, at or branch), db, format, syntax)


@router.post("/import", status_code=202)
async def import_schema(
    db: str,
    request: Request,
    format: ImportFormat = "json",
    branch: Annotated[str, Query(max_length=100)] = "main",
) -> Response:
    """Reads an export (any of the forms above) and writes all its classes in one commit."""
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInput("the body is not UTF-8 text", field="body") from exc
    classes = parse_schema(text, format)
    resources = request.app.state.resources
    record = await run_in_threadpool(
        import_schema_command,
        resources.store,
        resources.commands,
        limits_from(request.app.state.settings),
        db=db,
        branch=branch,
        classes=classes,
        actor=actor(request.headers.get("x-actor")),
        command_id=command_id(
            request.headers.get("idempotency-key"), request.headers.get("x-command-id")
        ),
    )
    return accepted(record, f"imported {len(classes)} class(es) into {db}/{branch}")
