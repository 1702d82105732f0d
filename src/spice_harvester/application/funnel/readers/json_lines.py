"""JSON lines (one object per line) and JSON arrays of objects to a table of strings.

Columns are the union of the objects' keys in the order first seen; a missing key is null.
Strings stay as written, numbers keep their written digits (`1.50` stays `1.50`), booleans are
`true`/`false`, and nested objects and arrays become their JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from spice_harvester.application.funnel.readers.encoding import decode_text
from spice_harvester.application.funnel.readers.tables import ReadReport, ReadTable, SourceFormat
from spice_harvester.application.funnel.structure import Cell, string_frame, unique_names
from spice_harvester.domain.errors import ValidationFailed


def _nested_number(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_cell(value: Any) -> Cell:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=_nested_number)


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _parse_lines(text: str, name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    # Split on line feeds only: U+2028 and friends may sit inside JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise ValidationFailed(
                f"{name}: line {number} is not valid JSON: {error.msg} (column {error.colno})",
                field="file",
                data={"line": number},
            ) from error
        if not isinstance(value, dict):
            raise ValidationFailed(
                f"{name}: line {number} is {_kind(value)}, not a JSON object",
                field="file",
                data={"line": number},
            )
        records.append(value)
    return records


def table_of_records(
    records: Iterable[dict[str, Any]],
    *,
    name: str,
    source_format: SourceFormat,
    encoding: str | None = None,
    warnings: tuple[str, ...] = (),
) -> ReadTable:
    keys: dict[str, None] = {}
    kept = list(records)
    for record in kept:
        keys.update(dict.fromkeys(record))
    order = list(keys)
    names, notes = unique_names(order)
    rows = [[json_cell(record.get(key)) for key in order] for record in kept]
    frame = string_frame(names, rows)
    report = ReadReport(
        format=source_format,
        rows=frame.height,
        columns=frame.width,
        encoding=encoding,
        warnings=(*warnings, *notes),
    )
    return ReadTable(name=name, frame=frame, report=report)


def read_jsonl_bytes(content: bytes, *, name: str = "table") -> ReadTable:
    if not content.strip():
        raise ValidationFailed(f"{name} is empty", field="file")
    decoded = decode_text(content)
    records = _parse_lines(decoded.text, name)
    if not records:
        raise ValidationFailed(f"{name} is empty", field="file")
    return table_of_records(
        records,
        name=name,
        source_format="jsonl",
        encoding=decoded.encoding,
        warnings=decoded.warnings,
    )


def read_json_bytes(content: bytes, *, name: str = "table") -> ReadTable:
    """A JSON array of objects, or one object (one row); anything else is read as JSON lines,
    which is what many `.json` exports really are."""
    if not content.strip():
        raise ValidationFailed(f"{name} is empty", field="file")
    decoded = decode_text(content)
    try:
        document = json.loads(decoded.text, parse_float=Decimal)
    except json.JSONDecodeError:
        return read_jsonl_bytes(content, name=name)
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise ValidationFailed(f"{name} is {_kind(document)}, not JSON objects", field="file")
    if not document:
        raise ValidationFailed(f"{name} holds no objects", field="file")
    for index, item in enumerate(document):
        if not isinstance(item, dict):
            raise ValidationFailed(
                f"{name}: item {index} of the array is {_kind(item)}, not a JSON object",
                field="file",
                data={"item": index},
            )
    return table_of_records(
        document,
        name=name,
        source_format="json",
        encoding=decoded.encoding,
        warnings=decoded.warnings,
    )
