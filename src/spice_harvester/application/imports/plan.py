"""From an uploaded file to the rows of an import: the table, the class, the mapping.

Used alike by BFF's import route and by `spice import`: read the file with Funnel's readers,
pick the table, profile it (for the conversions, or for a new class), map its columns to the
class's fields and build the rows a chunk at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from spice_harvester.application.funnel.profiling import profile_table
from spice_harvester.application.funnel.readers import MAX_UPLOAD_BYTES, ReadTable, read_tables
from spice_harvester.application.funnel.scan import ScanOptions, scan_column
from spice_harvester.application.funnel.suggest import property_names, suggest_schema
from spice_harvester.application.imports.mapping import (
    FieldTarget,
    ImportMapping,
    mapping_from,
    suggest_mapping,
)
from spice_harvester.application.imports.request import ImportRequest
from spice_harvester.application.imports.rows import ImportRow, RowBuilder, first_data_row
from spice_harvester.application.imports.wire import Header
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.inference.model import ColumnProfile, InferredType, TableProfile
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import ResolvedClass, Schema
from spice_harvester.domain.ontology.types import ValueType
from spice_harvester.domain.versioning.hashing import canonical_json

# Conversions are decided on a sample of a large table (the same sample every time); a new
# class is suggested from every row, since its constraints must hold for all of them.
PROFILE_SAMPLE = 100_000
# Property types a cell may need converting into (the others are sent as the file has them).
CONVERTIBLE = frozenset(
    {
        ValueType.INTEGER,
        ValueType.DECIMAL,
        ValueType.FLOAT,
        ValueType.MONEY,
        ValueType.DATE,
        ValueType.DATETIME,
        ValueType.BOOLEAN,
    }
)


@dataclass(frozen=True)
class SourceTable:
    """The table an import reads, and the file's number of its first data row."""

    name: str
    frame: pl.DataFrame
    format: str
    first_row: int
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, table: ReadTable) -> SourceTable:
        report = table.report
        first = first_data_row(report.format, report.source)
        return cls(table.name, table.frame, report.format, first, report.warnings)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)


def read_source(
    filename: str,
    content: bytes,
    content_type: str | None = None,
    *,
    table: str | None = None,
    sheet: str | None = None,
    delimiter: str | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> SourceTable:
    """The one table of a file, or the one named `table` when it holds several."""
    found = read_tables(
        filename, content, content_type, max_bytes=max_bytes, sheet=sheet, delimiter=delimiter
    )
    if table is not None:
        chosen = [t for t in found if t.name == table]
        if not chosen:
            names = ", ".join(repr(t.name) for t in found)
            raise ValidationFailed(
                f"{filename} has no table {table!r}; it has {names}", field="table"
            )
        found = chosen
    if not found:
        raise ValidationFailed(f"{filename} holds no table", field="file")
    if len(found) > 1:
        names = ", ".join(repr(t.name) for t in found)
        raise ValidationFailed(
            f"{filename} holds several tables ({names}); name one with `table`", field="table"
        )
    return SourceTable.of(found[0])


def profile_of(frame: pl.DataFrame, *, every_row: bool = False) -> TableProfile:
    sample = None if every_row or frame.height <= PROFILE_SAMPLE else PROFILE_SAMPLE
    return profile_table(frame, sample_rows=sample)


def import_command_id(content: bytes, target: Mapping[str, Any]) -> str:
    """The command id an import gets when the client names none: the same file into the same
    place with the same mapping and options is the same import."""
    digest = hashlib.sha256(content)
    digest.update(canonical_json(dict(target)).encode())
    return f"import-{digest.hexdigest()[:40]}"


@dataclass(frozen=True)
class ImportPlan:
    """One table's rows for one class."""

    table: SourceTable
    mapping: ImportMapping
    builder: RowBuilder

    def request(
        self, db: str, branch: str, *, allow_partial: bool = False, chunk_size: int | None = None
    ) -> ImportRequest:
        options: dict[str, Any] = {} if chunk_size is None else {"chunk_size": chunk_size}
        return ImportRequest(
            db,
            branch,
            self.mapping.class_id,
            allow_partial,
            columns=self.mapping.columns_by_field(),
            **options,
        )

    @property
    def total(self) -> int:
        return self.table.frame.height

    def header(self) -> Header:
        return Header(self.mapping.columns_by_field(), self.table.name)

    def chunks(self, size: int) -> Iterator[list[ImportRow]]:
        return self.builder.batches(self.table.frame, size)

    def identity(self) -> dict[str, Any]:
        """What makes two imports of the same file the same import, besides the file."""
        return {"class_id": self.mapping.class_id, "mapping": self.mapping.fingerprint()}

    def describe(self) -> dict[str, Any]:
        return {
            "table": self.table.name,
            "format": self.table.format,
            "rows": self.total,
            "warnings": list(self.table.warnings),
            "mapping": {**self.mapping.to_json(), "conversions": self.builder.conversions()},
        }


def plan_for_class(
    table: SourceTable,
    resolved: ResolvedClass,
    mapping: Mapping[str, Any] | None = None,
    *,
    profile: TableProfile | None = None,
) -> ImportPlan:
    """Rows of `table` for an existing class: the mapping given (labels resolved) over the
    one suggested by names and labels."""
    columns = table.columns
    chosen = (
        mapping_from(mapping, columns, resolved) if mapping else suggest_mapping(columns, resolved)
    )
    profile = profile if profile is not None else profile_of(table.frame)
    profile = fitted(table.frame, profile, chosen)
    return ImportPlan(table, chosen, RowBuilder(chosen, profile, table.first_row))


def fitted(frame: pl.DataFrame, profile: TableProfile, mapping: ImportMapping) -> TableProfile:
    """The profile with each column read as the type of the property it fills, where the
    profile chose another type because some cells did not fit: a column of day-first dates
    with one bad cell is profiled as text, yet its other cells convert, and the bad one is
    reported on its row."""
    wanted = {t.column: t.type for t in mapping.targets if t.kind == "property" and t.type}
    columns = []
    for column in profile.columns:
        target = wanted.get(column.column_name)
        found = column.inferred_type.type
        if target is None or found == target or target not in CONVERTIBLE:
            columns.append(column)
            continue
        columns.append(_read_as(frame[column.column_name], column, target))
    return profile.model_copy(update={"columns": tuple(columns)})


def _read_as(series: pl.Series, column: ColumnProfile, target: ValueType) -> ColumnProfile:
    """The column as `target`, read the way most of its cells fit (when any do)."""
    if series.dtype != pl.String:
        series = series.cast(pl.String)
    evidence = scan_column(series, ScanOptions()).evidence
    fits = [c for c in evidence.candidates if c.type == target and c.matched_rows > 0]
    if not fits:
        return column
    best = max(fits, key=lambda c: c.matched_rows)  # the first of the best: preferred reading
    reason = f"{best.matched_rows} of {evidence.present} values are {best.detail}"
    return column.model_copy(
        update={
            "inferred_type": InferredType(type=target, confidence=0.5, reason=reason),
            "format": best.format,
            "needs_conversion": not best.native,
        }
    )


def new_class_plan(table: SourceTable, class_name: str) -> tuple[dict[str, Any], ImportPlan]:
    """A class suggested from every row of `table` (Funnel's `suggest_schema`), and the plan
    filling it: each column its own property."""
    profile = profile_of(table.frame, every_row=True)
    suggested = suggest_schema(profile, class_name)
    definition = ClassDef.from_api(suggested)
    names = property_names(profile)
    targets = []
    for column in table.columns:
        prop = definition.property(names[column])
        if prop is not None:
            targets.append(FieldTarget(column, prop.name, "property", prop.type))
    mapping = ImportMapping(definition.id, tuple(targets))
    return suggested, ImportPlan(table, mapping, RowBuilder(mapping, profile, table.first_row))


def schema_with(definition: Mapping[str, Any], schema: Schema | None = None) -> Schema:
    """A schema holding a class not yet stored, for checking rows against it locally."""
    new = ClassDef.from_api(dict(definition))
    return (schema or Schema({})).with_class(new)
