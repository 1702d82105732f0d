"""XLSX workbooks to sheet grids of strings, with merged ranges.

Cells are written as text the way a person reading the sheet would type them back:
- dates `2025-05-01`; date-times `2025-05-01T14:30:00` (milliseconds when present), and a
  date-time at midnight as a date unless its number format shows a time; times `14:30:00`;
  durations `25:30:00`;
- numbers to Excel's own 15 significant digits, without exponent or float noise (`0.1 + 0.2`
  is `0.3`); an integer-valued number without decimals (`1.0` is `1`), unless the number format
  fixes decimals, which are then kept as displayed (`12.50` under `0.00`); percentages and other
  scaled formats keep the stored value (`0.5`, not `50%`);
- booleans `true` and `false`; formulas their last computed value; text as written.

Workbooks are opened fully when their worksheets unpack to at most 16 MiB of XML, which is
what lists merged ranges; larger ones are streamed (read-only mode) and then merged ranges are
not reported.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from spice_harvester.application.funnel.readers.tables import NamedGrid, ReadReport
from spice_harvester.application.funnel.structure import Cell, CellRange, Grid
from spice_harvester.domain.errors import ValidationFailed

MIB = 1024 * 1024
# Worksheet XML above this size is streamed: a fully opened workbook costs several times its
# XML in memory.
FULL_MODE_MAX_BYTES = 16 * MIB
# Worksheet XML beyond this is refused (a small zip can unpack to gigabytes).
MAX_WORKSHEET_BYTES = 2048 * MIB
# What a damaged workbook raises from the zip, XML and openpyxl layers.
_BROKEN = (
    InvalidFileException,
    zipfile.BadZipFile,
    zlib.error,
    ParseError,
    KeyError,
    ValueError,
    TypeError,
    OSError,
)
_QUOTED = re.compile(r'"[^"]*"|\\.|_.|\*.')
_BRACKETS = re.compile(r"\[[^\]]*\]")
_DECIMALS = re.compile(r"\.([0#?]+)")


def _first_section(number_format: str) -> str:
    plain = _QUOTED.sub("", number_format)
    return plain.split(";", 1)[0]


def _shows_time(number_format: str) -> bool:
    plain = _first_section(number_format).lower()
    if re.search(r"\[(h+|m+|s+)\]", plain):
        return True
    plain = _BRACKETS.sub("", plain)
    return "h" in plain or "s" in plain or "am/pm" in plain


def fixed_decimals(number_format: str) -> int:
    """How many decimals the format always shows (0 for General, percentages, exponents)."""
    plain = _BRACKETS.sub("", _first_section(number_format))
    lowered = plain.lower()
    if lowered in {"", "general", "@"} or "%" in plain or "e" in lowered or "/" in plain:
        return 0
    match = _DECIMALS.search(plain)
    if match is None:
        return 0
    digits = match.group(1)
    return len(digits) - len(digits.lstrip("0"))


def number_text(value: int | float, number_format: str = "General") -> str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        exact = Decimal(format(value, ".15g"))
    else:
        exact = Decimal(value)
    text = format(exact, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    decimals = fixed_decimals(number_format)
    if decimals:
        whole, _, fraction = text.partition(".")
        if len(fraction) < decimals:
            text = f"{whole}.{fraction.ljust(decimals, '0')}"
    return text


def _datetime_text(value: dt.datetime, number_format: str) -> str:
    if value.time() == dt.time() and not _shows_time(number_format):
        return value.date().isoformat()
    return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")


def _duration_text(value: dt.timedelta) -> str:
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def cell_text(value: Any, number_format: str = "General") -> Cell:
    """One cell's value as text; None for an empty cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value or None
    if isinstance(value, dt.datetime):
        return _datetime_text(value, number_format)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    if isinstance(value, int | float):
        return number_text(value, number_format)
    return str(value)


def read_xlsx_bytes(
    content: bytes,
    *,
    full_mode_max_bytes: int = FULL_MODE_MAX_BYTES,
    max_unpacked_bytes: int = MAX_WORKSHEET_BYTES,
) -> list[NamedGrid]:
    """Every worksheet of a workbook, in workbook order (chart sheets have no cells).
    Workbooks whose worksheets unpack to more than `full_mode_max_bytes` of XML are streamed,
    more than `max_unpacked_bytes` refused."""
    unpacked = _worksheet_bytes(content, max_unpacked_bytes)
    streamed = unpacked > full_mode_max_bytes
    with warnings.catch_warnings(record=True) as caught:
        # openpyxl warns about parts it skips (extensions, styles); they go into the report.
        warnings.simplefilter("always")
        try:
            book = load_workbook(io.BytesIO(content), read_only=streamed, data_only=True)
            try:
                sheets = [
                    _sheet(sheet)
                    for sheet in book.worksheets
                    if isinstance(sheet, Worksheet | ReadOnlyWorksheet)
                ]
            finally:
                book.close()
        except _BROKEN as error:
            raise ValidationFailed(
                f"the workbook could not be read: {error}", field="file"
            ) from error
    notes = tuple(dict.fromkeys(str(item.message) for item in caught))
    if streamed:
        notes += (
            f"the worksheets unpack to {unpacked:,} bytes, so they were streamed and merged "
            "cells are not reported",
        )
    return [
        NamedGrid(
            name=title,
            grid=grid,
            merged=merged,
            report=ReadReport(
                format="xlsx",
                rows=len(grid),
                columns=max(map(len, grid), default=0),
                warnings=notes,
            ),
            hidden=hidden,
        )
        for title, grid, merged, hidden in sheets
    ]


def _worksheet_bytes(content: bytes, limit: int) -> int:
    """The unpacked size of the worksheets, checking on the way that this is a workbook."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as error:
        raise ValidationFailed(
            "the file starts like a zip archive but is not a readable one", field="file"
        ) from error
    if not any(entry.filename == "xl/workbook.xml" for entry in entries):
        raise ValidationFailed(
            "the file is a zip archive but not an Excel workbook (.xlsx)", field="file"
        )
    size = sum(entry.file_size for entry in entries if entry.filename.startswith("xl/worksheets/"))
    if size > limit:
        raise ValidationFailed(
            f"the worksheets unpack to {size:,} bytes, over the limit of {limit:,}",
            field="file",
            data={"limit": limit, "size": size},
        )
    return size


def _sheet(sheet: Worksheet | ReadOnlyWorksheet) -> tuple[str, Grid, tuple[CellRange, ...], bool]:
    hidden = sheet.sheet_state != "visible"
    if isinstance(sheet, ReadOnlyWorksheet):
        return sheet.title, _streamed_grid(sheet), (), hidden
    merged = tuple(
        sorted(
            CellRange(cells.min_row - 1, cells.min_col - 1, cells.max_row - 1, cells.max_col - 1)
            for cells in sheet.merged_cells.ranges
        )
    )
    return sheet.title, _full_grid(sheet), merged, hidden


def _full_grid(sheet: Worksheet) -> Grid:
    # The cell dictionary holds only cells that exist in the file; iterating the used range
    # instead would visit every blank cell between a stray formatted cell and A1.
    texts: dict[tuple[int, int], str] = {}
    for (row, column), cell in sheet._cells.items():
        if cell.value is None:
            continue
        text = cell_text(cell.value, cell.number_format)
        if text is not None:
            texts[row - 1, column - 1] = text
    height = max((row for row, _ in texts), default=-1) + 1
    width = max((column for _, column in texts), default=-1) + 1
    grid: Grid = [[None] * width for _ in range(height)]
    for (row, column), text in texts.items():
        grid[row][column] = text
    return grid


def _streamed_grid(sheet: ReadOnlyWorksheet) -> Grid:
    # Dimensions recorded in the file are sometimes wrong; read every row that is there.
    sheet.reset_dimensions()
    rows: Grid = []
    for cells in sheet.rows:
        rows.append(_trimmed(cell_text(cell.value, cell.number_format) for cell in cells))
    while rows and not rows[-1]:
        rows.pop()
    width = max(map(len, rows), default=0)
    return [[*row, *([None] * (width - len(row)))] for row in rows]


def _trimmed(values: Iterable[Cell]) -> list[Cell]:
    row = list(values)
    while row and row[-1] is None:
        row.pop()
    return row
