"""One block of a sheet read as a table: title rows, orientation, header rows, names, records.

How the decisions are made:
- Title: a top row of a block at least two columns wide holding a single written cell (a merged
  title counts once) that does not end in ':' (that would be a key), with rows below it.
- Header: the first row below the title when it is distinct text labels covering at least half
  the columns (repeated labels are accepted when the row below is not labels). A further row
  joins the header while it is labels too (repeats allowed) and the row above shows groups: a
  merged cell across columns, or blank cells over labels with the data below of another kind
  (numbers under 'min'/'max', say). Names join the header rows' labels.
- Orientation: blocks of at most 100 rows whose first column is distinct text labels may be
  read sideways. Labels ending in ':' decide it. Otherwise a two-column block is `key_value`
  when its values are of three kinds or more, or of two kinds with no header row; a wider
  block is `transposed` when its rows are clearly more uniform in kind than its columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from spice_harvester.application.funnel.structure.cells import (
    Cell,
    CellRange,
    clean_label,
    is_blank,
    kind_of,
    unique_names,
)
from spice_harvester.application.funnel.structure.report import FoundTable, TableKind
from spice_harvester.application.funnel.structure.sheet import Sheet, homogeneity

MAX_TITLE_ROWS = 3
MAX_HEADER_ROWS = 3
# Rows (or record columns) sampled when judging kinds.
SAMPLE = 200
# How much more uniform rows must be than columns before a block is read sideways.
SIDEWAYS_MARGIN = 0.25
# A block with more rows than this is read as a table: nobody lists that many fields sideways.
MAX_SIDEWAYS_LABELS = 100
_LABEL_ENDS = (":", "：")


@dataclass(frozen=True)
class Block:
    """A region with the title lines found above or inside it."""

    area: CellRange
    titles: tuple[tuple[int, str], ...] = ()


def columns_of(area: CellRange) -> range:
    return range(area.first_column, area.last_column + 1)


def rows_of(area: CellRange) -> range:
    return range(area.first_row, area.last_row + 1)


def single_written_cell(sheet: Sheet, row: int, columns: range) -> str | None:
    written = [value for value in sheet.values(row, columns, filled=False) if not is_blank(value)]
    return written[0] if len(written) == 1 else None


def count_title_rows(sheet: Sheet, area: CellRange) -> int:
    count = 0
    columns = columns_of(area)
    while count < MAX_TITLE_ROWS and area.width >= 2 and area.height - count >= 2:
        text = single_written_cell(sheet, area.first_row + count, columns)
        if text is None or text.strip().endswith(_LABEL_ENDS):
            break
        count += 1
    return count


def without_titles(sheet: Sheet, area: CellRange) -> tuple[CellRange, list[tuple[int, str]]]:
    count = count_title_rows(sheet, area)
    titles = [
        (row, clean_label(single_written_cell(sheet, row, columns_of(area))))
        for row in range(area.first_row, area.first_row + count)
    ]
    body = CellRange(area.first_row + count, area.first_column, area.last_row, area.last_column)
    return body, titles


def _sample_rows(sheet: Sheet, body: CellRange) -> list[list[Cell]]:
    last = min(body.last_row, body.first_row + SAMPLE - 1)
    return [sheet.values(row, columns_of(body)) for row in range(body.first_row, last + 1)]


def _is_label_column(labels: list[Cell]) -> bool:
    written = [value for value in labels if not is_blank(value)]
    if len(written) < 2 or len(written) < 0.8 * len(labels):
        return False
    if any(kind_of(value) != "text" for value in written):
        return False
    return len({clean_label(value) for value in written}) == len(written)


def decide_kind(sheet: Sheet, body: CellRange) -> TableKind:
    if body.width < 2 or not 2 <= body.height <= MAX_SIDEWAYS_LABELS:
        return "table"
    rows = _sample_rows(sheet, body)
    labels = [row[0] for row in rows]
    if not _is_label_column(labels):
        return "table"
    written = [value.strip() for value in labels if value is not None and value.strip()]
    if 2 * sum(value.endswith(_LABEL_ENDS) for value in written) >= len(written):
        return "key_value" if body.width == 2 else "transposed"
    has_header = sheet.is_label_row(body.first_row, columns_of(body))
    if body.width == 2:
        kinds = {kind_of(row[1]) for row in rows} - {"blank"}
        if len(kinds) >= 3 or (len(kinds) == 2 and not has_header):
            return "key_value"
        return "table"
    data = rows[1:] if has_header else rows
    across = homogeneity([row[column] for row in data] for column in range(body.width))
    down = homogeneity(row[1 : SAMPLE + 1] for row in rows)
    return "transposed" if down - across >= SIDEWAYS_MARGIN else "table"


def _groups_above(sheet: Sheet, upper: int, lower: int, body: CellRange) -> bool:
    """Whether `upper` reads as group labels over the labels of `lower`."""
    columns = columns_of(body)
    for cells in sheet.merged:
        if cells.last_row == upper and cells.width >= 2 and cells.overlaps(body):
            return True
    gaps = [
        column
        for column in columns
        if is_blank(sheet.filled[upper][column]) and not is_blank(sheet.filled[lower][column])
    ]
    if not gaps:
        return False
    below = range(lower + 1, min(body.last_row, lower + SAMPLE) + 1)
    for column in columns:
        if kind_of(sheet.filled[lower][column]) != "text":
            continue
        kinds = [kind_of(value) for value in sheet.column(column, below)]
        written = [kind for kind in kinds if kind != "blank"]
        if written and sum(kind != "text" for kind in written) * 2 > len(written):
            return True
    return False


def find_header_rows(sheet: Sheet, body: CellRange) -> list[int]:
    columns = columns_of(body)
    first = body.first_row
    if not sheet.is_label_row(first, columns, distinct=False):
        return []
    # Repeated labels still make a header when the row below is plainly not labels.
    if not sheet.is_label_row(first, columns) and (
        first == body.last_row or sheet.is_label_row(first + 1, columns, distinct=False)
    ):
        return []
    rows = [first]
    while len(rows) < MAX_HEADER_ROWS:
        candidate = rows[-1] + 1
        # Labels under groups may repeat ('min', 'max' under each group).
        if candidate >= body.last_row or not sheet.is_label_row(candidate, columns, distinct=False):
            break
        if not _groups_above(sheet, rows[-1], candidate, body):
            break
        rows.append(candidate)
    return rows


def _group_label(sheet: Sheet, row: int, column: int, last: int, first_column: int) -> Cell:
    """The nearest label to the left in a group row, when it stands over labels below."""
    for left in range(column - 1, first_column - 1, -1):
        value = sheet.filled[row][left]
        if not is_blank(value):
            return value if not is_blank(sheet.filled[last][left]) else None
    return None


def header_names(sheet: Sheet, rows: list[int], body: CellRange) -> list[Cell]:
    last = rows[-1]
    names: list[Cell] = []
    for column in columns_of(body):
        parts: list[str] = []
        for row in rows:
            value = sheet.filled[row][column]
            if is_blank(value) and row != last and not is_blank(sheet.filled[last][column]):
                value = _group_label(sheet, row, column, last, body.first_column)
            text = clean_label(value)
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        names.append(" ".join(parts) or None)
    return names


def _key(value: Cell) -> str:
    text = clean_label(value)
    while text.endswith(_LABEL_ENDS):
        text = text[:-1].rstrip()
    return text


def read_block(sheet: Sheet, block: Block, warnings: list[str]) -> FoundTable:
    body, inner_titles = without_titles(sheet, block.area)
    titles = [*block.titles, *inner_titles]
    kind = decide_kind(sheet, body)
    rows = rows_of(body)
    if kind == "table":
        header = find_header_rows(sheet, body)
        raw = header_names(sheet, header, body) if header else [None] * body.width
        data_rows = rows[len(header) :]
        records = [
            tuple(values)
            for values in (sheet.values(row, columns_of(body)) for row in data_rows)
            if not all(is_blank(value) for value in values)
        ]
        header_columns: tuple[int, ...] = ()
        if not header:
            warnings.append(f"{body.a1()}: no header row found; columns are numbered")
    else:
        header = []
        raw = [_key(sheet.filled[row][body.first_column]) or None for row in rows]
        records = [
            tuple(values)
            for values in (
                sheet.column(column, rows)
                for column in range(body.first_column + 1, body.last_column + 1)
            )
            if not all(is_blank(value) for value in values)
        ]
        header_columns = (body.first_column,)
    names, notes = unique_names(raw)
    warnings.extend(f"{body.a1()}: {note}" for note in notes if header or kind != "table")
    return FoundTable(
        range=body,
        kind=kind,
        columns=tuple(names),
        rows=tuple(records),
        header_rows=tuple(header),
        header_columns=header_columns,
        title="\n".join(text for _, text in titles) if titles else None,
        title_rows=tuple(row for row, _ in titles),
        merged=sheet.merged_in(block.area),
    )
