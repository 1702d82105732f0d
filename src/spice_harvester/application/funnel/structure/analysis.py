"""The tables inside a sheet grid, found from its blocks of filled cells.

Blocks are separated by blank rows and columns. Two adjustments follow. A block just below a
table (at most two blank rows between), within its columns and not starting with a header row,
continues that table: a blank row inside data does not start a new table. A block of up to
three rows of one written cell each (a merged cell counts once) just above another block holds
that block's title lines; elsewhere it is left out with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

from spice_harvester.application.funnel.structure.cells import Cell, CellRange, clean_label
from spice_harvester.application.funnel.structure.layout import (
    MAX_TITLE_ROWS,
    Block,
    columns_of,
    read_block,
    rows_of,
    single_written_cell,
    without_titles,
)
from spice_harvester.application.funnel.structure.regions import find_regions
from spice_harvester.application.funnel.structure.report import StructureReport
from spice_harvester.application.funnel.structure.sheet import Sheet

# Blank rows that may lie between a table and its title or the rest of its data.
MAX_GAP_ROWS = 2


def analyze_grid(
    grid: Sequence[Sequence[Cell]], merged: Sequence[CellRange | str] | None = None
) -> StructureReport:
    """Find the tables in a sheet. `merged` lists merged ranges (`CellRange` or `B2:D2`)."""
    sheet = Sheet.prepare(grid, merged)
    if sheet.is_blank:
        return StructureReport((), ("the sheet is blank",))
    warnings: list[str] = []
    regions = join_continuations(sheet, find_regions(sheet.filled), warnings)
    blocks = attach_titles(sheet, regions, warnings)
    tables = tuple(read_block(sheet, block, warnings) for block in blocks)
    return StructureReport(tables, tuple(warnings))


def _gap(upper: CellRange, lower: CellRange) -> int:
    return lower.first_row - upper.last_row - 1


def _continues(sheet: Sheet, upper: CellRange, lower: CellRange) -> bool:
    if not 0 <= _gap(upper, lower) <= MAX_GAP_ROWS or upper.width < 2:
        return False
    if not upper.first_column <= lower.first_column <= lower.last_column <= upper.last_column:
        return False
    body, _ = without_titles(sheet, upper)
    return sheet.is_label_row(body.first_row, columns_of(body)) and not sheet.is_label_row(
        lower.first_row, columns_of(lower), min_share=0.0
    )


def join_continuations(
    sheet: Sheet, regions: list[CellRange], warnings: list[str]
) -> list[CellRange]:
    pending = sorted(regions)
    joined = True
    while joined:
        joined = False
        for upper in pending:
            for lower in pending:
                if lower is upper or not _continues(sheet, upper, lower):
                    continue
                union = upper.union(lower)
                others = [area for area in pending if area is not upper and area is not lower]
                if any(area.overlaps(union) for area in others):
                    continue
                warnings.append(
                    f"{lower.a1()}: read as more rows of the table at {upper.a1()} "
                    "(blank rows between them)"
                )
                pending = sorted([*others, union])
                joined = True
                break
            if joined:
                break
    return pending


def _lines(sheet: Sheet, area: CellRange) -> list[tuple[int, str]] | None:
    """A block of at most three rows of one written cell each: a title (and subtitles) when
    a table follows closely below."""
    if area.height > MAX_TITLE_ROWS:
        return None
    lines = []
    for row in rows_of(area):
        text = single_written_cell(sheet, row, columns_of(area))
        if text is None:
            return None
        lines.append((row, text))
    return lines


def attach_titles(sheet: Sheet, regions: list[CellRange], warnings: list[str]) -> list[Block]:
    lone = {area: lines for area in regions if (lines := _lines(sheet, area)) is not None}
    tables = [area for area in regions if area not in lone]
    # Bottom-up, so a subtitle finds its table first and the title above it follows along.
    owner: dict[CellRange, CellRange] = {}
    for area in sorted(lone, reverse=True):
        below = [
            other
            for other in regions
            if 0 <= _gap(area, other) <= MAX_GAP_ROWS
            and other.first_column <= area.last_column
            and area.first_column <= other.last_column
        ]
        if not below:
            continue
        nearest = min(below, key=lambda other: (other.first_row, other.first_column))
        target = owner.get(nearest, nearest) if nearest in lone else nearest
        if target in lone:
            continue
        owner[area] = target
    titles: dict[CellRange, list[tuple[int, str]]] = {area: [] for area in tables}
    for area, lines in sorted(lone.items()):
        if area in owner:
            titles[owner[area]].extend((row, clean_label(text)) for row, text in lines)
        else:
            warnings.extend(
                f"{CellRange(row, area.first_column, row, area.last_column).a1()}: {text!r} "
                "stands outside any table; left out"
                for row, text in lines
            )
    return [Block(area, tuple(titles[area])) for area in tables]
