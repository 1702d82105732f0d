"""Values written as text: free strings, enums, and identifier formats (email, phone, url...)."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import uuid
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from spice_harvester.domain.ontology.types import Constraints
from spice_harvester.domain.ontology.values_common import refuse, require_text, shown, storable_text

_HEX = "[0-9a-fA-F]"
_UUID = re.compile(
    rf"(?:urn:uuid:)?(\{{)?{_HEX}{{8}}(-?){_HEX}{{4}}\2{_HEX}{{4}}\2{_HEX}{{4}}\2{_HEX}{{12}}(?(1)\}})",
    re.IGNORECASE,
)
_ENUM_SHOWN = 10


def normalize_string(value: Any, _: Constraints, field: str) -> str:
    """The string exactly as given: free text is never trimmed or case-folded."""
    return storable_text(require_text(value, field, "text"), field)


def normalize_enum(value: Any, constraints: Constraints, field: str) -> str:
    """One of the allowed values, in its canonical spelling even if typed in another case."""
    allowed = constraints.values
    if not allowed:
        raise refuse(field, "is an enum without values; its constraints must list them")
    text = require_text(value, field, "one of the allowed values")
    if text in allowed:
        return text
    folded = text.casefold()
    for candidate in allowed:
        if candidate.casefold() == folded:
            return candidate
    listed = ", ".join(allowed[:_ENUM_SHOWN]) + (", ..." if len(allowed) > _ENUM_SHOWN else "")
    raise refuse(field, f"must be one of {listed}; not {shown(value)}")


def normalize_email(value: Any, _: Constraints, field: str) -> str:
    """The address with its domain lower-cased; the local part keeps its case."""
    text = require_text(value, field, "an email address").strip()
    try:
        # Deliverability needs DNS, which a pure domain function must not do.
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise refuse(field, f"is not a valid email address ({exc}): {shown(value)}") from None
    return checked.normalized


def normalize_phone(value: Any, constraints: Constraints, field: str) -> str:
    """The number in E.164 (+821012345678); national numbers need a region constraint."""
    text = require_text(value, field, "a phone number").strip()
    region = constraints.region
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        national = exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE
        if national and region is None and not text.startswith("+"):
            raise refuse(
                field,
                f"needs a +country code (such as +82 10-1234-5678) or a region constraint "
                f"to read a national number: {shown(value)}",
            ) from None
        raise refuse(field, f"is not a phone number: {shown(value)}") from None
    if number.extension:
        # E.164 has no extensions; dropping one silently would store a different number.
        raise refuse(field, f"has an extension, which E.164 cannot hold: {shown(value)}")
    if not phonenumbers.is_valid_number(number):
        raise refuse(field, f"is not a valid phone number: {shown(value)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_url(value: Any, _: Constraints, field: str) -> str:
    """An absolute URL with a scheme and a host; the scheme is stored lower-case."""
    text = require_text(value, field, "a URL").strip()
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in text):
        raise refuse(field, f"must not contain spaces or control characters: {shown(value)}")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading the port is what validates it
    except ValueError as exc:
        raise refuse(field, f"is not a valid URL ({exc}): {shown(value)}") from None
    if not parts.scheme or not parts.hostname:
        raise refuse(field, f"must be an absolute URL such as https://example.com: {shown(value)}")
    return storable_text(parts.scheme + text[len(parts.scheme) :], field)


def normalize_uuid(value: Any, _: Constraints, field: str) -> str:
    """The canonical lower-case hyphenated form."""
    text = require_text(value, field, "a UUID").strip()
    if not _UUID.fullmatch(text):
        raise refuse(
            field, f"must be a UUID such as 123e4567-e89b-12d3-a456-426614174000: {shown(value)}"
        )
    return str(uuid.UUID(text.lower()))  # lower-case: UUID() only strips a lower-case urn:


def normalize_ip(value: Any, _: Constraints, field: str) -> str:
    """An IPv4 or IPv6 address in its canonical (compressed, lower-case) form."""
    text = require_text(value, field, "an IP address").strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise refuse(field, f"is not an IPv4 or IPv6 address: {shown(value)}") from None
