"""Which column fills which field of the target class: matched by name or label, or given.

Matching folds both sides (Unicode NFKC, case, and spaces, underscores, hyphens and dots
dropped), so `Customer ID`, `customer_id` and `CUSTOMER-ID` meet, and a label in any language
counts as much as the field's name. A column named after a relationship with an `id` suffix
(`client_id`) fills that relationship when no field matches it outright.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spice_harvester.application.instance_values import is_many
from spice_harvester.application.labels import Lookup, Named, texts_of
from spice_harvester.domain.errors import NotFound, SpiceError, ValidationFailed
from spice_harvester.domain.ontology.schema import ResolvedClass
from spice_harvester.domain.ontology.types import ValueType

FieldKind = Literal["property", "relationship"]
_NOISE = re.compile(r"[\s_\-.]+")


def fold(text: str) -> str:
    """The form columns and field names or labels are compared in."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True)
class FieldTarget:
    """One field a column fills: a property (with its type) or a relationship."""

    column: str
    field: str
    kind: FieldKind
    type: ValueType | None = None
    many: bool = False

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"column": self.column, "field": self.field, "kind": self.kind}
        if self.type is not None:
            shown["type"] = self.type.value
        if self.kind == "relationship":
            shown["many"] = self.many
        return shown


@dataclass(frozen=True)
class ImportMapping:
    """Columns to fields of one class, with what was left over on either side."""

    class_id: str
    targets: tuple[FieldTarget, ...]
    unmapped: tuple[str, ...] = ()
    missing_required: tuple[str, ...] = ()

    def columns_by_field(self) -> dict[str, str]:
        return {t.field: t.column for t in self.targets}

    def without(self, fields: Iterable[str]) -> ImportMapping:
        """The mapping with some fields left out (filled later, as deferred links are)."""
        dropped = set(fields)
        kept = tuple(t for t in self.targets if t.field not in dropped)
        return ImportMapping(self.class_id, kept, self.unmapped, self.missing_required)

    def only(self, fields: Iterable[str]) -> ImportMapping:
        wanted = set(fields)
        return ImportMapping(self.class_id, tuple(t for t in self.targets if t.field in wanted))

    def fingerprint(self) -> list[list[str]]:
        """What decides the rows built: column -> field pairs, in order."""
        return [[t.column, t.field] for t in self.targets]

    def to_json(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "columns": [t.to_json() for t in self.targets],
            "unmapped": list(self.unmapped),
            "missing_required": list(self.missing_required),
        }


def _target(resolved: ResolvedClass, column: str, field: str) -> FieldTarget:
    prop = resolved.property(field)
    if prop is not None:
        return FieldTarget(column, field, "property", prop.type)
    rel = resolved.relationship(field)
    assert rel is not None, f"{field} is a field of {resolved.id}"
    return FieldTarget(column, field, "relationship", many=is_many(rel))


def _fields(resolved: ResolvedClass) -> list[Named]:
    found = [Named(p.name, p.label, "property") for p in resolved.properties]
    return found + [Named(r.predicate, r.label, "relationship") for r in resolved.relationships]


def suggest_mapping(columns: Sequence[str], resolved: ResolvedClass) -> ImportMapping:
    """Each column matched to the field whose name or label (any language) it folds to; a
    field takes the first column that matches it, later ones are left unmapped."""
    return _mapped(columns, resolved, {})


def mapping_from(
    given: Mapping[str, Any], columns: Sequence[str], resolved: ResolvedClass
) -> ImportMapping:
    """A mapping the client gave (`{column: field | [fields] | {"property": p, "relationship":
    r} | null}`, fields by id or any label; null leaves a column out); the columns it does
    not name are matched as `suggest_mapping` does."""
    known = set(columns)
    lookup = Lookup("field", "fields", _fields(resolved))
    chosen: dict[str, list[str]] = {}
    for column, spec in given.items():
        if column not in known:
            shown = ", ".join(repr(c) for c in columns[:20])
            raise ValidationFailed(
                f"mapping names the column {column!r}, which the file does not have "
                f"(its columns: {shown})",
                field=f"mapping.{column}",
            )
        chosen[column] = [_field_id(lookup, resolved, column, text) for text in _named(spec)]
    return _mapped(columns, resolved, chosen)


def _named(spec: Any) -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, list) and all(isinstance(item, str) for item in spec):
        return list(spec)
    if isinstance(spec, Mapping) and set(spec) <= {"property", "relationship"}:
        return [v for v in (spec.get("property"), spec.get("relationship")) if isinstance(v, str)]
    raise ValidationFailed(
        "a mapping value is a field (id or label), a list of fields, "
        '{"property": ..., "relationship": ...} or null',
        field="mapping",
    )


def _field_id(lookup: Lookup, resolved: ResolvedClass, column: str, text: str) -> str:
    try:
        return lookup.resolve(text, field=f"mapping.{column}", within=resolved.id)
    except NotFound as exc:
        raise ValidationFailed(exc.message, field=f"mapping.{column}") from None
    except SpiceError as exc:  # a label several fields share
        raise ValidationFailed(exc.message, field=f"mapping.{column}", data=exc.data) from None


def _mapped(
    columns: Sequence[str], resolved: ResolvedClass, chosen: Mapping[str, list[str]]
) -> ImportMapping:
    filled = {f for fields in chosen.values() for f in fields}
    targets: list[FieldTarget] = []
    unmapped: list[str] = []
    index = _index(resolved)
    for column in columns:
        if column in chosen:
            fields = chosen[column]
        else:
            fields = [f for f in _matches(index, column) if f not in filled][:1]
            filled.update(fields)
        targets += [_target(resolved, column, f) for f in fields]
        if not fields:
            unmapped.append(column)
    return ImportMapping(
        resolved.id, tuple(targets), tuple(unmapped), tuple(_missing(resolved, filled))
    )


def _index(resolved: ResolvedClass) -> dict[str, list[Named]]:
    """Folded name or label -> fields, properties before relationships."""
    index: dict[str, list[Named]] = {}
    for named in _fields(resolved):
        for text in {named.id, *texts_of(named.label)}:
            fields = index.setdefault(fold(text), [])
            if named not in fields:
                fields.append(named)
    return index


def _matches(index: Mapping[str, list[Named]], column: str) -> list[str]:
    folded = fold(column)
    found = index.get(folded, [])
    if found or not folded.endswith("id") or len(folded) <= 2:
        return [named.id for named in found]
    # `client_id` names the relationship `client` when nothing is called `client_id`.
    return [named.id for named in index.get(folded[:-2], []) if named.kind == "relationship"]


def _missing(resolved: ResolvedClass, filled: set[str]) -> list[str]:
    needed = [p.name for p in resolved.properties if p.required and p.default is None]
    needed += [name for name in resolved.key if name not in needed]
    needed += [r.predicate for r in resolved.relationships if r.required]
    return [name for name in needed if name not in filled]
