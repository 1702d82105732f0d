"""A whole schema as one JSON document: export it, and read it back with every path named."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from spice_harvester.domain.errors import MalformedInput, ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef

FORMAT = "spice-schema"
VERSION = 1


def schema_document(classes: Iterable[ClassDef], *, database: str) -> dict[str, Any]:
    """`{"format", "version", "database", "classes"}` with the classes in id order."""
    ordered = distinct_by_id(classes)
    return {
        "format": FORMAT,
        "version": VERSION,
        "database": database,
        "classes": [c.to_api() for c in ordered],
    }


def classes_from_document(doc: object) -> list[ClassDef]:
    """The classes of a schema document, in id order; each is validated as a client's class.

    Classes are checked one by one: whether they fit together (parents, inverses) is for the
    schema they are imported into to say.
    """
    if not isinstance(doc, Mapping):
        raise MalformedInput("a schema document must be a JSON object")
    if doc.get("format") != FORMAT:
        raise MalformedInput(
            f"format is {doc.get('format')!r}; a schema document has format {FORMAT!r}",
            field="format",
        )
    version = doc.get("version")
    # bool is an int in Python, but `true` is no version number.
    if isinstance(version, bool) or version != VERSION:
        raise MalformedInput(
            f"version {version!r} is not supported; this server reads version {VERSION}",
            field="version",
        )
    if "database" in doc and not isinstance(doc["database"], str):
        raise MalformedInput("database must be a string", field="database")
    payloads = doc.get("classes")
    if not isinstance(payloads, list):
        raise MalformedInput("classes must be a list of classes", field="classes")
    classes = [class_at(payload, at=f"classes[{i}]") for i, payload in enumerate(payloads)]
    return distinct_by_id(classes, at="classes")


def class_at(payload: object, *, at: str) -> ClassDef:
    """`ClassDef.from_api`, with error paths placed under `at` (`classes[3].properties[1].type`)."""
    try:
        return ClassDef.from_api(payload)
    except ValidationFailed as exc:
        raise _placed(exc, at) from None


def distinct_by_id(classes: Iterable[ClassDef], *, at: str = "classes") -> list[ClassDef]:
    """The classes in id order, refusing two with one id (the later would silently win)."""
    seen: dict[str, int] = {}
    listed = list(classes)
    for i, c in enumerate(listed):
        if c.id in seen:
            raise ValidationFailed(
                f"{at}[{i}].id: class {c.id} is already given as {at}[{seen[c.id]}]",
                field=f"{at}[{i}].id",
            )
        seen[c.id] = i
    return sorted(listed, key=lambda c: c.id)


def _placed(exc: ValidationFailed, at: str) -> ValidationFailed:
    field = _join(at, exc.field)
    if exc.field and exc.message.startswith(exc.field):
        message = f"{field}{exc.message[len(exc.field) :]}"
    else:
        message = f"{at}: {exc.message}"
    data = dict(exc.data or {})
    if isinstance(data.get("errors"), list):
        data["errors"] = [
            {**e, "field": _join(at, e.get("field"))} if isinstance(e, Mapping) else e
            for e in data["errors"]
        ]
    return ValidationFailed(message, field=field, data=data or None)


def _join(at: str, field: str | None) -> str:
    if not field:
        return at
    return f"{at}{field}" if field.startswith("[") else f"{at}.{field}"
