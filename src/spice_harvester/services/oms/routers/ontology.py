"""Classes: create, list, read, replace, delete, validate, export, and the relationship graph."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.application.ontology import (
    ClassWriter,
    get_class,
    limits_from,
    load_schema,
    stored_classes,
)
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.graph import relationship_cycles, relationship_paths
from spice_harvester.domain.versioning.model import CommitResult
from spice_harvester.services.oms.deps import Actor, AppSettings, CommandId, Runner, Store
from spice_harvester.services.oms.routers.schema_io import (
    EXPORT_RESPONSES,
    Format,
    OwlSyntax,
    render,
)
from spice_harvester.services.responses import accepted, listed, ok

router = APIRouter(prefix="/api/v1/database/{db}/ontology", tags=["ontology"])
Branch = Annotated[str, Query(min_length=1, max_length=100)]
At = Annotated[str | None, Query(max_length=200, description="A commit id or a ref.")]
ClassBody = Annotated[dict[str, Any], Body(description="A class, as in API.md.")]
GRAPH_LIMIT = 100


def _outcome(class_id: str, result: CommitResult) -> WriteOutcome:
    version = result.versions.get(f"class:{class_id}", 0)
    return WriteOutcome(
        result.commit.commit_id,
        class_id,
        version,
        {"class_id": class_id, "updated": sorted(result.versions)},
    )


@router.post("", status_code=202)
def create_class(
    db: str,
    body: ClassBody,
    store: Store,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    settings: AppSettings,
    branch: Branch = "main",
) -> JSONResponse:
    writer = ClassWriter(store, limits_from(settings))

    def run(cid: str) -> WriteOutcome:
        created, result = writer.create(db, branch, body, actor, cid)
        return _outcome(created.id, result)

    record = runner.run(
        kind="CreateClass",
        db_name=db,
        actor=actor,
        payload={"branch": branch, "class": body},
        command_id=command_id,
        action=run,
    )
    return accepted(record, f"class '{(record.result or {}).get('class_id')}' created")


@router.get("")
def list_classes(
    db: str,
    store: Store,
    branch: Branch = "main",
    at: At = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    found = sorted(stored_classes(store, db, at or branch).values(), key=lambda c: c.definition.id)
    page = [c.as_api() for c in found[offset : offset + limit]]
    return listed("ontologies", page, len(found), limit, offset)


@router.post("/validate")
def validate_class(
    db: str,
    body: ClassBody,
    store: Store,
    settings: AppSettings,
    branch: Branch = "main",
    replacing: str | None = None,
) -> JSONResponse:
    """Checks a class against the branch's schema without saving anything."""
    new = ClassDef.from_api(body)
    schema = load_schema(store, db, branch, limits_from(settings))
    schema.check_class(new, replacing=replacing)
    return ok(
        {
            "valid": True,
            "class": new.to_api(),
            "inverse_updates": [c.to_api() for c in schema.inverse_updates(new)],
        },
        f"class '{new.id}' is valid",
    )


@router.get("/graph/cycles")
def graph_cycles(
    db: str, store: Store, settings: AppSettings, branch: Branch = "main", at: At = None
) -> JSONResponse:
    schema = load_schema(store, db, at or branch, limits_from(settings))
    cycles = relationship_cycles(schema, limit=GRAPH_LIMIT)
    return ok(
        {"cycles": cycles, "truncated": len(cycles) == GRAPH_LIMIT}, f"{len(cycles)} cycle(s)"
    )


@router.get("/graph/paths")
def graph_paths(
    db: str,
    store: Store,
    settings: AppSettings,
    source: str,
    target: str,
    branch: Branch = "main",
    at: At = None,
    max_depth: Annotated[int | None, Query(ge=1, le=20)] = None,
) -> JSONResponse:
    limits = limits_from(settings)
    schema = load_schema(store, db, at or branch, limits)
    paths = relationship_paths(
        schema, source, target, max_depth or limits.max_relationship_depth, limit=GRAPH_LIMIT
    )
    shaped = [[{"from": a, "predicate": p, "to": b} for a, p, b in path] for path in paths]
    return ok(
        {"paths": shaped, "truncated": len(paths) == GRAPH_LIMIT},
        f"{len(paths)} path(s) from {source} to {target}",
    )


@router.get("/{class_id}")
def read_class(
    db: str, class_id: str, store: Store, branch: Branch = "main", at: At = None
) -> JSONResponse:
    return ok(get_class(store, db, at or branch, class_id).as_api())


@router.get("/{class_id}/schema", responses=EXPORT_RESPONSES)
def class_schema(
    db: str,
    class_id: str,
    store: Store,
    settings: AppSettings,
    branch: Branch = "main",
    at: At = None,
    format: Format = "json",
    syntax: OwlSyntax = "turtle",
) -> Response:
    """The class with everything it inherits as JSON, or the class as JSON-LD or OWL."""
    ref = at or branch
    if format != "json":
        return render([get_class(store, db, ref, class_id).definition], db, format, syntax)
    schema = load_schema(store, db, ref, limits_from(settings))
    resolved = schema.resolved(get_class(store, db, ref, class_id).definition.id)
    return ok(
        {
            **resolved.definition.to_api(),
            "ancestors": list(resolved.ancestors),
            "effective_key": list(resolved.key),
            "effective_properties": [
                p.model_dump(mode="json", exclude_none=True) for p in resolved.properties
            ],
            "effective_relationships": [
                r.model_dump(mode="json", exclude_none=True) for r in resolved.relationships
            ],
        }
    )


@router.put("/{class_id}", status_code=202)
def replace_class(
    db: str,
    class_id: str,
    body: ClassBody,
    store: Store,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    settings: AppSettings,
    expected_seq: Annotated[int, Query(ge=0)],
    branch: Branch = "main",
) -> JSONResponse:
    writer = ClassWriter(store, limits_from(settings))

    def run(cid: str) -> WriteOutcome:
        _, result = writer.update(db, branch, class_id, body, expected_seq, actor, cid)
        return _outcome(class_id, result)

    record = runner.run(
        kind="UpdateClass",
        db_name=db,
        actor=actor,
        payload={"branch": branch, "class": body, "expected_seq": expected_seq},
        command_id=command_id,
        action=run,
    )
    return accepted(record, f"class '{class_id}' updated")


@router.delete("/{class_id}", status_code=202)
def delete_class(
    db: str,
    class_id: str,
    store: Store,
    runner: Runner,
    actor: Actor,
    command_id: CommandId,
    settings: AppSettings,
    expected_seq: Annotated[int, Query(ge=0)],
    branch: Branch = "main",
) -> JSONResponse:
    writer = ClassWriter(store, limits_from(settings))

    def run(cid: str) -> WriteOutcome:
        return _outcome(class_id, writer.delete(db, branch, class_id, expected_seq, actor, cid))

    record = runner.run(
        kind="DeleteClass",
        db_name=db,
        actor=actor,
        payload={"branch": branch, "class_id": class_id, "expected_seq": expected_seq},
        command_id=command_id,
        action=run,
    )
    return accepted(record, f"class '{class_id}' deleted")
