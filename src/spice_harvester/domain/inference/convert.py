"""Turning one raw cell into the value OMS accepts for the type a profile chose.

The importer calls `convert_value` for every cell of a profiled column. Types OMS reads as
they are come back trimmed (strings untouched); the others are converted by the profile's
`format`: locale numbers ("1.234,56" -> "1234.56"), day-first or Korean dates
("31/12/2024" -> "2024-12-31"), money written with a symbol after the amount or with a
decimal comma (-> {"amount", "currency"}), true/false words of other languages (-> bool),
and JSON text for arrays and objects.
"""

from __future__ import annotations

from typing import Any

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.inference.booleans import parse_boolean
from spice_harvester.domain.inference.dates import date_format_for, datetime_format_for
from spice_harvester.domain.inference.missing import is_missing
from spice_harvester.domain.inference.model import ColumnProfile
from spice_harvester.domain.inference.money import parse_money
from spice_harvester.domain.inference.numbers import number_format, parse_number
from spice_harvester.domain.inference.recognisers import parse_json
from spice_harvester.domain.ontology.types import ValueType
from spice_harvester.domain.ontology.values_numbers import decimal_text

T = ValueType


def convert_value(raw: object, column_profile: ColumnProfile) -> Any:
    """What to hand OMS for this cell: None for a missing cell, else the converted value.

    Raises ValidationFailed naming the column when the cell does not fit the profile.
    """
    if is_missing(raw):
        return None
    text = raw if isinstance(raw, str) else str(raw)
    type_ = column_profile.inferred_type.type
    if type_ in (T.STRING, T.TEXT):
        return text
    stripped = text.strip()
    if not column_profile.needs_conversion:
        return stripped
    converted = _convert(stripped, type_, column_profile.format)
    if converted is None:
        name = column_profile.column_name
        raise ValidationFailed(
            f"{name} is {text!r}, which does not read as {type_} written as "
            f"{column_profile.format or 'profiled'}",
            field=name,
        )
    return converted


def _convert(text: str, type_: ValueType, pattern: str | None) -> Any:
    if type_ in (T.INTEGER, T.DECIMAL, T.FLOAT):
        number = parse_number(text, number_format(pattern))
        return None if number is None else decimal_text(number)
    if type_ is T.MONEY:
        return _money(text, pattern)
    if type_ is T.DATE:
        date_format = date_format_for(pattern or "")
        day = date_format.parse(text) if date_format else None
        return None if day is None else day.isoformat()
    if type_ is T.DATETIME:
        datetime_format = datetime_format_for(pattern or "")
        moment = datetime_format.parse(text) if datetime_format else None
        return None if moment is None else moment.isoformat()
    if type_ is T.BOOLEAN:
        return parse_boolean(text)
    if type_ in (T.OBJECT, T.ARRAY):
        value = parse_json(text)
        wanted = dict if type_ is T.OBJECT else list
        return value if isinstance(value, wanted) else None
    return text


def _money(text: str, pattern: str | None) -> dict[str, str] | None:
    written = number_format(pattern)
    money = parse_money(text, written)
    if money is not None:
        return {"amount": decimal_text(money.amount), "currency": money.currency}
    number = parse_number(text, written)
    # A bare amount takes the column's currency from the profile's constraint.
    return None if number is None else {"amount": decimal_text(number)}
