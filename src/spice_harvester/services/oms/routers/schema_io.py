"""Whole-schema export (JSON, JSON-LD, OWL as Turtle or RDF/XML) and import in one commit."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.application.ontology import limits_from, stored_classes
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.exchange import classes_from_document, schema_document
from spice_harvester.domain.ontology.rdf import export_jsonld, export_rdfxml, export_turtle
from spice_harvester.domain.ontology.rdf_import import import_rdf
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.ports.versioned_store import VersionedStore
from spice_harvester.services.oms.deps import Store, actor, command_id
from spice_harvester.services.responses import accepted, ok

router = APIRouter(prefix="/api/v1/database/{db}/schema", tags=["ontology"])
Format = Literal["json", "jsonld", "owl"]
OwlSyntax = Literal["turtle", "xml"]
ImportFormat = Literal["json", "jsonld", "turtle", "xml"]


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


def base_iri(db: str) -> str:
    return f"https://spice-harvester.dev/db/{db}/"


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
    classes = [c.definition for c in stored_classes(store, db, at or branch).values()]
    return render(sorted(classes, key=lambda c: c.id), db, format, syntax)


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
    classes = _parse(text, format)
    resources = request.app.state.resources
    author = actor(request.headers.get("x-actor"))
    importer = SchemaImport(resources.store, limits_from(request.app.state.settings))
    record = await run_in_threadpool(
        resources.commands.run,
        kind="ImportSchema",
        db_name=db,
        actor=author,
        payload={"branch": branch, "classes": [c.to_api() for c in classes]},
        command_id=command_id(
            request.headers.get("idempotency-key"), request.headers.get("x-command-id")
        ),
        action=lambda cid: importer.write(db, branch, classes, cid, author),
    )
    return accepted(record, f"imported {len(classes)} class(es) into {db}/{branch}")


def _parse(text: str, format: ImportFormat) -> list[ClassDef]:
    if format == "turtle" or format == "xml":
        return import_rdf(text, format)
    if format == "jsonld":
        return import_rdf(text, "json-ld")
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedInput(f"the body is not JSON: {exc}", field="body") from exc
    return classes_from_document(document)


class SchemaImport:
    """Checks the imported classes against the branch's schema as it would be, then commits."""

    def __init__(self, store: VersionedStore, limits: SchemaLimits) -> None:
        self.store = store
        self.limits = limits

    def write(
        self, db: str, branch: str, classes: list[ClassDef], command_id: str, author: str
    ) -> WriteOutcome:
        current = stored_classes(self.store, db, branch)
        merged = {**{cid: c.definition for cid, c in current.items()}, **{c.id: c for c in classes}}
        schema = Schema(merged, self.limits)
        for c in classes:
            schema.check_class(c, replacing=c.id)
        changes = tuple(
            Change(DocRef.of_class(c.id), ChangeKind.REPLACE, c.to_api()) for c in classes
        )
        message = f"Import {len(classes)} class(es)"
        result = self.store.commit(
            db, CommitRequest(branch, author, message, changes, command_id=command_id)
        )
        return WriteOutcome(
            result.commit.commit_id, db, 0, {"classes": sorted(c.id for c in classes)}
        )
