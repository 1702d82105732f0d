"""The Funnel's API as use cases: rows, uploads and sheets profiled, and classes suggested from
rows or from an analysis sent back.

An input that cannot be read as a table (an empty file, rows longer than the header, a broken
workbook) is malformed (400), not a rule of the model it breaks; readers say
`ValidationFailed`, so `unreadable_input` turns their errors into `MalformedInput`. A format
nothing reads stays `UnsupportedFormat` (415).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import phonenumbers
import polars as pl
from pydantic import ValidationError

from spice_harvester.application.funnel.profiling import profile_table, rows_frame
from spice_harvester.application.funnel.readers import ReadTable, read_tables
from spice_harvester.application.funnel.suggest import property_names, suggest_schema
from spice_harvester.domain.errors import (
    MalformedInput,
    UnsupportedFormat,
    ValidationFailed,
)
from spice_harvester.domain.inference.model import TableProfile


@dataclass(frozen=True)
class ProfileOptions:
    include_complex_types: bool = False
    sample_rows: int | None = None
    phone_region: str | None = None

    def profile(self, frame: pl.DataFrame, table_name: str = "") -> TableProfile:
        return profile_table(
            frame,
            sample_rows=self.sample_rows,
            include_complex_types=self.include_complex_types,
            phone_region=self.phone_region,
            table_name=table_name,
        )


def phone_region(region: str | None) -> str | None:
    """A region code as phone numbers know it (`KR`, `us`), upper-cased; None stays None."""
    if region is None:
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(
            f"phone_region {region!r} is not a region code such as KR or US", field="phone_region"
        )
    return code


@contextmanager
def unreadable_input() -> Iterator[None]:
    try:
        yield
    except UnsupportedFormat:
        raise
    except ValidationFailed as error:
        raise MalformedInput(error.message, field=error.field, data=error.data) from error


def rows_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], where: str = ""
) -> pl.DataFrame:
    """A frame of strings from JSON rows. Every row must have one cell per column; `where`
    prefixes the field named in errors (`tables.orders.`)."""
    if not columns:
        raise MalformedInput("columns is empty: name every column", field=f"{where}columns")
    repeated = _repeated(columns)
    if repeated:
        raise MalformedInput(
            f"columns repeat {', '.join(map(repr, repeated))}: every name must be distinct",
            field=f"{where}columns",
        )
    if not rows:
        raise MalformedInput("data holds no rows", field=f"{where}data")
    width = len(columns)
    for index, row in enumerate(rows):
        if len(row) != width:
            raise MalformedInput(
                f"row {index + 1} has {len(row)} cells but there are {width} columns",
                field=f"{where}data[{index}]",
                data={"row": index + 1, "cells": len(row), "columns": width},
            )
    return rows_frame(list(columns), [list(row) for row in rows])


@dataclass(frozen=True)
class AnalyzedTable:
    """One table of an input: how it was read and what its columns hold."""

    table: ReadTable
    profile: TableProfile

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.table.name,
            "report": self.table.report.to_json(),
            "profile": self.profile.to_json(),
        }


def upload_tables(
    filename: str,
    content: bytes,
    content_type: str | None = None,
    *,
    max_bytes: int,
    sheet: str | None = None,
    delimiter: str | None = None,
) -> list[ReadTable]:
    """The tables of an uploaded file; a file that holds none is malformed."""
    with unreadable_input():
        tables = read_tables(
            filename,
            content,
            content_type,
            max_bytes=max_bytes,
            sheet=sheet,
            delimiter=delimiter,
        )
    if not tables:
        raise MalformedInput(f"{filename or 'the upload'} holds no table", field="file")
    return tables


def analyze_tables(tables: Sequence[ReadTable], options: ProfileOptions) -> list[AnalyzedTable]:
    return [AnalyzedTable(table, options.profile(table.frame, table.name)) for table in tables]


def profile_from_json(value: Mapping[str, Any], where: str) -> TableProfile:
    """An analysis as `analyze` answers it, back as a profile. Fields it does not know are
    ignored, so an analysis from a newer Funnel, or one a client annotated, still reads."""
    try:
        profile = TableProfile.model_validate(value, extra="ignore")
    except ValidationError as error:
        problem = error.errors()[0]
        path = ".".join(str(part) for part in (where, *problem["loc"]))
        raise ValidationFailed(f"{path}: {problem['msg']}", field=path) from None
    names = [column.column_name for column in profile.columns]
    if not names:
        raise ValidationFailed(f"{where}.columns is empty", field=f"{where}.columns")
    repeated = _repeated(names)
    if repeated:
        raise ValidationFailed(
            f"{where}.columns repeat {', '.join(map(repr, repeated))}", field=f"{where}.columns"
        )
    unknown = [name for name in (profile.key.columns if profile.key else ()) if name not in names]
    if unknown:
        raise ValidationFailed(
            f"{where}.key names {', '.join(map(repr, unknown))}, which is not a column",
            field=f"{where}.key.columns",
        )
    return profile


def schema_suggestion(profile: TableProfile, class_name: str) -> dict[str, Any]:
    """The suggested class, the key with its evidence, and which property each column fills."""
    return {
        "class": suggest_schema(profile, class_name),
        "key": profile.key.to_json() if profile.key else None,
        "mapping": property_names(profile),
    }


def _repeated(names: Sequence[str]) -> list[str]:
    return sorted(name for name, count in Counter(names).items() if count > 1)
