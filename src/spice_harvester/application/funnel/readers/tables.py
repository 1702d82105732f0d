"""What a reader hands back: tables of strings, or sheet grids still to be analysed, each with
a report of how the input was read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from spice_harvester.application.funnel.structure import CellRange, Grid

SourceFormat = Literal["csv", "xlsx", "jsonl", "json"]


@dataclass(frozen=True)
class ReadReport:
    """How an input was read. `ragged_lines` are the lines (one-based, where the record ends)
    whose number of fields differed from the header's."""

    format: SourceFormat
    rows: int
    columns: int
    encoding: str | None = None
    delimiter: str | None = None
    ragged_lines: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "columns": self.columns,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "ragged_lines": list(self.ragged_lines),
            "warnings": list(self.warnings),
            "source": self.source,
        }


@dataclass(frozen=True, eq=False)
class ReadTable:
    """A table of strings: every column is `pl.String`, missing cells are null."""

    name: str
    frame: pl.DataFrame
    report: ReadReport


@dataclass(frozen=True, eq=False)
class NamedGrid:
    """One worksheet as rows of cell texts (trailing blank rows and columns cut), with its
    merged ranges; the structure analysis turns it into tables."""

    name: str
    grid: Grid
    merged: tuple[CellRange, ...]
    report: ReadReport
    hidden: bool = False


ReadSource = ReadTable | NamedGrid
