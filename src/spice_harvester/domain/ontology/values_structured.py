"""Structured values: coordinates and free JSON objects."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from spice_harvester.domain.ontology.types import Constraints
from spice_harvester.domain.ontology.values_common import refuse, shown, storable_text
from spice_harvester.domain.ontology.values_numbers import DECIMAL_TEXT

# Deep enough for any real document, shallow enough that readers never hit a recursion limit.
MAX_OBJECT_DEPTH = 32
_COORDINATE_KEYS = frozenset({"lat", "lon"})
_COORDINATE_HINT = 'a coordinate such as "37.56,126.97" or {"lat": 37.56, "lon": 126.97}'


def normalize_coordinate(value: Any, _: Constraints, field: str) -> dict[str, float]:
    """{"lat": float, "lon": float} from that object, "lat,lon" text or a [lat, lon] list."""
    lat: Any
    lon: Any
    if isinstance(value, Mapping) and set(value) == _COORDINATE_KEYS:
        lat, lon = value["lat"], value["lon"]
    elif isinstance(value, list | tuple) and len(value) == 2:
        lat, lon = value
    elif isinstance(value, str) and value.count(",") == 1:
        lat, lon = (_number_text(part, field, value) for part in value.split(","))
    else:
        raise refuse(field, f"must be {_COORDINATE_HINT}, not {shown(value)}")
    return {
        "lat": _degrees(lat, 90, "latitude", field),
        "lon": _degrees(lon, 180, "longitude", field),
    }


def _number_text(part: str, field: str, whole: str) -> float:
    if not DECIMAL_TEXT.fullmatch(part.strip()):
        raise refuse(field, f"must be {_COORDINATE_HINT}, not {shown(whole)}")
    return float(part)


def _degrees(raw: Any, limit: int, name: str, field: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise refuse(field, f"needs a number for its {name}, not {shown(raw)}")
    degrees = float(raw)
    if not (math.isfinite(degrees) and -limit <= degrees <= limit):
        raise refuse(field, f"has a {name} outside -{limit}..{limit}: {shown(raw)}")
    return degrees


def normalize_object(value: Any, _: Constraints, field: str) -> dict[str, Any]:
    """A copy of a JSON object, checked to hold only values JSON and the store can keep."""
    if not isinstance(value, Mapping):
        raise refuse(field, f"must be a JSON object, not {shown(value)}")
    copied = _json_copy(value, field, 1)
    assert isinstance(copied, dict)
    return copied


def _json_copy(value: Any, field: str, depth: int) -> Any:
    if depth > MAX_OBJECT_DEPTH:
        raise refuse(field, f"nests deeper than {MAX_OBJECT_DEPTH} levels")
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise refuse(field, f"holds {shown(value)}, which JSON cannot represent")
        return value
    if isinstance(value, str):
        return storable_text(value, field)
    if isinstance(value, list | tuple):
        return [
            _json_copy(item, f"{field}[{index}]", depth + 1) for index, item in enumerate(value)
        ]
    if isinstance(value, Mapping):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise refuse(field, f"has a key that is not a string: {shown(key)}")
            copied[storable_text(key, field)] = _json_copy(item, f"{field}.{key}", depth + 1)
        return copied
    raise refuse(field, f"holds {shown(value)}, which is not a JSON value")
