"""Rows of instance data from a table of strings: each mapped cell converted for its field,
a cell that does not convert reported with its row, column, value and reason.

Row numbers are the file's: a CSV's header is row 1, so its first data row is 2; a JSON
file's first object is 1; a worksheet table's rows are the sheet's. A value that needed
converting (`31/12/2024` -> `2024-12-31`) travels with the text it came from, so that a later
check can name the value as the file holds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from spice_harvester.application.imports.mapping import FieldTarget, ImportMapping
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.inference.convert import convert_value
from spice_harvester.domain.inference.missing import is_missing
from spice_harvester.domain.inference.model import ColumnProfile, TableProfile
from spice_harvester.domain.ontology.types import ValueType

T = ValueType
Issue = dict[str, Any]
"""A row's problem as reported: {row, column, field, value, reason, code}."""
Converter = Callable[[str], Any]

_TEXT = frozenset({T.STRING, T.TEXT})
_NUMBERS = frozenset({T.INTEGER, T.DECIMAL, T.FLOAT})
_SEPARATOR = ";"


def issue(
    row: int,
    column: str | None,
    field_name: str | None,
    value: Any,
    reason: str,
    code: str = "validation_failed",
) -> Issue:
    return {
        "row": row,
        "column": column,
        "field": field_name,
        "value": value,
        "reason": reason,
        "code": code,
    }


@dataclass(frozen=True)
class ImportRow:
    """One row ready for the checks: its number, its field values, the file's text of each
    converted value, and the problems found converting it."""

    row: int
    data: dict[str, Any]
    raw: dict[str, str] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"row": self.row, "data": self.data}
        if self.raw:
            shown["raw"] = self.raw
        if self.issues:
            shown["issues"] = list(self.issues)
        return shown

    def line(self) -> bytes:
        return (
            json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        )


class RowBuilder:
    """Builds the rows of one table for one mapping. Conversions come from the columns'
    profiles: a column profiled as the type its property has, and written in a form OMS
    does not read as it is (locale numbers, day-first dates, money with a symbol after the
    amount, true/false words), goes through `convert_value`; any other cell is sent as the
    file holds it (trimmed unless the property is text) for OMS's own normalisation."""

    def __init__(
        self, mapping: ImportMapping, profile: TableProfile | None, first_row: int = 2
    ) -> None:
        self.mapping = mapping
        self.first_row = first_row
        profiles = {c.column_name: c for c in profile.columns} if profile else {}
        self._converters = [(t, *_converter(t, profiles.get(t.column))) for t in mapping.targets]
        self._columns = list(dict.fromkeys(t.column for t in mapping.targets))

    def conversions(self) -> dict[str, str]:
        """Column -> how its cells are converted, for the columns whose cells are."""
        return {t.column: f"{t.field}: {how}" for t, _, how in self._converters if how}

    def rows(self, frame: pl.DataFrame, start: int = 0, stop: int | None = None) -> list[ImportRow]:
        end = frame.height if stop is None else min(stop, frame.height)
        if start >= end:
            return []
        if not self._columns:
            return [ImportRow(self.first_row + i, {}) for i in range(start, end)]
        part = frame.slice(start, end - start).select(self._columns)
        position = {name: i for i, name in enumerate(self._columns)}
        slots = [(t, convert, position[t.column]) for t, convert, _ in self._converters]
        built = []
        for offset, cells in enumerate(part.iter_rows()):
            built.append(self._row(self.first_row + start + offset, cells, slots))
        return built

    def batches(self, frame: pl.DataFrame, size: int) -> Iterator[list[ImportRow]]:
        for start in range(0, frame.height, size):
            yield self.rows(frame, start, start + size)

    @staticmethod
    def _row(
        number: int,
        cells: Sequence[str | None],
        slots: Sequence[tuple[FieldTarget, Converter, int]],
    ) -> ImportRow:
        data: dict[str, Any] = {}
        raw: dict[str, str] = {}
        issues: list[Issue] = []
        for target, convert, index in slots:
            cell = cells[index]
            if cell is None or is_missing(cell):
                continue
            try:
                value = convert(cell)
            except ValidationFailed as exc:
                reason = exc.message
                issues.append(issue(number, target.column, target.field, cell, reason))
                continue
            if value is None:
                continue
            data[target.field] = value
            if value != cell:
                raw[target.field] = cell
        return ImportRow(number, data, raw, tuple(issues))


def _converter(target: FieldTarget, profile: ColumnProfile | None) -> tuple[Converter, str | None]:
    """How a column's cells become the field's values, and what to call it when they are
    converted rather than passed on."""
    if target.kind == "relationship":
        return (
            (_many_ids, "target ids separated by ';' or a JSON array")
            if target.many
            else (
                _trimmed,
                None,
            )
        )
    if target.type in _TEXT:
        return _as_is, None
    if profile is not None and profile.needs_conversion and _fits(profile, target.type):
        return _profiled(profile), f"{profile.inferred_type.type.value} written as {profile.format}"
    return _trimmed, None


def _fits(profile: ColumnProfile, wanted: ValueType | None) -> bool:
    found = profile.inferred_type.type
    return found == wanted or (found in _NUMBERS and wanted in _NUMBERS)


def _profiled(profile: ColumnProfile) -> Converter:
    def convert(cell: str) -> Any:
        return convert_value(cell, profile)

    return convert


def _as_is(cell: str) -> str:
    return cell


def _trimmed(cell: str) -> str:
    return cell.strip()


def _many_ids(cell: str) -> list[str] | str:
    """Several target ids: a JSON array, or ids separated by semicolons."""
    text = cell.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
        return text
    return [part.strip() for part in text.split(_SEPARATOR) if part.strip()]


def first_data_row(source_format: str, source: str | None) -> int:
    """The file's number of a table's first data row (see the module's docstring)."""
    if source_format in ("json", "jsonl"):
        return 1
    if source_format == "xlsx" and source and "!" in source:
        corner = source.split("!", 1)[1].split(":", 1)[0]
        digits = "".join(ch for ch in corner if ch.isdigit())
        return int(digits) + 1 if digits else 2
    return 2


def columns_json(mapping: ImportMapping, builder: RowBuilder) -> Mapping[str, Any]:
    """The mapping as a report shows it, with each column's conversion."""
    shown = dict(mapping.to_json())
    shown["conversions"] = builder.conversions()
    return shown
