"""A grid made ready for analysis: rectangular, with its merged ranges, and a second copy in
which every merged range holds its top-left value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spice_harvester.application.funnel.structure.cells import (
    Cell,
    CellRange,
    Grid,
    clean_label,
    is_blank,
    kind_of,
)


@dataclass(frozen=True)
class Sheet:
    original: Grid
    filled: Grid
    merged: tuple[CellRange, ...]

    @classmethod
    def prepare(
        cls, grid: Sequence[Sequence[Cell]], merged: Sequence[CellRange | str] | None
    ) -> Sheet:
        width = max((len(row) for row in grid), default=0)
        original = [[*row, *([None] * (width - len(row)))] for row in grid]
        ranges = tuple(
            cells
            for cells in (CellRange.coerce(item) for item in merged or ())
            if cells.first_row < len(original) and cells.first_column < width
        )
        filled = [list(row) for row in original]
        for cells in ranges:
            value = original[cells.first_row][cells.first_column]
            if is_blank(value):
                continue
            for row in range(cells.first_row, min(cells.last_row + 1, len(filled))):
                for column in range(cells.first_column, min(cells.last_column + 1, width)):
                    filled[row][column] = value
        return cls(original, filled, ranges)

    @property
    def is_blank(self) -> bool:
        return all(is_blank(value) for row in self.original for value in row)

    def values(self, row: int, columns: range, *, filled: bool = True) -> list[Cell]:
        source = self.filled if filled else self.original
        return [source[row][column] for column in columns]

    def column(self, column: int, rows: Iterable[int]) -> list[Cell]:
        return [self.filled[row][column] for row in rows]

    def is_label_row(
        self, row: int, columns: range, *, min_share: float = 0.5, distinct: bool = True
    ) -> bool:
        """Text labels (no numbers, dates or booleans), distinct unless told otherwise, filling
        at least `min_share` of the columns once merged cells count as filled."""
        values = self.values(row, columns, filled=False)
        written = [value for value in values if not is_blank(value)]
        if not written or any(kind_of(value) != "text" for value in written):
            return False
        if distinct and len({clean_label(value) for value in written}) != len(written):
            return False
        covered = sum(not is_blank(value) for value in self.values(row, columns))
        return covered >= min_share * len(columns)

    def merged_in(self, area: CellRange) -> tuple[CellRange, ...]:
        return tuple(cells for cells in self.merged if cells.overlaps(area))


def dominant_share(values: Iterable[Cell]) -> float | None:
    """The share of the most common kind among the filled values (None when all are blank)."""
    kinds = Counter(kind for kind in map(kind_of, values) if kind != "blank")
    total = sum(kinds.values())
    return kinds.most_common(1)[0][1] / total if total else None


def homogeneity(lines: Iterable[Iterable[Cell]]) -> float:
    """How uniform the lines are in kind, averaged over the lines that hold anything."""
    shares = [share for share in map(dominant_share, lines) if share is not None]
    return sum(shares) / len(shares) if shares else 1.0
