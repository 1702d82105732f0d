"""Shared pieces of value normalisation: readable refusals and text that storage can hold."""

from __future__ import annotations

import reprlib
from typing import Any

from spice_harvester.domain.errors import ValidationFailed

# reprlib stops early, so a megabyte of input costs a short message, not a megabyte of error.
_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = 5
_REPR.maxdict = 4
_REPR.maxlevel = 2


def shown(value: Any) -> str:
    """The value as an error message quotes it, shortened."""
    if value is True or value is False:
        return "true" if value else "false"  # the JSON spelling the client sent
    return _REPR.repr(value)


def refuse(field: str, complaint: str) -> ValidationFailed:
    """A refusal whose message starts with the field's name, so it reads on its own."""
    return ValidationFailed(f"{field} {complaint}", field=field)


def require_text(value: Any, field: str, what: str) -> str:
    """The value if it is a string, else a refusal saying what was expected."""
    if not isinstance(value, str):
        raise refuse(field, f"must be {what} written as a string, not {shown(value)}")
    return value


def storable_text(text: str, field: str) -> str:
    """The text unchanged, unless a database could not store it."""
    # PostgreSQL text and jsonb cannot hold NUL, and a lone surrogate cannot be encoded as UTF-8;
    # refusing here gives a 422 instead of a failed write later.
    if "\x00" in text:
        raise refuse(field, "contains a NUL character, which cannot be stored")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise refuse(field, "contains a lone surrogate, which is not valid Unicode") from None
    return text
