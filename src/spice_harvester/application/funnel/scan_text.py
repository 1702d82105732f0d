"""Identifier-like text in a column: UUIDs, IPs, emails, URLs, and (on request) coordinates
and JSON arrays and objects."""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl

from spice_harvester.application.funnel.distinct import Distinct
from spice_harvester.domain.inference.evidence import Candidate
from spice_harvester.domain.inference.recognisers import (
    COORDINATE,
    EMAIL_LOOSE,
    EMAIL_RESERVED,
    EMAIL_STRICT,
    IPV4,
    IPV6_LOOSE,
    JSON_ARRAY,
    JSON_OBJECT,
    MAX_STRICT_LOCAL,
    URL_LOOSE,
    UUID,
    coordinate_in_range,
    is_email,
    is_ip,
    is_url,
    parse_json,
)
from spice_harvester.domain.ontology.types import ValueType

T = ValueType
MAX_EMAIL_LENGTH = 254


def scan_identifiers(distinct: Distinct) -> list[Candidate]:
    found = []
    if distinct.worth(UUID):
        found.append(distinct.candidate(T.UUID, distinct.matches(UUID), "UUIDs"))
    if distinct.worth(IPV4) or distinct.worth(IPV6_LOOSE):
        mask = distinct.matches(IPV4) | distinct.checked(distinct.matches(IPV6_LOOSE), is_ip)
        found.append(distinct.candidate(T.IP, mask, "IP addresses"))
    if distinct.worth(EMAIL_LOOSE):
        found.append(distinct.candidate(T.EMAIL, _emails(distinct), "email addresses"))
    if distinct.worth(URL_LOOSE):
        mask = distinct.checked(distinct.matches(URL_LOOSE), is_url)
        found.append(distinct.candidate(T.URL, mask, "URLs with a scheme and host"))
    return found


def _emails(distinct: Distinct) -> pl.Series:
    values = distinct.values
    strict = (
        distinct.matches(EMAIL_STRICT)
        & ~distinct.matches(EMAIL_RESERVED)
        & (values.str.find("@", literal=True) <= MAX_STRICT_LOCAL).fill_null(False)
        & (values.str.len_chars() <= MAX_EMAIL_LENGTH)
    )
    # What the strict shape leaves out but still looks like an address goes to the OMS rule.
    doubtful = distinct.matches(EMAIL_LOOSE) & ~strict
    return strict | distinct.checked(doubtful, is_email)


def scan_coordinates(distinct: Distinct) -> list[Candidate]:
    if not distinct.worth(COORDINATE):
        return []
    mask = distinct.checked(distinct.matches(COORDINATE), coordinate_in_range)
    return [distinct.candidate(T.COORDINATE, mask, "latitude,longitude pairs")]


def scan_json(distinct: Distinct) -> list[Candidate]:
    found = []
    if distinct.worth(JSON_OBJECT):
        mask = distinct.checked(
            distinct.matches(JSON_OBJECT), lambda text: isinstance(parse_json(text), dict)
        )
        found.append(
            distinct.candidate(T.OBJECT, mask, "JSON objects", format="json", native=False)
        )
    if distinct.worth(JSON_ARRAY):
        found.append(_arrays(distinct))
    return found


_ITEM_TYPES: dict[type, ValueType] = {
    bool: T.BOOLEAN,
    int: T.INTEGER,
    float: T.DECIMAL,
    str: T.STRING,
    dict: T.OBJECT,
}


def _arrays(distinct: Distinct) -> Candidate:
    shaped = distinct.values.filter(distinct.matches(JSON_ARRAY)).to_list()
    kinds: Counter[ValueType] = Counter()
    good: list[str] = []
    for text in shaped:
        value = parse_json(text)
        if not isinstance(value, list):
            continue
        item_kinds = {_ITEM_TYPES.get(type(item)) for item in value}
        if None in item_kinds:
            continue  # nested arrays or nulls: not one item type
        kinds.update(kind for kind in item_kinds if kind is not None)
        good.append(text)
    item_type = _item_type(set(kinds))
    if item_type is None:
        good = []
    mask = distinct.values.is_in(pl.Series(good, dtype=pl.String).implode())
    constraints: dict[str, Any] = {"item_type": item_type.value} if item_type else {}
    return distinct.candidate(
        T.ARRAY,
        mask,
        f"JSON arrays of {item_type or 'mixed'} items",
        format="json",
        native=False,
        constraints=constraints,
    )


def _item_type(kinds: set[ValueType]) -> ValueType | None:
    if not kinds:
        return T.STRING
    if kinds == {T.INTEGER, T.DECIMAL}:
        return T.DECIMAL
    if len(kinds) == 1:
        return next(iter(kinds))
    return None
