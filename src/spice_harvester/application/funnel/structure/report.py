"""What the structure analysis found in a sheet: its tables and what it noticed on the way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from spice_harvester.application.funnel.structure.cells import Cell, CellRange, string_frame

# `table`: names across the top, one record per row. `key_value`: labels down the first column
# and one value each, one record. `transposed`: labels down the first column, one record per
# further column.
TableKind = Literal["table", "key_value", "transposed"]


@dataclass(frozen=True)
class FoundTable:
    """One table of a sheet. `range` covers its header and data (not its title); row and
    column indexes are zero-based positions in the sheet grid."""

    range: CellRange
    kind: TableKind
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    header_rows: tuple[int, ...] = ()
    header_columns: tuple[int, ...] = ()
    title: str | None = None
    title_rows: tuple[int, ...] = ()
    merged: tuple[CellRange, ...] = ()

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def column_count(self) -> int:
        return len(self.columns)

    def to_frame(self) -> pl.DataFrame:
        return string_frame(self.columns, self.rows)

    def to_json(self) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "range": self.range.a1(),
            "bounds": self.range.bounds(),
            "kind": self.kind,
        }
        if self.title is not None:
            shape["title"] = self.title
            shape["title_rows"] = list(self.title_rows)
        shape.update(
            header_rows=list(self.header_rows),
            header_columns=list(self.header_columns),
            columns=list(self.columns),
            rows=[list(row) for row in self.rows],
            row_count=self.row_count,
            column_count=self.column_count,
            merged=[cells.a1() for cells in self.merged],
        )
        return shape


@dataclass(frozen=True)
class StructureReport:
    tables: tuple[FoundTable, ...]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "tables": [table.to_json() for table in self.tables],
            "warnings": list(self.warnings),
        }
