"""An instance payload checked against its class: known fields, required ones, values by type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spice_harvester.application.instance_ids import derive_id, id_problem, id_source
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.classes import Problem, RelationshipDef, problems_error
from spice_harvester.domain.ontology.schema import ResolvedClass, Schema
from spice_harvester.domain.ontology.values import normalize

MANY = frozenset({"1:n", "n:m"})
_NAMES_SHOWN = 20


@dataclass(frozen=True)
class Link:
    """The targets one relationship field of a write points at."""

    field: str
    target: str
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    """A payload ready to store: normalised values, fields to unset, links to check."""

    class_id: str
    id: str | None  # None for an update, whose id comes from the path
    data: dict[str, Any]
    unset: tuple[str, ...] = ()
    links: tuple[Link, ...] = field(default_factory=tuple)


def instance_class(schema: Schema, class_id: str) -> ResolvedClass:
    """The class instances are written to: it must exist and not be abstract (422 otherwise)."""
    if class_id not in schema:
        raise ValidationFailed(f"class '{class_id}' does not exist", field="class_id")
    resolved = schema.resolved(class_id)
    if resolved.definition.abstract:
        raise ValidationFailed(
            f"class '{class_id}' is abstract: create instances of a subclass", field="class_id"
        )
    return resolved


def is_many(relationship: RelationshipDef) -> bool:
    return relationship.cardinality in MANY


def prepare(
    schema: Schema,
    class_id: str,
    payload: object,
    *,
    partial: bool,
    instance_id: str | None = None,
    current: Mapping[str, Any] | None = None,
) -> Prepared:
    """Checks and normalises one payload; every problem found is reported in one 422.

    On create (`partial=False`) defaults are filled, required fields enforced and the id derived.
    On update only the given fields are checked; `null` unsets a field unless it is required, and
    fields the id derives from cannot change (`instance_id`, `current`: the stored instance).
    """
    resolved = instance_class(schema, class_id)
    if not isinstance(payload, Mapping):
        raise ValidationFailed("data must be a JSON object of field values", field="data")
    problems: list[Problem] = []
    data: dict[str, Any] = {}
    unset: list[str] = []
    links: list[Link] = []
    for name, value in payload.items():
        prop = resolved.property(name)
        rel = resolved.relationship(name) if prop is None else None
        if prop is None and rel is None:
            problems.append((name, f"unknown field {name!r}{_expected(resolved)}"))
        elif value is None or (rel is not None and value == []):
            _leave_out(name, prop is not None and prop.required, rel, partial, unset, problems)
        elif prop is not None:
            try:
                data[name] = normalize(value, prop.type, prop.constraints, field=name)
            except ValidationFailed as exc:
                problems.append((exc.field or name, exc.message))
        elif rel is not None:
            ids = _link_ids(rel, value, problems)
            if ids:
                data[name] = list(ids) if is_many(rel) else ids[0]
                links.append(Link(name, rel.target, ids))
    if not partial:
        _complete(resolved, data, problems)
    if problems:
        raise problems_error(problems)
    if partial:
        _keep_id(resolved, instance_id, current or {}, data, unset)
        return Prepared(class_id, None, data, tuple(unset), tuple(links))
    return Prepared(class_id, derive_id(resolved, data), data, (), tuple(links))


def _leave_out(
    name: str,
    required: bool,
    rel: RelationshipDef | None,
    partial: bool,
    unset: list[str],
    problems: list[Problem],
) -> None:
    """`null` (or `[]` for a relationship): unset on update, absent on create."""
    if rel is not None:
        required = rel.required
    if partial and required:
        problems.append((name, f"{name} is required and cannot be unset"))
    elif partial:
        unset.append(name)


def _link_ids(rel: RelationshipDef, value: Any, problems: list[Problem]) -> tuple[str, ...]:
    """Target ids of one relationship field: one id for *:1, a list for *:n (one id is wrapped)."""
    name = rel.predicate
    if not is_many(rel):
        if not isinstance(value, str):
            problems.append((name, f"{name} takes one target id ({rel.cardinality}), as text"))
            return ()
        problem = id_problem(value)
        if problem is not None:
            problems.append((name, f"{name} {problem}"))
            return ()
        return (value,)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        problems.append((name, f"{name} takes a list of target ids ({rel.cardinality})"))
        return ()
    ids: list[str] = []
    for index, item in enumerate(items):
        problem = id_problem(item)
        if problem is not None:
            problems.append((f"{name}[{index}]", f"{name}[{index}] {problem}"))
        elif item not in ids:  # a link set has no multiplicity
            ids.append(item)
    return tuple(ids)


def _complete(resolved: ResolvedClass, data: dict[str, Any], problems: list[Problem]) -> None:
    """Defaults filled in, then every required property and relationship present."""
    for prop in resolved.properties:
        if prop.name not in data and prop.default is not None:
            data[prop.name] = prop.default
    named = {name for name, _ in problems}
    for prop in resolved.properties:
        if prop.required and prop.name not in data and prop.name not in named:
            problems.append((prop.name, f"{prop.name} is required"))
    for rel in resolved.relationships:
        if rel.required and rel.predicate not in data and rel.predicate not in named:
            problems.append((rel.predicate, f"{rel.predicate} is required (a {rel.target} id)"))
    for name in resolved.key:
        if name not in data and name not in named:
            problems.append((name, f"{name} is required: it is part of the key of {resolved.id}"))


def _keep_id(
    resolved: ResolvedClass,
    instance_id: str | None,
    current: Mapping[str, Any],
    data: Mapping[str, Any],
    unset: list[str],
) -> None:
    """An update may not change what the instance's id was derived from."""
    merged = {**current, **data}
    for name in unset:
        merged.pop(name, None)
    touched = [name for name in id_source(resolved, merged) if name in data or name in unset]
    touched += [name for name in id_source(resolved, current) if name in unset]
    if not touched or instance_id is None:
        return
    name = touched[0]
    if name in unset or derive_id(resolved, merged) != instance_id:
        raise ValidationFailed(
            f"{name} cannot change: the id {instance_id!r} derives from it", field=name
        )


def _expected(resolved: ResolvedClass) -> str:
    names = [p.name for p in resolved.properties] + [r.predicate for r in resolved.relationships]
    if not names:
        return f"; {resolved.id} has no fields"
    more = ", ..." if len(names) > _NAMES_SHOWN else ""
    return f"; expected one of: {', '.join(names[:_NAMES_SHOWN])}{more}"
