"""Identifier-like text (email, URL, UUID, IP, coordinates, JSON): shapes and exact checks.

Each kind has a shape (a regular expression for whole columns, valid for Python and polars)
and, where a shape cannot settle it, an exact check that asks the OMS rule itself.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.types import Constraints
from spice_harvester.domain.ontology.values_text import normalize_email, normalize_url

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,30}"
# Addresses this shape admits are ones the OMS email rule accepts (ASCII dot-atoms, short
# labels without "--", a letters-only top-level domain that is not reserved); anything else
# that still looks like an address goes to the rule itself.
_RESERVED_TLDS = "arpa|invalid|local|localhost|onion|test"
EMAIL_STRICT = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,24}}$"
EMAIL_RESERVED = rf"(?i)\.(?:{_RESERVED_TLDS})$"
EMAIL_LOOSE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_STRICT_LOCAL = 64  # longer local parts are left to the exact check

URL_LOOSE = r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#]+\S*$"

_HEX = "[0-9a-fA-F]"
_UUID = rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
# Hyphenated UUIDs only: 32 bare hex digits are as often a hash as an identifier.
UUID = rf"^(?:{_UUID}|\{{{_UUID}\}}|(?i:urn:uuid:){_UUID})$"

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"^{_OCTET}(?:\.{_OCTET}){{3}}$"
IPV6_LOOSE = r"^[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f.]{0,15}){2,8}$"

COORDINATE = r"^[+-]?[0-9]{1,2}(?:\.[0-9]+)?\s*,\s*[+-]?[0-9]{1,3}(?:\.[0-9]+)?$"
JSON_OBJECT = r"(?s)^\{.*\}$"
JSON_ARRAY = r"(?s)^\[.*\]$"

_NO_RULES = Constraints()


def is_email(text: str) -> bool:
    try:
        normalize_email(text, _NO_RULES, "value")
    except ValidationFailed:
        return False
    return True


def is_url(text: str) -> bool:
    try:
        normalize_url(text, _NO_RULES, "value")
    except ValidationFailed:
        return False
    return True


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def coordinate_in_range(text: str) -> bool:
    lat, lon = (float(part) for part in text.split(","))
    return -90 <= lat <= 90 and -180 <= lon <= 180


def parse_json(text: str) -> Any:
    """The JSON value the text holds, or None when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None
