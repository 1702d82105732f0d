"""Bulk create checks: every row validated before anything is written, problems told per row.

The same checks serve an import, whose rows come in chunks: a `Ledger` carries what earlier
chunks will have written (ids, unique values) into the checks of later ones, so a chunk is
judged as it will be when the chunks before it are committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spice_harvester.application.instance_links import (
    InstanceKey,
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


@dataclass
class Ledger:
    """The rows earlier chunks of one write will have created: id -> row, and per unique
    property the value (as `value_key`) -> holder."""

    class_id: str
    ids: dict[str, int] = field(default_factory=dict)
    unique: dict[str, dict[str, InstanceKey]] = field(default_factory=dict)

    def record(self, good: Mapping[int, Prepared], names: Iterable[str]) -> None:
        names = list(names)
        for row, p in good.items():
            doc_id = prepared_ref(p).doc_id
            self.ids[doc_id] = row
            for name in names:
                if p.data.get(name) is not None:
                    held = self.unique.setdefault(name, {})
                    held.setdefault(value_key(p.data[name]), (self.class_id, doc_id))


@dataclass(frozen=True)
class _Pending:
    """Link targets about to exist: this chunk's rows and the ledger's."""

    class_id: str
    own: frozenset[str]
    earlier: Mapping[str, int]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2 or key[0] != self.class_id:
            return False
        return key[1] in self.own or key[1] in self.earlier


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
    good, errors = inspect_rows(store, db, head, schema, class_id, list(enumerate(rows)))
    if errors:
        failed = len({e["row"] for e in errors})
        raise ValidationFailed(
            f"{failed} of {len(rows)} rows are invalid; nothing was written "
            f"(row {errors[0]['row']}: {errors[0]['message']})",
            field="instances",
            data={"errors": errors[:ROW_ERRORS_SHOWN], "error_count": len(errors)},
        )
    return list(good.values())


def inspect_rows(
    store: VersionedStore,
    db: str,
    head: str,
    schema: Schema,
    class_id: str,
    rows: Sequence[tuple[int, object]],
    *,
    ledger: Ledger | None = None,
) -> tuple[dict[int, Prepared], list[RowError]]:
    """Every (row number, payload) prepared and checked against the data at `head` (plus the
    ledger's rows): the rows that can be created, and the others' errors sorted by row. A row
    is left out when it fails, and the rest are checked again, so that nothing kept points at
    a row left out."""
    resolved = instance_class(schema, class_id)
    errors: list[RowError] = []
    good: dict[int, Prepared] = {}
    for row, payload in rows:
        try:
            good[row] = prepare(schema, class_id, _unwrapped(payload, resolved), partial=False)
        except ValidationFailed as exc:
            errors += _row_errors(row, exc)
    while good:
        found = clashes(store, db, head, schema, resolved, good, ledger=ledger)
        if not found:
            break
        errors += found
        for error in found:
            good.pop(int(error["row"]), None)
    errors.sort(key=lambda e: int(e["row"]))
    return good, errors


def clashes(
    store: VersionedStore,
    db: str,
    head: str,
    schema: Schema,
    resolved: ResolvedClass,
    good: Mapping[int, Prepared],
    *,
    ledger: Ledger | None = None,
) -> list[RowError]:
    """Rows clashing with stored data, with the ledger's rows or with each other: ids, link
    targets, unique values."""
    errors: list[RowError] = []
    earlier: Mapping[str, int] = ledger.ids if ledger is not None else {}
    first: dict[str, int] = {}
    for row, p in good.items():
        doc_id = prepared_ref(p).doc_id
        if doc_id in earlier or doc_id in first:
            message = f"id {doc_id!r} repeats row {earlier.get(doc_id, first.get(doc_id))}"
            errors.append(_error(row, "id", message, "already_exists", doc_id))
        first.setdefault(doc_id, row)
    existing = store.get_many(db, head, [DocRef.of_instance(resolved.id, i) for i in first])
    for row, p in good.items():
        if prepared_ref(p).key in existing:
            message = f"{resolved.id}/{p.id} already exists"
            errors.append(_error(row, "id", message, "already_exists", p.id))
    # A row may point at another row of the same write: it exists once the commit lands.
    pending = _Pending(resolved.id, frozenset(first), earlier)
    owners = {id(link): row for row, p in good.items() for link in p.links}
    links = [link for p in good.values() for link in p.links]
    for link, target_id in missing_targets(store, db, head, schema, links, pending):
        message = f"{link.field}: no {link.target} with id {target_id!r} on this branch"
        errors.append(_error(owners[id(link)], link.field, message, value=target_id))
    names = _looked_up(schema, resolved)
    if names:
        errors += _unique_clashes(store, db, head, schema, resolved, good, names, ledger)
    return errors


def _looked_up(schema: Schema, resolved: ResolvedClass) -> list[str]:
    """The unique properties whose values must be looked up. A class's whole key, when the
    class declares it and has no subclass, is unique already: equal values make equal ids,
    which the id checks catch."""
    names = unique_properties(resolved)
    key = resolved.key
    if (
        len(key) == 1
        and key[0] in names
        and resolved.declared_by.get(key[0]) == resolved.id
        and not schema.subclasses(resolved.id)
    ):
        names.remove(key[0])
    return names


def _unique_clashes(
    store: VersionedStore,
    db: str,
    head: str,
    schema: Schema,
    resolved: ResolvedClass,
    good: Mapping[int, Prepared],
    names: list[str],
    ledger: Ledger | None,
) -> list[RowError]:
    errors: list[RowError] = []
    wanted = {name: [p.data[name] for p in good.values() if name in p.data] for name in names}
    taken = taken_values(store, db, head, schema, resolved, wanted)
    if ledger is not None:
        for name in names:
            held = ledger.unique.get(name, {})
            for value in wanted[name]:
                key = value_key(value)
                if key in held:
                    taken[name].setdefault(key, held[key])
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


def _error(
    row: int,
    field: str | None,
    message: str,
    code: str = "validation_failed",
    value: str | None = None,
) -> RowError:
    error: RowError = {"row": row, "field": field, "message": message, "code": code}
    if value is not None:
        error["value"] = value  # what clashed, when the field alone does not say
    return error


def _row_errors(row: int, exc: ValidationFailed) -> list[RowError]:
    listed = (exc.data or {}).get("errors")
    if isinstance(listed, list) and listed:
        return [_error(row, e.get("field"), str(e.get("message"))) for e in listed]
    return [_error(row, exc.field, exc.message)]
