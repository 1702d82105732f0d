"""Sheet cells as the funnel sees them: strings or nothing, A1 ranges, a coarse kind per value,
column names made unique, and tables of strings as polars frames."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from openpyxl.utils.cell import get_column_letter, range_boundaries

from spice_harvester.domain.errors import MalformedInput

Cell = str | None
Grid = list[list[Cell]]
CellKind = Literal["blank", "number", "date", "bool", "text"]

_NUMBER = re.compile(
    r"[+-]?[$€£¥₩]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+(?:,\d+)?)(?:[eE][+-]?\d+)?%?",
)
_DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?: \d{1,2}:\d{2}(?::\d{2})?)?"
    r"|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?",
)
_BOOLEANS = frozenset({"true", "false"})


def is_blank(value: Cell) -> bool:
    return value is None or not value.strip()


def kind_of(value: Cell) -> CellKind:
    """A coarse kind, enough to tell labels from data; type inference proper lives elsewhere."""
    if value is None:
        return "blank"
    text = value.strip()
    if not text:
        return "blank"
    if text.lower() in _BOOLEANS:
        return "bool"
    if _DATE.fullmatch(text):
        return "date"
    if any(ch.isdigit() for ch in text) and _NUMBER.fullmatch(text):
        return "number"
    return "text"


@dataclass(frozen=True, order=True)
class CellRange:
    """A rectangle of cells, zero-based and inclusive on both ends."""

    first_row: int
    first_column: int
    last_row: int
    last_column: int

    @classmethod
    def from_a1(cls, text: str) -> CellRange:
        """`B2:D7` or `B2`; the letters are columns, the numbers one-based rows."""
        try:
            min_col, min_row, max_col, max_row = range_boundaries(text.strip().upper())
        except (ValueError, TypeError) as error:
            raise MalformedInput(
                f"{text!r} is not a cell range like B2:D7", field="merged"
            ) from error
        if min_col is None or min_row is None or max_col is None or max_row is None:
            raise MalformedInput(f"{text!r} is not a closed cell range", field="merged")
        return cls(min_row - 1, min_col - 1, max_row - 1, max_col - 1)

    @classmethod
    def coerce(cls, value: CellRange | str) -> CellRange:
        return value if isinstance(value, CellRange) else cls.from_a1(value)

    @property
    def height(self) -> int:
        return self.last_row - self.first_row + 1

    @property
    def width(self) -> int:
        return self.last_column - self.first_column + 1

    def contains(self, row: int, column: int) -> bool:
        return (
            self.first_row <= row <= self.last_row
            and self.first_column <= column <= self.last_column
        )

    def overlaps(self, other: CellRange) -> bool:
        return (
            self.first_row <= other.last_row
            and other.first_row <= self.last_row
            and self.first_column <= other.last_column
            and other.first_column <= self.last_column
        )

    def union(self, other: CellRange) -> CellRange:
        return CellRange(
            min(self.first_row, other.first_row),
            min(self.first_column, other.first_column),
            max(self.last_row, other.last_row),
            max(self.last_column, other.last_column),
        )

    def a1(self) -> str:
        start = f"{get_column_letter(self.first_column + 1)}{self.first_row + 1}"
        if self.height == 1 and self.width == 1:
            return start
        return f"{start}:{get_column_letter(self.last_column + 1)}{self.last_row + 1}"

    def bounds(self) -> dict[str, int]:
        return {
            "first_row": self.first_row,
            "first_column": self.first_column,
            "last_row": self.last_row,
            "last_column": self.last_column,
        }


def clean_label(value: Cell) -> str:
    """A header cell as a name: inner whitespace (line breaks included) collapsed."""
    return " ".join((value or "").split())


def unique_names(raw: Sequence[Cell]) -> tuple[list[str], list[str]]:
    """Column names from header cells: blanks become `column_N` (N one-based), repeats get
    `_2`, `_3`; returns the names and a warning per change."""
    names: list[str] = []
    warnings: list[str] = []
    taken: set[str] = set()
    for index, value in enumerate(raw):
        label = clean_label(value)
        base = label or f"column_{index + 1}"
        name, counter = base, 1
        while name in taken:
            counter += 1
            name = f"{base}_{counter}"
        if not label:
            warnings.append(f"column {index + 1} has no name; called it {name}")
        elif name != label:
            warnings.append(f"column {index + 1} repeats the name {label!r}; called it {name}")
        taken.add(name)
        names.append(name)
    return names, warnings


def string_frame(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> pl.DataFrame:
    """A frame whose every column is a string column, rows padded or cut to the columns."""
    width = len(columns)
    schema = dict.fromkeys(columns, pl.String)
    if rows and all(len(row) == width for row in rows):
        return pl.DataFrame(rows, schema=schema, orient="row")
    data: dict[str, list[Cell]] = {name: [] for name in columns}
    series = list(data.values())
    for row in rows:
        for index in range(width):
            series[index].append(row[index] if index < len(row) else None)
    return pl.DataFrame(data, schema=schema)


def json_cell(value: Any, where: str) -> Cell:
    """One cell of a grid sent as JSON: strings kept, numbers and booleans written as text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise MalformedInput(f"{where} is a {type(value).__name__}, not a cell value", field="grid")


def grid_from_json(value: Any) -> Grid:
    """A grid from a request body: a list of rows, each a list of strings, numbers, booleans
    or nulls."""
    if not isinstance(value, list):
        raise MalformedInput("grid must be a list of rows", field="grid")
    grid: Grid = []
    for row_index, row in enumerate(value):
        if not isinstance(row, list):
            raise MalformedInput(f"grid row {row_index} is not a list", field="grid")
        grid.append(
            [json_cell(cell, f"grid[{row_index}][{column}]") for column, cell in enumerate(row)],
        )
    return grid
