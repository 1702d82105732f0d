"""Bulk create checks: every row validated before anything is written, problems told per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spice_harvester.application.instance_links import (
    missing_targets,
    taken_values,
    unique_properties,
    value_key,
)
from spice_harvester.application.instance_values import Prepared, instance_class, prepare
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import ResolvedClass, Schema
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.ports.versioned_store import VersionedStore

MAX_BULK = 10_000
ROW_ERRORS_SHOWN = 100

RowError = dict[str, Any]


def prepared_ref(prepared: Prepared) -> DocRef:
    assert prepared.id is not None, "a prepared create has its id"
    return DocRef.of_instance(prepared.class_id, prepared.id)


def check_rows(
    store: VersionedStore,
    db: str,
    head: str,
    schema: Schema,
    class_id: str,
    rows: Sequence[object],
) -> list[Prepared]:
    """The rows ready to create, or one 422 whose `data.errors` lists `{row, field, message,
    code}` (the first 100, by row) and `data.error_count` all of them."""
    if not rows:
        raise ValidationFailed("instances is empty", field="instances")
    if len(rows) > MAX_BULK:
        raise ValidationFailed(
            f"{len(rows)} instances in one request; the limit is {MAX_BULK}", field="instances"
        )
    resolved = instance_class(schema, class_id)
    errors: list[RowError] = []
    good: dict[int, Prepared] = {}
    for row, payload in enumerate(rows):
        try:
            good[row] = prepare(schema, class_id, _unwrapped(payload, resolved), partial=False)
        except ValidationFailed as exc:
            errors += _row_errors(row, exc)
    errors += _clashes(store, db, head, schema, resolved, good)
    if errors:
        errors.sort(key=lambda e: int(e["row"]))
        failed = len({e["row"] for e in errors})
        raise ValidationFailed(
            f"{failed} of {len(rows)} rows are invalid; nothing was written "
            f"(row {errors[0]['row']}: {errors[0]['message']})",
            field="instances",
            data={"errors": errors[:ROW_ERRORS_SHOWN], "error_count": len(errors)},
        )
    return list(good.values())


def _clashes(
    store: VersionedStore,
    db: str,
    head: str,
    schema: Schema,
    resolved: ResolvedClass,
    good: dict[int, Prepared],
) -> list[RowError]:
    """Rows clashing with stored data or with each other: ids, link targets, unique values."""
    errors: list[RowError] = []
    first: dict[str, int] = {}
    for row, p in good.items():
        doc_id = prepared_ref(p).doc_id
        if doc_id in first:
            message = f"id {doc_id!r} repeats row {first[doc_id]}"
            errors.append(_error(row, "id", message, "already_exists"))
        first.setdefault(doc_id, row)
    existing = store.get_many(db, head, [DocRef.of_instance(resolved.id, i) for i in first])
    for row, p in good.items():
        if prepared_ref(p).key in existing:
            message = f"{resolved.id}/{p.id} already exists"
            errors.append(_error(row, "id", message, "already_exists"))
    # A row may point at another row of the same request: it exists once the commit lands.
    pending = frozenset((resolved.id, i) for i in first)
    owners = {id(link): row for row, p in good.items() for link in p.links}
    links = [link for p in good.values() for link in p.links]
    for link, target_id in missing_targets(store, db, head, schema, links, pending):
        message = f"{link.field}: no {link.target} with id {target_id!r} on this branch"
        errors.append(_error(owners[id(link)], link.field, message))
    names = unique_properties(resolved)
    if not names:
        return errors
    wanted = {name: [p.data[name] for p in good.values() if name in p.data] for name in names}
    taken = taken_values(store, db, head, schema, resolved, wanted)
    for row, p in good.items():
        own = (resolved.id, prepared_ref(p).doc_id)
        for name in names:
            if p.data.get(name) is None:
                continue
            holder = taken[name].setdefault(value_key(p.data[name]), own)
            if holder != own:
                message = f"{name} {p.data[name]!r} is already used by {'/'.join(holder)}"
                errors.append(_error(row, name, message, "already_exists"))
    return errors


def _unwrapped(payload: object, resolved: ResolvedClass) -> object:
    """A row is the fields themselves or, as single writes take them, `{data: {...}}`
    (unless the class has a field called `data`)."""
    if not (isinstance(payload, dict) and set(payload) == {"data"}):
        return payload
    own_field = resolved.property("data") or resolved.relationship("data")
    return payload["data"] if isinstance(payload["data"], dict) and not own_field else payload


def _error(row: int, field: str | None, message: str, code: str = "validation_failed") -> RowError:
    return {"row": row, "field": field, "message": message, "code": code}


def _row_errors(row: int, exc: ValidationFailed) -> list[RowError]:
    listed = (exc.data or {}).get("errors")
    if isinstance(listed, list) and listed:
        return [_error(row, e.get("field"), str(e.get("message"))) for e in listed]
    return [_error(row, exc.field, exc.message)]
