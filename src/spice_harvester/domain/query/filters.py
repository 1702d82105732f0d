"""Filters and ordering over instance data, typed by each field's property type.

A filter value is read the way an instance value of the field is (`normalize`: "₩12,000",
"2024/01/31", "KIM@Example.com"...), without the field's bounds, lengths or pattern, then
compared the way the type orders: numbers and decimals by value (12.5 = 12.50), dates,
datetimes (by instant, whatever the offset) and times chronologically, money by amount (in the
filter's currency only, when it names one; a bare number compares amounts in any currency),
strings by code point, booleans false before true. Objects and coordinates compare by content.

Semantics worth knowing:
- An absent value (or null, or an empty list) matches only `is_null`, and `ne` / `not_in`,
  which are the exact complements of `eq` / `in`.
- A list-valued field (an array, a to-many relationship) matches when one of its items does;
  `ne` / `not_in` then mean that no item does.
- `like` compares folded text (`text.fold`) of strings, and of the written form of dates,
  times and numbers (`order_datetime like "2025-05%"`).
- `id` is the instance id, a string field, unless the class has a field named `id`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import ResolvedClass
from spice_harvester.domain.ontology.types import Constraints, ValueType
from spice_harvester.domain.ontology.values import normalize
from spice_harvester.domain.ontology.values_common import shown
from spice_harvester.domain.ontology.values_numbers import DECIMAL_TEXT, to_decimal
from spice_harvester.domain.query.text import LikePattern

T = ValueType
ID_FIELD = "id"
MAX_LISTED = 1000
FieldKind = Literal["property", "relationship", "id"]


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    LIKE = "like"
    IN = "in"
    NOT_IN = "not_in"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"


OPERATORS = tuple(o.value for o in Operator)
_ORDERING = frozenset({Operator.GT, Operator.GE, Operator.LT, Operator.LE})
_LISTED = frozenset({Operator.IN, Operator.NOT_IN})
_NULL_TESTS = frozenset({Operator.IS_NULL, Operator.IS_NOT_NULL})
_TEXTS = frozenset({T.STRING, T.TEXT, T.EMAIL, T.PHONE, T.URL, T.UUID, T.IP, T.ENUM})
_CALENDAR = frozenset({T.DATE, T.DATETIME, T.TIME})
_NUMBERS = frozenset({T.INTEGER, T.DECIMAL, T.FLOAT})
_ORDERED = _TEXTS | _CALENDAR | _NUMBERS | {T.MONEY}
_LIKED = _TEXTS | _CALENDAR | _NUMBERS
_SORTED = _ORDERED | {T.BOOLEAN}
# Types whose stored JSON is equal exactly when the values are, so the store can look eq and in
# up by value; a decimal (12.5, 12.50), a datetime (offsets), money or a float cannot be.
_SAME_JSON = _TEXTS | {T.INTEGER, T.BOOLEAN, T.DATE, T.TIME}


@dataclass(frozen=True)
class FieldSpec:
    """A field as queries see it: its type (of each item, for list-valued fields)."""

    name: str
    type: ValueType
    constraints: Constraints | None
    many: bool
    kind: FieldKind

    def describe(self) -> str:
        if self.kind == "relationship":
            return f"{self.name} (a relationship, compared by target id)"
        if self.kind == "id":
            return f"{self.name} (the instance id)"
        return f"{self.name} ({'an array of ' if self.many else ''}{self.type.value})"


def query_fields(resolved: ResolvedClass) -> dict[str, FieldSpec]:
    """Every field of a class (inherited ones included) by name, and `id`."""
    fields: dict[str, FieldSpec] = {}
    for prop in resolved.properties:
        if prop.type is T.ARRAY:
            rules = prop.constraints
            item = rules.item_type if rules is not None else None
            items = rules.items if rules is not None else None
            fields[prop.name] = FieldSpec(prop.name, item or T.ARRAY, items, True, "property")
        else:
            fields[prop.name] = FieldSpec(prop.name, prop.type, prop.constraints, False, "property")
    for rel in resolved.relationships:
        many = rel.cardinality in ("1:n", "n:m")
        fields[rel.predicate] = FieldSpec(rel.predicate, T.STRING, None, many, "relationship")
    fields.setdefault(ID_FIELD, FieldSpec(ID_FIELD, T.STRING, None, False, "id"))
    return fields


# -- stored values as Python compares them ------------------------------------------------

Money = tuple[Decimal, str | None]


def typed(value: Any, type_: ValueType) -> Any:
    """A stored value as a Python value ordered the way its type is; None when absent, or
    when it is not a value of the type (never an error: a query must not fail on odd data)."""
    if value is None:
        return None
    try:
        return _TYPED[type_](value) if type_ in _TYPED else _canonical(value)
    except (ValueError, TypeError, ArithmeticError, KeyError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> int | float | None:
    return None if isinstance(value, bool) or not isinstance(value, int | float) else value


def _decimal(value: Any) -> Decimal | None:
    number = Decimal(value) if isinstance(value, str) else None
    return number if number is not None and number.is_finite() else None


def _money(value: Any) -> Money | None:
    amount = _decimal(value["amount"]) if isinstance(value, Mapping) else None
    currency = value.get("currency") if isinstance(value, Mapping) else None
    return (amount, currency) if amount is not None and isinstance(currency, str) else None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


_TYPED: dict[ValueType, Any] = {
    **dict.fromkeys(_TEXTS, _text),
    T.INTEGER: _number,
    T.FLOAT: _number,
    T.DECIMAL: _decimal,
    T.MONEY: _money,
    T.DATE: lambda v: date.fromisoformat(v) if isinstance(v, str) else None,
    T.DATETIME: _datetime,
    T.TIME: lambda v: time.fromisoformat(v) if isinstance(v, str) else None,
    T.BOOLEAN: _boolean,
}


def _equal(stored: Any, wanted: Any, type_: ValueType) -> bool:
    if type_ is T.MONEY:
        return bool(stored[0] == wanted[0] and wanted[1] in (None, stored[1]))
    return bool(stored == wanted)


def _compare(stored: Any, wanted: Any, type_: ValueType) -> int | None:
    """-1, 0 or 1 as `stored` is below, at or above `wanted`; None when they do not compare
    (money in another currency than the filter's)."""
    if type_ is T.MONEY:
        if wanted[1] is not None and stored[1] != wanted[1]:
            return None
        stored, wanted = stored[0], wanted[0]
    return int(stored > wanted) - int(stored < wanted)


# The comparisons (-1, 0, 1) each ordering operator accepts.
_ORDER_TEST: dict[Operator, frozenset[int]] = {
    Operator.GT: frozenset({1}),
    Operator.GE: frozenset({0, 1}),
    Operator.LT: frozenset({-1}),
    Operator.LE: frozenset({-1, 0}),
}


def _written(value: Any) -> str | None:
    """The text `like` sees for a stored value."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    return None


# -- conditions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One compiled filter. `wanted` holds the filter's values typed as the field's; `stored`
    the same values as the store holds them, when equal JSON means equal values."""

    field: FieldSpec
    operator: Operator
    wanted: tuple[Any, ...] = ()
    stored: tuple[Any, ...] | None = None
    pattern: LikePattern | None = None

    def holds(self, instance_id: str, data: Mapping[str, Any] | None) -> bool:
        raw = instance_id if self.field.kind == "id" else (data or {}).get(self.field.name)
        items = _items(raw, self.field.many)
        op = self.operator
        if op in _NULL_TESTS:
            return bool(items) == (op is Operator.IS_NOT_NULL)
        if op is Operator.LIKE:
            assert self.pattern is not None
            texts = (_written(item) for item in items)
            return any(text is not None and self.pattern.matches(text) for text in texts)
        type_ = self.field.type
        values = [v for v in (typed(item, type_) for item in items) if v is not None]
        if op in (Operator.EQ, Operator.IN, Operator.NE, Operator.NOT_IN):
            equal = any(_equal(v, w, type_) for v in values for w in self.wanted)
            return equal == (op in (Operator.EQ, Operator.IN))
        accepted = _ORDER_TEST[op]
        return any(_compare(v, self.wanted[0], type_) in accepted for v in values)

    def lookup(self) -> tuple[Any, ...] | None:
        """Values the store can find this condition's matches by (an eq or in on a property
        or relationship whose stored JSON is equal exactly when values are), else None."""
        if self.operator not in (Operator.EQ, Operator.IN) or self.field.kind == "id":
            return None
        return self.stored


def _items(raw: Any, many: bool) -> list[Any]:
    if raw is None:
        return []
    if many and isinstance(raw, list):
        return [item for item in raw if item is not None]
    return [raw]


def compile_filters(
    fields: Mapping[str, FieldSpec], raws: Sequence[Any], *, owner: str, where: str = "filters"
) -> tuple[Condition, ...]:
    """Each `{field, operator, value}` as a Condition, or 422 naming the bad part
    (`filters[2].operator`) and what was wrong."""
    return tuple(
        compile_filter(fields, raw, owner=owner, where=f"{where}[{i}]")
        for i, raw in enumerate(raws)
    )


def compile_filter(
    fields: Mapping[str, FieldSpec], raw: Any, *, owner: str, where: str
) -> Condition:
    if not isinstance(raw, Mapping):
        raise ValidationFailed(
            f"{where}: a filter is an object {{field, operator, value}}", field=where
        )
    spec = field_spec(fields, raw.get("field"), owner=owner, where=f"{where}.field")
    op = _operator(raw.get("operator"), f"{where}.operator")
    value = raw.get("value")
    _check_applies(spec, op, f"{where}.operator")
    if op in _NULL_TESTS:
        if value is not None:
            raise _refused(f"{where}.value", f"{op} takes no value", spec, op, value)
        return Condition(spec, op)
    if op is Operator.LIKE:
        if not isinstance(value, str):
            raise _refused(f"{where}.value", "like needs a text pattern", spec, op, value)
        return Condition(spec, op, pattern=LikePattern.compile(value, field=f"{where}.value"))
    if op in _LISTED:
        items = _listed(value, spec, op, f"{where}.value")
        read = [_wanted(item, spec, op, f"{where}.value[{i}]") for i, item in enumerate(items)]
    else:
        if value is None:
            hint = "is_null" if op is Operator.EQ else "is_not_null" if op is Operator.NE else ""
            said = f"; use {hint}" if hint else ""
            raise _refused(f"{where}.value", f"{op} needs a value{said}", spec, op, value)
        if isinstance(value, list) and spec.type not in (T.COORDINATE, T.ARRAY):
            raise _refused(f"{where}.value", f"{op} takes one value; use in", spec, op, value)
        read = [_wanted(value, spec, op, f"{where}.value")]
    stored = tuple(s for s, _ in read) if spec.type in _SAME_JSON else None
    return Condition(spec, op, tuple(t for _, t in read), stored)


def field_spec(fields: Mapping[str, FieldSpec], name: Any, *, owner: str, where: str) -> FieldSpec:
    if not isinstance(name, str) or name not in fields:
        known = sorted(fields)
        listed = ", ".join(known[:30]) + (", ..." if len(known) > 30 else "")
        raise ValidationFailed(
            f"{where}: {owner} has no field {shown(name)}; its fields are {listed}",
            field=where,
            data={"field": name if isinstance(name, str) else None, "class_id": owner},
        )
    return fields[name]


def _operator(raw: Any, where: str) -> Operator:
    try:
        return Operator(raw)
    except ValueError:
        raise ValidationFailed(
            f"{where}: unknown operator {shown(raw)}; use one of {', '.join(OPERATORS)}",
            field=where,
            data={"operator": raw if isinstance(raw, str) else None, "operators": OPERATORS},
        ) from None


def _check_applies(spec: FieldSpec, op: Operator, where: str) -> None:
    if op in _NULL_TESTS:
        return
    fits = (
        spec.type in _LIKED
        if op is Operator.LIKE
        else spec.type in _ORDERED
        if op in _ORDERING
        else spec.type is not T.ARRAY
    )
    if not fits:
        raise ValidationFailed(
            f"{where}: {op} does not apply to {spec.describe()}",
            field=where,
            data={"field": spec.name, "operator": op.value},
        )


def _listed(value: Any, spec: FieldSpec, op: Operator, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _refused(where, f"{op} needs a non-empty list of values", spec, op, value)
    if len(value) > MAX_LISTED:
        raise _refused(where, f"{op} takes at most {MAX_LISTED} values", spec, op, value)
    return value


def _wanted(value: Any, spec: FieldSpec, op: Operator, where: str) -> tuple[Any, Any]:
    """A filter value as stored and as typed, read by the field's type."""
    if value is None:
        raise _refused(where, "null is no value here; use is_null", spec, op, value)
    try:
        if spec.type is T.MONEY and _bare_amount(value):
            # A bare amount compares with money in any currency.
            amount: Money = (to_decimal(value, where), None)
            return None, amount
        stored = normalize(value, spec.type, _reading_rules(spec.constraints), field=where)
    except ValidationFailed as exc:
        raise _refused(where, exc.message.removeprefix(where).strip(), spec, op, value) from None
    if spec.type is T.MONEY:
        return stored, (Decimal(stored["amount"]), stored["currency"])
    return stored, typed(stored, spec.type)


def _bare_amount(value: Any) -> bool:
    if isinstance(value, str):
        return DECIMAL_TEXT.fullmatch(value.strip()) is not None
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _reading_rules(constraints: Constraints | None) -> Constraints | None:
    """The constraints that say how to read a value (enum values, a currency, a phone region),
    without those that limit it: `price lt 0` is a fine question when prices are at least 0."""
    if constraints is None:
        return None
    return Constraints(
        values=constraints.values, currency=constraints.currency, region=constraints.region
    )


def _refused(
    where: str, complaint: str, spec: FieldSpec, op: Operator, value: Any
) -> ValidationFailed:
    return ValidationFailed(
        f"{where}: {complaint} (filtering {spec.describe()} with {op})",
        field=where,
        data={"field": spec.name, "operator": op.value, "value": shown(value)},
    )


# -- ordering and selection ---------------------------------------------------------------


@dataclass(frozen=True, eq=True)
class Descending:
    """Wraps a key so that sorting ascending puts it in descending order."""

    value: Any

    def __lt__(self, other: Descending) -> bool:
        return bool(other.value < self.value)


@dataclass(frozen=True)
class Ordering:
    """How results are ordered: by a field (absent values last either way), then by class and
    id; without a field, by class and id (the store's key order)."""

    field: FieldSpec | None = None
    descending: bool = False

    def key(
        self, class_id: str, instance_id: str, data: Mapping[str, Any] | None
    ) -> tuple[Any, ...]:
        if self.field is None:
            tie: tuple[Any, ...] = (class_id, instance_id)
            return tuple(Descending(t) for t in tie) if self.descending else tie
        raw = instance_id if self.field.kind == "id" else (data or {}).get(self.field.name)
        value = typed(raw, self.field.type)
        if value is None:
            return (1, 0, class_id, instance_id)
        return (0, Descending(value) if self.descending else value, class_id, instance_id)


def compile_ordering(
    fields: Mapping[str, FieldSpec],
    order_by: str | None,
    direction: str,
    *,
    owner: str,
    where: str = "order_by",
) -> Ordering:
    if direction not in ("asc", "desc"):
        raise ValidationFailed(
            f"order_direction: {shown(direction)} is neither asc nor desc", field="order_direction"
        )
    if order_by is None:
        return Ordering(None, direction == "desc")
    spec = field_spec(fields, order_by, owner=owner, where=where)
    if spec.many or spec.type not in _SORTED:
        raise ValidationFailed(
            f"{where}: cannot order by {spec.describe()}; order by a single-valued field",
            field=where,
            data={"field": spec.name},
        )
    return Ordering(spec, direction == "desc")


def compile_select(
    fields: Mapping[str, FieldSpec],
    select: Sequence[Any] | None,
    *,
    owner: str,
    where: str = "select",
) -> tuple[str, ...] | None:
    """The fields an answer keeps in `data` (None: all of them)."""
    if select is None:
        return None
    return tuple(
        field_spec(fields, name, owner=owner, where=f"{where}[{i}]").name
        for i, name in enumerate(select)
    )


def selected(data: Mapping[str, Any] | None, fields: tuple[str, ...] | None) -> dict[str, Any]:
    if data is None:
        return {}
    if fields is None:
        return dict(data)
    return {name: data[name] for name in fields if name in data}
