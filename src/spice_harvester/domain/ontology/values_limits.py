"""Constraints in force: which apply to which type, and checking stored values against them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from spice_harvester.domain.ontology.types import Constraints, ValueType
from spice_harvester.domain.ontology.values_common import refuse, shown
from spice_harvester.domain.ontology.values_numbers import to_decimal
from spice_harvester.domain.ontology.values_time import parse_date, parse_datetime, parse_time

T = ValueType
_NUMERIC = frozenset({T.INTEGER, T.DECIMAL, T.FLOAT, T.MONEY})
_CALENDAR = frozenset({T.DATE, T.DATETIME, T.TIME})
_TEXTUAL = frozenset({T.STRING, T.TEXT})

# Which constraint keys mean something for which types; any other pairing is a schema mistake.
APPLIES_TO: dict[str, frozenset[ValueType]] = {
    "min": _NUMERIC | _CALENDAR,
    "max": _NUMERIC | _CALENDAR,
    "min_length": _TEXTUAL | {T.ARRAY},
    "max_length": _TEXTUAL | {T.ARRAY},
    "pattern": _TEXTUAL | {T.EMAIL, T.URL},
    "values": frozenset({T.ENUM}),
    "currency": frozenset({T.MONEY}),
    "item_type": frozenset({T.ARRAY}),
    "items": frozenset({T.ARRAY}),
    "region": frozenset({T.PHONE}),
    "precision": frozenset({T.DECIMAL}),
    "scale": frozenset({T.DECIMAL}),
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ordinal(type_: ValueType, value: Any, field: str) -> Decimal:
    """A number that orders values of one type the way people do (dates by day, money by amount)."""
    if type_ is T.MONEY and isinstance(value, dict):
        value = value["amount"]
    if type_ in _NUMERIC:
        return to_decimal(value, field)
    if type_ is T.DATE:
        return Decimal(parse_date(value, field).toordinal())
    if type_ is T.DATETIME:
        return _seconds(parse_datetime(value, field) - _EPOCH)
    clock = parse_time(value, field)
    return _seconds(datetime.combine(date.min, clock) - datetime.min)


def _seconds(span: timedelta) -> Decimal:
    # Exact, unlike timedelta.total_seconds(), which rounds far from the epoch.
    return Decimal(span.days * 86400 + span.seconds) + Decimal(span.microseconds).scaleb(-6)


def check_constraints(
    type_: ValueType, constraints: Constraints | None, *, field: str
) -> Constraints:
    """The constraints made consistent with the type, or ValidationFailed naming the bad key.

    Bounds of dates, datetimes and times come back in their stored spelling.
    """
    return _check(type_, constraints or Constraints(), f"{field}.constraints")


def _check(type_: ValueType, constraints: Constraints, where: str) -> Constraints:
    for key, types in APPLIES_TO.items():
        if getattr(constraints, key) is not None and type_ not in types:
            raise refuse(f"{where}.{key}", f"does not apply to a property of type {type_}")
    if type_ is T.ENUM and constraints.values is None:
        raise refuse(f"{where}.values", "is required for an enum property")
    if type_ is T.ARRAY and constraints.item_type is None:
        raise refuse(f"{where}.item_type", "is required for an array property")
    changes: dict[str, Any] = {}
    low = high = None
    if constraints.min is not None:
        low = _ordinal(type_, constraints.min, f"{where}.min")
        changes["min"] = _bound_text(type_, constraints.min, where)
    if constraints.max is not None:
        high = _ordinal(type_, constraints.max, f"{where}.max")
        changes["max"] = _bound_text(type_, constraints.max, where)
    if low is not None and high is not None and low > high:
        order = "greater than" if type_ in _NUMERIC else "after"
        raise refuse(f"{where}.min", f"({constraints.min}) is {order} max ({constraints.max})")
    if constraints.item_type is not None:
        inner = constraints.items or Constraints()
        checked = _check(constraints.item_type, inner, f"{where}.items")
        changes["items"] = checked if checked != Constraints() else None
    return constraints.model_copy(update=changes)


def _bound_text(type_: ValueType, bound: Any, where: str) -> Any:
    if type_ is T.DATE:
        return parse_date(bound, where).isoformat()
    if type_ is T.DATETIME:
        return parse_datetime(bound, where).isoformat()
    if type_ is T.TIME:
        return parse_time(bound, where).isoformat()
    return bound


def apply_limits(stored: Any, type_: ValueType, constraints: Constraints, field: str) -> None:
    """Refuse a stored value that breaks its constraints' bounds, lengths or pattern."""
    if type_ in APPLIES_TO["min"]:
        _within_bounds(stored, type_, constraints, field)
    if type_ in APPLIES_TO["min_length"]:
        _within_lengths(stored, type_, constraints, field)
    pattern = constraints.pattern
    if pattern is not None and type_ in APPLIES_TO["pattern"] and not re.fullmatch(pattern, stored):
        raise refuse(field, f"does not match the pattern {pattern!r}: {shown(stored)}")


def _within_bounds(stored: Any, type_: ValueType, constraints: Constraints, field: str) -> None:
    if constraints.min is None and constraints.max is None:
        return
    key = _ordinal(type_, stored, field)
    below, above = ("at least", "at most") if type_ in _NUMERIC else ("on or after", "on or before")
    shown_value = stored["amount"] if type_ is T.MONEY else stored
    low, high = constraints.min, constraints.max
    if low is not None and key < _ordinal(type_, low, f"{field}.constraints.min"):
        raise refuse(field, f"is {shown_value}, but must be {below} {low}")
    if high is not None and key > _ordinal(type_, high, f"{field}.constraints.max"):
        raise refuse(field, f"is {shown_value}, but must be {above} {high}")


def _within_lengths(stored: Any, type_: ValueType, constraints: Constraints, field: str) -> None:
    size = len(stored)
    unit = "items" if type_ is T.ARRAY else "characters"
    if constraints.min_length is not None and size < constraints.min_length:
        raise refuse(field, f"has {size} {unit}, but must have at least {constraints.min_length}")
    if constraints.max_length is not None and size > constraints.max_length:
        raise refuse(field, f"has {size} {unit}, but must have at most {constraints.max_length}")
