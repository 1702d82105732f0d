"""Property values: validate one value against its type and constraints and give its stored form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spice_harvester.domain.ontology.types import Constraints, ValueType
from spice_harvester.domain.ontology.values_common import refuse, shown
from spice_harvester.domain.ontology.values_limits import apply_limits, check_constraints
from spice_harvester.domain.ontology.values_money import normalize_money
from spice_harvester.domain.ontology.values_numbers import (
    normalize_boolean,
    normalize_decimal,
    normalize_float,
    normalize_integer,
)
from spice_harvester.domain.ontology.values_structured import (
    normalize_coordinate,
    normalize_object,
)
from spice_harvester.domain.ontology.values_text import (
    normalize_email,
    normalize_enum,
    normalize_ip,
    normalize_phone,
    normalize_string,
    normalize_url,
    normalize_uuid,
)
from spice_harvester.domain.ontology.values_time import (
    normalize_date,
    normalize_datetime,
    normalize_time,
)

__all__ = ["check_constraints", "coerce_default", "normalize"]

Normalizer = Callable[[Any, Constraints, str], Any]
_NO_CONSTRAINTS = Constraints()


def normalize(value: Any, type_: ValueType, constraints: Constraints | None, *, field: str) -> Any:
    """The stored form of `value`, or ValidationFailed naming `field` and the bad value.

    None is refused as empty: whether a field may be left out is the caller's rule, not the type's.
    """
    if value is None:
        raise refuse(field, "is empty")
    rules = constraints or _NO_CONSTRAINTS
    stored = _NORMALIZERS[type_](value, rules, field)
    apply_limits(stored, type_, rules, field)
    return stored


def coerce_default(
    default: Any, type_: ValueType, constraints: Constraints | None, field: str
) -> Any:
    """A property's default in stored form (None when it has none), by the same rules as values."""
    if default is None:
        return None
    return normalize(default, type_, constraints, field=field)


def _normalize_array(value: Any, constraints: Constraints, field: str) -> list[Any]:
    item_type = constraints.item_type
    if item_type is None:
        raise refuse(field, "is an array without an item_type; its constraints must name one")
    if not isinstance(value, list | tuple):
        raise refuse(field, f"must be a list, not {shown(value)}")
    items = constraints.items
    return [
        normalize(item, item_type, items, field=f"{field}[{index}]")
        for index, item in enumerate(value)
    ]


_NORMALIZERS: dict[ValueType, Normalizer] = {
    ValueType.STRING: normalize_string,
    ValueType.TEXT: normalize_string,
    ValueType.INTEGER: normalize_integer,
    ValueType.DECIMAL: normalize_decimal,
    ValueType.FLOAT: normalize_float,
    ValueType.BOOLEAN: normalize_boolean,
    ValueType.DATE: normalize_date,
    ValueType.DATETIME: normalize_datetime,
    ValueType.TIME: normalize_time,
    ValueType.EMAIL: normalize_email,
    ValueType.PHONE: normalize_phone,
    ValueType.URL: normalize_url,
    ValueType.UUID: normalize_uuid,
    ValueType.IP: normalize_ip,
    ValueType.MONEY: normalize_money,
    ValueType.COORDINATE: normalize_coordinate,
    ValueType.ENUM: normalize_enum,
    ValueType.ARRAY: _normalize_array,
    ValueType.OBJECT: normalize_object,
}
