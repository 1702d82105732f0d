"""Whole-schema exchange, shared by OMS's schema routes and `spice schema|ontology`: the
forms a schema is written in, reading any of them back, and importing in one commit."""

from __future__ import annotations

import json
from typing import Any, Literal

from spice_harvester.application.commands import CommandRunner, WaitingRunner, WriteOutcome
from spice_harvester.application.ontology import stored_classes
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.exchange import classes_from_document, schema_document
from spice_harvester.domain.ontology.rdf import export_jsonld, export_rdfxml, export_turtle
from spice_harvester.domain.ontology.rdf_import import import_rdf
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.ports.commands import CommandRecord
from spice_harvester.ports.versioned_store import VersionedStore

ImportFormat = Literal["json", "jsonld", "turtle", "xml"]
# The file forms `spice schema export` writes: the spice-schema JSON document, JSON-LD, and
# OWL as Turtle or as RDF/XML.
FileFormat = Literal["json", "jsonld", "owl-turtle", "owl-xml"]
IMPORT_FORM: dict[FileFormat, ImportFormat] = {
    "json": "json",
    "jsonld": "jsonld",
    "owl-turtle": "turtle",
    "owl-xml": "xml",
}


def base_iri(db: str) -> str:
    return f"https://spice-harvester.dev/db/{db}/"


def sorted_classes(store: VersionedStore, db: str, ref: str) -> list[ClassDef]:
    """Every class at `ref`, in id order (what an export holds)."""
    return sorted(
        (c.definition for c in stored_classes(store, db, ref).values()), key=lambda c: c.id
    )


def schema_text(classes: list[ClassDef], db: str, form: FileFormat) -> str:
    """The classes as a file's text in `form`; every form reads back with `parse_schema`."""
    if form == "json":
        document = schema_document(classes, database=db)
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if form == "jsonld":
        return json.dumps(export_jsonld(classes, base_iri=base_iri(db)), ensure_ascii=False)
    if form == "owl-xml":
        return export_rdfxml(classes, base_iri=base_iri(db))
    return export_turtle(classes, base_iri=base_iri(db))


def parse_schema(text: str, form: ImportFormat) -> list[ClassDef]:
    """The classes of an export in any form, each validated as a client's class."""
    if form == "turtle" or form == "xml":
        return import_rdf(text, form)
    if form == "jsonld":
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


def import_schema(
    store: VersionedStore,
    runner: CommandRunner | WaitingRunner,
    limits: SchemaLimits,
    *,
    db: str,
    branch: str,
    classes: list[ClassDef],
    actor: str,
    command_id: str,
) -> CommandRecord:
    """Writes every class of an export into `db`/`branch` in one commit, as `ImportSchema`."""
    importer = SchemaImport(store, limits)
    return runner.run(
        kind="ImportSchema",
        db_name=db,
        actor=actor,
        payload={"branch": branch, "classes": [c.to_api() for c in classes]},
        command_id=command_id,
        action=lambda cid: importer.write(db, branch, classes, cid, actor),
    )
