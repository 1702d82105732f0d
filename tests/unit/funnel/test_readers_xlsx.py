"""Reading XLSX workbooks (written here with openpyxl) into sheet grids of strings."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from spice_harvester.application.funnel.readers import (
    cell_text,
    read_path,
    read_tables,
    read_xlsx_bytes,
)
from spice_harvester.application.funnel.readers.workbook import number_text
from spice_harvester.application.funnel.structure import CellRange
from spice_harvester.domain.errors import ValidationFailed


def saved(book: Workbook, folder: Path, name: str = "book.xlsx") -> Path:
    path = folder / name
    book.save(path)
    return path


def typed_workbook() -> Workbook:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(["id", "ordered", "shipped_at", "amount", "paid", "cutoff"])
    sheet.append(["007", dt.date(2025, 5, 1), dt.datetime(2025, 5, 2, 14, 30), 12.5, True])
    sheet.append(["008", dt.date(2025, 5, 3), dt.datetime(2025, 5, 4, 9, 5, 7), 3.0, False])
    sheet.append(["009", dt.date(2025, 5, 5), None, 0.1 + 0.2, None, dt.time(13, 45)])
    sheet["D2"].number_format = "0.00"
    second = book.create_sheet("Numbers")
    second.append(["barcode", "big", "negative", "share"])
    second.append([2796741992313, 1e20, -4.25, 0.5])
    second["D2"].number_format = "0%"
    hidden = book.create_sheet("Notes")
    hidden.append(["kept for later"])
    hidden.sheet_state = "hidden"
    return book


def test_every_sheet_becomes_a_named_grid_in_workbook_order(tmp_path: Path) -> None:
    grids = read_xlsx_bytes(saved(typed_workbook(), tmp_path).read_bytes())
    assert [grid.name for grid in grids] == ["Orders", "Numbers", "Notes"]
    assert [grid.hidden for grid in grids] == [False, False, True]
    assert grids[0].report.format == "xlsx"
    assert (grids[0].report.rows, grids[0].report.columns) == (4, 6)


def test_dates_are_iso_8601_and_numbers_carry_no_float_noise(tmp_path: Path) -> None:
    orders = read_xlsx_bytes(saved(typed_workbook(), tmp_path).read_bytes())[0].grid
    assert orders[1] == ["007", "2025-05-01", "2025-05-02T14:30:00", "12.50", "true", None]
    assert orders[2] == ["008", "2025-05-03", "2025-05-04T09:05:07", "3", "false", None]
    assert orders[3] == ["009", "2025-05-05", None, "0.3", None, "13:45:00"]


def test_large_integers_and_scaled_formats_keep_their_stored_value(tmp_path: Path) -> None:
    numbers = read_xlsx_bytes(saved(typed_workbook(), tmp_path).read_bytes())[1].grid
    assert numbers[1] == ["2796741992313", "100000000000000000000", "-4.25", "0.5"]


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (1.0, "General", "1"),
        (1, "General", "1"),
        (12.5, "0.00", "12.50"),
        (12.0, "#,##0.00", "12.00"),
        (1.23456, "0.00", "1.23456"),
        (3.1, "0.0#", "3.1"),
        (0.125, "0.00%", "0.125"),
        (1234.5, "0.00E+00", "1234.5"),
        (2.5, '"EUR "0.000;[Red]-0.000', "2.500"),
        (1e-7, "General", "0.0000001"),
        (-0.0, "General", "0"),
    ],
)
def test_numbers_are_written_with_the_decimals_their_format_fixes(
    value: float, number_format: str, text: str
) -> None:
    assert number_text(value, number_format) == text


def test_durations_and_midnight_datetimes_follow_the_number_format() -> None:
    assert cell_text(dt.timedelta(hours=25, minutes=30)) == "25:30:00"
    assert cell_text(dt.datetime(2025, 1, 2), "yyyy-mm-dd") == "2025-01-02"
    assert cell_text(dt.datetime(2025, 1, 2), "yyyy-mm-dd hh:mm") == "2025-01-02T00:00:00"
    assert cell_text(dt.datetime(2025, 1, 2, 3, 4, 5, 500000)) == "2025-01-02T03:04:05.500"
    assert cell_text("") is None


def test_merged_ranges_are_reported_and_only_their_top_left_cell_holds_the_value(
    tmp_path: Path,
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["ID", "Address", None, "Phone"])
    sheet.append([None, "City", "Zip", None])
    sheet.append(["1", "Seoul", "04524", "010-1234"])
    sheet.merge_cells("B1:C1")
    sheet.merge_cells("A1:A2")
    grid = read_xlsx_bytes(saved(book, tmp_path).read_bytes())[0]
    assert grid.merged == (CellRange(0, 0, 1, 0), CellRange(0, 1, 0, 2))
    assert grid.grid[0] == ["ID", "Address", None, "Phone"]


def test_tables_of_a_workbook_use_merged_group_headers(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "People"
    sheet.append(["ID", "Address", None, "Phone"])
    sheet.append([None, "City", "Zip", None])
    sheet.append(["1", "Seoul", "04524", "010-1234"])
    sheet.append(["2", "Busan", "48058", "010-5678"])
    sheet.merge_cells("B1:C1")
    sheet.merge_cells("A1:A2")
    sheet.merge_cells("D1:D2")
    path = saved(book, tmp_path)
    [table] = read_tables(path.name, path.read_bytes())
    assert table.name == "People"
    assert table.frame.columns == ["ID", "Address City", "Address Zip", "Phone"]
    assert table.frame["Address Zip"].to_list() == ["04524", "48058"]
    assert table.report.source == "People!A1:D4"


def test_a_streamed_workbook_reads_the_same_cells_without_merged_ranges(tmp_path: Path) -> None:
    book = typed_workbook()
    book["Orders"].merge_cells("A5:B5")
    content = saved(book, tmp_path).read_bytes()
    full = read_xlsx_bytes(content)
    streamed = read_xlsx_bytes(content, full_mode_max_bytes=0)
    assert [grid.grid for grid in streamed] == [grid.grid for grid in full]
    assert full[0].merged
    assert streamed[0].merged == ()
    assert any("merged cells are not reported" in note for note in streamed[0].report.warnings)


def test_trailing_blank_rows_and_a_stray_formatted_cell_do_not_widen_the_grid(
    tmp_path: Path,
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["a", "b"])
    sheet.append(["1", None])
    sheet["Z500"].number_format = "0.00"
    grids = read_xlsx_bytes(saved(book, tmp_path).read_bytes())
    assert grids[0].grid == [["a", "b"], ["1", None]]


def test_an_empty_sheet_is_an_empty_grid(tmp_path: Path) -> None:
    book = Workbook()
    [grid] = read_xlsx_bytes(saved(book, tmp_path).read_bytes())
    assert grid.grid == []
    assert read_tables("empty.xlsx", saved(book, tmp_path).read_bytes()) == []


def test_several_tables_on_one_sheet_are_named_by_their_range(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Mixed"
    for row in (["id", "name"], ["1", "a"], [], [], ["code", "qty", "price"], ["X", 2, 3.5]):
        sheet.append(row)
    path = saved(book, tmp_path)
    tables = read_path(path)
    assert [source.name for source in tables] == ["Mixed"]
    names = [table.name for table in read_tables(path.name, path.read_bytes())]
    assert names == ["Mixed!A1:B2", "Mixed!A5:C6"]


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValidationFailed, match="not an Excel workbook"):
        read_xlsx_bytes(buffer.getvalue())


def test_a_workbook_whose_sheets_unpack_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    content = saved(typed_workbook(), tmp_path).read_bytes()
    with pytest.raises(ValidationFailed, match="over the limit of 100") as caught:
        read_xlsx_bytes(content, max_unpacked_bytes=100)
    assert caught.value.data is not None
    assert caught.value.data["limit"] == 100


def test_a_cut_off_workbook_is_refused(tmp_path: Path) -> None:
    content = saved(typed_workbook(), tmp_path).read_bytes()
    with pytest.raises(ValidationFailed, match="not a readable one"):
        read_xlsx_bytes(content[: len(content) // 2])


@pytest.mark.parametrize("full_mode_max_bytes", [0, 1 << 30])
def test_a_workbook_with_broken_sheet_xml_is_refused_in_either_mode(
    tmp_path: Path, full_mode_max_bytes: int
) -> None:
    original = zipfile.ZipFile(saved(typed_workbook(), tmp_path))
    damaged = io.BytesIO()
    with original, zipfile.ZipFile(damaged, "w") as archive:
        for entry in original.infolist():
            data = original.read(entry.filename)
            if entry.filename.startswith("xl/worksheets/"):
                data = b"<worksheet><sheetData><row"
            archive.writestr(entry, data)
    with pytest.raises(ValidationFailed, match="the workbook could not be read"):
        read_xlsx_bytes(damaged.getvalue(), full_mode_max_bytes=full_mode_max_bytes)
