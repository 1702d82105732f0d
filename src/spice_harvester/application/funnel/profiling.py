"""Profiling tables: every column's type, missing cells, constraints, and the table's key."""

from __future__ import annotations

import json
import math

import polars as pl

from spice_harvester.application.funnel.key_search import find_key
from spice_harvester.application.funnel.scan import Scanned, ScanOptions, scan_column
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.inference.assemble import build_profile
from spice_harvester.domain.inference.decide import decide
from spice_harvester.domain.inference.model import ColumnProfile, NonMatching, TableProfile

NON_MATCHING_SHOWN = 5


def profile_table(
    frame: pl.DataFrame,
    *,
    sample_rows: int | None = None,
    include_complex_types: bool = False,
    phone_region: str | None = None,
    table_name: str = "",
) -> TableProfile:
    """Profile every column of a frame of strings (null is missing) over all its rows.

    `sample_rows` profiles a random but repeatable sample instead; row numbers in the
    result still count the frame's rows (1 is the first data row). Arrays, objects and
    coordinates are recognised only with `include_complex_types` (coordinates also when
    the column's name says so). `phone_region` reads national phone numbers; without it
    the region of the column's international numbers is used.
    """
    total = frame.height
    positions: pl.Series | None = None
    if sample_rows is not None and sample_rows < total:
        # Named so that it cannot clash with a column of the frame.
        row = "_" * (max(map(len, frame.columns), default=0) + 1)
        sampled = frame.with_row_index(row).sample(n=max(sample_rows, 0), seed=0).sort(row)
        positions = sampled[row]
        frame = sampled.drop(row)
    options = ScanOptions(include_complex_types, phone_region)
    columns: list[ColumnProfile] = []
    trimmed: dict[str, pl.Series] = {}
    for name in frame.columns:
        series = frame[name]
        if series.dtype != pl.String:
            series = series.cast(pl.String)
        scanned = scan_column(series, options)
        columns.append(_profile(scanned, positions))
        trimmed[name] = scanned.trimmed
    profiles = tuple(columns)
    key = find_key(pl.DataFrame(trimmed), profiles, table_name) if trimmed else None
    return TableProfile(columns=profiles, row_count=total, profiled_rows=frame.height, key=key)


def profile_rows(
    columns: list[str],
    rows: list[list[object]],
    *,
    sample_rows: int | None = None,
    include_complex_types: bool = False,
    phone_region: str | None = None,
    table_name: str = "",
) -> TableProfile:
    """Profile rows as the JSON API sends them: cells of text, numbers, booleans or null."""
    frame = rows_frame(columns, rows)
    return profile_table(
        frame,
        sample_rows=sample_rows,
        include_complex_types=include_complex_types,
        phone_region=phone_region,
        table_name=table_name,
    )


def rows_frame(columns: list[str], rows: list[list[object]]) -> pl.DataFrame:
    """A frame of strings from JSON rows; short rows are padded with missing cells."""
    if len(set(columns)) != len(columns):
        raise ValidationFailed("columns must have distinct names", field="columns")
    width = len(columns)
    cells: list[list[str | None]] = [[] for _ in columns]
    for number, row in enumerate(rows):
        if len(row) > width:
            raise ValidationFailed(
                f"row {number + 1} has {len(row)} cells but there are {width} columns",
                field=f"data[{number}]",
            )
        for index in range(width):
            cells[index].append(cell_text(row[index]) if index < len(row) else None)
    return pl.DataFrame(
        {
            name: pl.Series(name, values, dtype=pl.String)
            for name, values in zip(columns, cells, strict=True)
        }
    )


def cell_text(cell: object) -> str | None:
    """A JSON cell as the text a CSV would hold: true/false, 12, 12.5, JSON for lists."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return None if math.isnan(cell) else repr(cell)
    if isinstance(cell, int | str):
        return str(cell)
    return json.dumps(cell, ensure_ascii=False)


def _profile(scanned: Scanned, positions: pl.Series | None) -> ColumnProfile:
    decision = decide(scanned.evidence)
    near = decision.near_miss
    shown: tuple[NonMatching, ...] = ()
    if near is not None and near.failing:
        failing = pl.Series(near.failing, dtype=pl.String).implode()
        found = scanned.trimmed.is_in(failing).fill_null(False)
        indexes = found.arg_true().head(NON_MATCHING_SHOWN).to_list()
        shown = tuple(
            NonMatching(
                value=str(scanned.trimmed[index]),
                row=int(positions[index] if positions is not None else index) + 1,
                expected=near.type,
            )
            for index in indexes
        )
    return build_profile(scanned.evidence, decision, shown)
