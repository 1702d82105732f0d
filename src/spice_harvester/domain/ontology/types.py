"""The property type registry: value type names and the constraints a property may carry."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from phonenumbers import SUPPORTED_REGIONS
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from spice_harvester.domain.errors import ValidationFailed


class ValueType(StrEnum):
    STRING = "string"
    TEXT = "text"  # a string expected to be long; same rules
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    UUID = "uuid"
    IP = "ip"
    MONEY = "money"
    COORDINATE = "coordinate"
    ENUM = "enum"
    ARRAY = "array"
    OBJECT = "object"


# XSD names people bring from RDF tooling; keys are lower-cased without the `xsd:` prefix.
_SYNONYMS: dict[str, ValueType] = {
    "int": ValueType.INTEGER,
    "long": ValueType.INTEGER,
    "double": ValueType.FLOAT,
    "anyuri": ValueType.URL,
}

# An array's items may be arrays, but a schema is written by hand: a few levels are plenty.
MAX_ARRAY_DEPTH = 3


def _lookup(name: str) -> ValueType | None:
    key = name.strip().lower().removeprefix("xsd:")
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    try:
        return ValueType(key)
    except ValueError:
        return None


def _unknown_type_message(name: object) -> str:
    valid = ", ".join(t.value for t in ValueType)
    return f"unknown type {name!r}; valid types are: {valid}"


def parse_type_name(name: str, *, field: str = "type") -> ValueType:
    """The value type a name means (`STRING`, `string`, `xsd:string`, `xsd:dateTime`...)."""
    found = _lookup(name) if isinstance(name, str) else None
    if found is None:
        raise ValidationFailed(_unknown_type_message(name), field=field)
    return found


Bound = StrictInt | StrictFloat | StrictStr
Size = Annotated[StrictInt, Field(ge=0)]


class Constraints(BaseModel):
    """Limits on a property's values; which ones apply depends on the property's type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Numbers (for money, the amount), or ISO strings for dates, datetimes and times.
    min: Bound | None = None
    max: Bound | None = None
    min_length: Size | None = None
    max_length: Size | None = None
    pattern: Annotated[StrictStr, Field(max_length=1000)] | None = None
    values: tuple[StrictStr, ...] | None = None
    currency: StrictStr | None = None
    item_type: ValueType | None = None
    items: Constraints | None = None  # constraints on each item of an array
    region: StrictStr | None = None  # default region for national phone numbers
    precision: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    scale: Annotated[StrictInt, Field(ge=0, le=100)] | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _bound(cls, bound: Any) -> Any:
        # Checked before the union so a bad bound gets one plain message, not one per member.
        if bound is None or isinstance(bound, str):
            return bound
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise ValueError("must be a number, or an ISO date or time written as a string")
        if not math.isfinite(bound):
            raise ValueError("must be a finite number")
        return bound

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from exc
        return pattern

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if values is None:
            return None
        if not values:
            raise ValueError("must list at least one value")
        # Enum input matches case-insensitively, so values differing only in case are ambiguous.
        seen: dict[str, str] = {}
        for value in values:
            if value.casefold() in seen:
                raise ValueError(f"{value!r} repeats {seen[value.casefold()]!r}")
            seen[value.casefold()] = value
        return values

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, currency: str | None) -> str | None:
        if currency is None:
            return None
        code = currency.upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"{currency!r} is not an ISO 4217 code such as USD, EUR or KRW")
        return code

    @field_validator("item_type", mode="before")
    @classmethod
    def _type_name(cls, name: Any) -> Any:
        if isinstance(name, str) and not isinstance(name, ValueType):
            found = _lookup(name)
            if found is None:
                raise ValueError(_unknown_type_message(name))
            return found
        return name

    @field_validator("region")
    @classmethod
    def _phone_region(cls, region: str | None) -> str | None:
        if region is None:
            return None
        code = region.upper()
        if code not in SUPPORTED_REGIONS:
            raise ValueError(f"{region!r} is not a region code such as KR, US or GB")
        return code

    @model_validator(mode="after")
    def _consistent(self) -> Constraints:
        low, high = self.min, self.max
        # Bounds given as strings are dates or times; only the property's type can order them.
        if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
            raise ValueError(f"min ({low}) is greater than max ({high})")
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError(
                f"min_length ({self.min_length}) is greater than max_length ({self.max_length})"
            )
        if self.precision is not None and self.scale is not None and self.scale > self.precision:
            raise ValueError(f"scale ({self.scale}) is greater than precision ({self.precision})")
        if self.items is not None and self.item_type is None:
            raise ValueError("items needs an item_type")
        if self.item_type is ValueType.ARRAY and (
            self.items is None or self.items.item_type is None
        ):
            raise ValueError("an array of arrays needs items with their own item_type")
        if self.item_type is not None and 1 + self.array_depth() > MAX_ARRAY_DEPTH:
            raise ValueError(
                f"arrays may nest at most {MAX_ARRAY_DEPTH} levels deep (arrays of arrays of ...)"
            )
        return self

    def array_depth(self) -> int:
        """How many array levels these constraints describe inside an array property."""
        if self.item_type is not ValueType.ARRAY or self.items is None:
            return 0
        return 1 + self.items.array_depth()


def parse_constraints(raw: Any, *, field: str) -> Constraints | None:
    """Constraints from a request body, or ValidationFailed naming the offending key."""
    if raw is None or isinstance(raw, Constraints):
        return raw
    if not isinstance(raw, Mapping):
        raise ValidationFailed(
            f"{field}.constraints must be an object", field=f"{field}.constraints"
        )
    try:
        return Constraints.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in (f"{field}.constraints", *first["loc"]))
        context = first.get("ctx") or {}
        reason = str(context["error"]) if "error" in context else first["msg"]
        raise ValidationFailed(f"{where}: {reason}", field=where) from exc
