"""Instance ids: the rules an id follows and how one is derived from a class key or id property."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from typing import Any

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import ResolvedClass

MAX_ID_LENGTH = 255
KEY_SEPARATOR = "|"
KEY_ESCAPE = "\\"
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def id_problem(value: object) -> str | None:
    """Why `value` cannot be an instance id, or None when it can."""
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value)} characters long; the limit is {MAX_ID_LENGTH}"
    for char in value:
        if char == "/":
            return "must not contain '/'"
        if char.isspace():
            return "must not contain whitespace"
        if unicodedata.category(char) in ("Cc", "Cs"):
            return "must not contain control characters"
    return None


def check_instance_id(value: object, *, field: str = "id", source: str | None = None) -> str:
    """The id itself, or 422 naming `field` (and where the id came from, when derived)."""
    problem = id_problem(value)
    if problem is not None:
        origin = f" (derived from {source})" if source else ""
        raise ValidationFailed(f"{field} {_short(value)}{origin} {problem}", field=field)
    assert isinstance(value, str)
    return value


def escape_key_part(part: str) -> str:
    """A key part with the escape character and the separator escaped, so joins split back."""
    return part.replace(KEY_ESCAPE, KEY_ESCAPE * 2).replace(
        KEY_SEPARATOR, KEY_ESCAPE + KEY_SEPARATOR
    )


def join_key(parts: list[str]) -> str:
    """A composite key as one id: `a|b`; a `|` or `\\` inside a part is escaped with `\\`."""
    return KEY_SEPARATOR.join(escape_key_part(part) for part in parts)


def split_key(joined: str) -> list[str]:
    """The parts `join_key` joined, unescaped."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in joined:
        if escaped:
            current.append(char)
            escaped = False
        elif char == KEY_ESCAPE:
            escaped = True
        elif char == KEY_SEPARATOR:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def key_text(value: Any) -> str:
    """A stored value as it appears in an id: JSON spelling for booleans, parts of structures
    joined with commas (money `12.50,USD`, coordinates `37.5,127.0`)."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return ",".join(key_text(item) for item in value.values())
    return str(value)


def snake_case(class_id: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", class_id).lower()


def id_properties(resolved: ResolvedClass) -> list[str]:
    """Property names that may carry the id, in the order they are tried: `<Class>_id`,
    `<class_snake>_id` and `<classlower>_id` for the class then each ancestor, then `id`."""
    names: list[str] = []
    for class_id in (resolved.id, *resolved.ancestors):
        for name in (f"{class_id}_id", f"{snake_case(class_id)}_id", f"{class_id.lower()}_id"):
            if name not in names:
                names.append(name)
    names.append("id")
    return [name for name in names if resolved.property(name) is not None]


def id_source(resolved: ResolvedClass, data: Mapping[str, Any]) -> tuple[str, ...]:
    """The properties the id of an instance with `data` derives from; empty when generated."""
    if resolved.key:
        return resolved.key
    for name in id_properties(resolved):
        if data.get(name) is not None:
            return (name,)
    return ()


def derive_id(resolved: ResolvedClass, data: Mapping[str, Any]) -> str:
    """The id of a new instance: its key, else its id property, else a fresh uuid4 hex."""
    source = id_source(resolved, data)
    if not source:
        return uuid.uuid4().hex
    for name in source:
        if data.get(name) is None:
            raise ValidationFailed(
                f"{name} is required: it is part of the key of {resolved.id}", field=name
            )
    parts = [key_text(data[name]) for name in source]
    derived = parts[0] if len(parts) == 1 else join_key(parts)
    return check_instance_id(derived, source=", ".join(source))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
