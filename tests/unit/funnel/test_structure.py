"""Finding the tables inside a sheet grid: blocks, titles, header rows, sideways tables."""

from __future__ import annotations

import polars as pl
import pytest

from spice_harvester.application.funnel.structure import (
    CellRange,
    Grid,
    analyze_grid,
    grid_from_json,
)
from spice_harvester.domain.errors import MalformedInput

_: None = None


def test_two_tables_separated_by_blank_rows_are_found_apart() -> None:
    grid: Grid = [
        ["id", "name", _],
        ["1", "Ann", _],
        ["2", "Bob", _],
        [_, _, _],
        [_, _, _],
        ["sku", "qty", "price"],
        ["A-1", "3", "9.99"],
    ]
    report = analyze_grid(grid)
    first, second = report.tables
    assert (first.range.a1(), second.range.a1()) == ("A1:B3", "A6:C7")
    assert first.columns == ("id", "name")
    assert first.rows == (("1", "Ann"), ("2", "Bob"))
    assert second.columns == ("sku", "qty", "price")
    assert second.header_rows == (5,)
    assert second.rows == (("A-1", "3", "9.99"),)


def test_tables_side_by_side_split_at_a_blank_column() -> None:
    grid: Grid = [
        ["code", "qty", _, "city", "country"],
        ["X", "1", _, "Seoul", "KR"],
        ["Y", "2", _, "Tokyo", "JP"],
    ]
    ranges = [table.range.a1() for table in analyze_grid(grid).tables]
    assert ranges == ["A1:B3", "D1:E3"]


def test_a_title_row_above_the_header_is_reported_as_title() -> None:
    grid: Grid = [
        ["Quarterly sales 2025", _, _],
        ["region", "q1", "q2"],
        ["North", "10", "20"],
        ["South", "5", "6"],
    ]
    [table] = analyze_grid(grid, ["A1:C1"]).tables
    assert table.title == "Quarterly sales 2025"
    assert table.title_rows == (0,)
    assert table.range == CellRange(1, 0, 3, 2)
    assert table.header_rows == (1,)
    assert table.columns == ("region", "q1", "q2")
    assert table.merged == (CellRange(0, 0, 0, 2),)


def test_a_title_separated_by_a_blank_row_still_belongs_to_the_table_below() -> None:
    grid: Grid = [
        [_, "Stock on hand", _],
        [_, _, _],
        [_, "sku", "qty"],
        [_, "A-1", "4"],
    ]
    report = analyze_grid(grid)
    [table] = report.tables
    assert table.title == "Stock on hand"
    assert table.range.a1() == "B3:C4"
    assert report.warnings == ()


def test_a_title_and_subtitle_block_above_a_table_become_its_title_lines() -> None:
    grid: Grid = [
        ["Monthly report", _, _],
        ["Generated 2025-06-01", _, _],
        [_, _, _],
        ["month", "orders", "revenue"],
        ["2025-01", "10", "1000.5"],
    ]
    report = analyze_grid(grid)
    [table] = report.tables
    assert table.title == "Monthly report\nGenerated 2025-06-01"
    assert table.title_rows == (0, 1)
    assert table.columns == ("month", "orders", "revenue")
    assert report.warnings == ()


def test_an_invoice_header_block_and_its_line_items_are_two_tables() -> None:
    grid: Grid = [
        ["Invoice no:", "INV-1", _],
        ["Date:", "2025-01-01", _],
        [_, _, _],
        ["sku", "qty", "price"],
        ["A", "1", "2.5"],
    ]
    head, lines = analyze_grid(grid).tables
    assert (head.kind, head.columns, head.rows) == (
        "key_value",
        ("Invoice no", "Date"),
        (("INV-1", "2025-01-01"),),
    )
    assert (lines.kind, lines.range.a1(), lines.columns) == (
        "table",
        "A4:C5",
        ("sku", "qty", "price"),
    )


def test_a_multi_row_header_under_merged_group_cells_joins_the_labels() -> None:
    grid: Grid = [
        ["ID", "Address", _, "Phone"],
        [_, "City", "Zip", _],
        ["1", "Seoul", "04524", "010-1234"],
        ["2", "Busan", "48058", "010-5678"],
    ]
    [table] = analyze_grid(grid, ["A1:A2", "B1:C1", "D1:D2"]).tables
    assert table.kind == "table"
    assert table.header_rows == (0, 1)
    assert table.columns == ("ID", "Address City", "Address Zip", "Phone")
    assert table.rows[0] == ("1", "Seoul", "04524", "010-1234")


def test_group_labels_over_blank_cells_join_when_the_data_below_shows_a_second_header() -> None:
    grid: Grid = [
        ["item", "Price", _, "Stock", _],
        [_, "min", "max", "min", "max"],
        ["mug", "1.5", "3", "10", "40"],
        ["cup", "2", "4.25", "5", "25"],
    ]
    [table] = analyze_grid(grid).tables
    assert table.columns == ("item", "Price min", "Price max", "Stock min", "Stock max")
    assert len(table.rows) == 2


def test_an_all_text_second_row_under_a_complete_header_is_data() -> None:
    grid: Grid = [
        ["name", "city"],
        ["Ann", "Seoul"],
        ["Bob", "Busan"],
    ]
    [table] = analyze_grid(grid).tables
    assert table.header_rows == (0,)
    assert table.rows == (("Ann", "Seoul"), ("Bob", "Busan"))


def test_a_key_value_block_becomes_one_record_named_by_its_labels() -> None:
    grid: Grid = [
        ["Invoice no:", "INV-007"],
        ["Date:", "2025-05-01"],
        ["Total:", "99.50"],
    ]
    [table] = analyze_grid(grid).tables
    assert table.kind == "key_value"
    assert table.header_columns == (0,)
    assert table.columns == ("Invoice no", "Date", "Total")
    assert table.rows == (("INV-007", "2025-05-01", "99.50"),)


def test_labels_without_colons_over_values_of_many_kinds_are_a_key_value_block() -> None:
    grid: Grid = [["Customer", "ACME"], ["Ordered", "2025-05-01"], ["Amount", "120"]]
    [table] = analyze_grid(grid).tables
    assert table.kind == "key_value"


def test_a_two_column_table_with_uniform_values_stays_a_table() -> None:
    grid: Grid = [["name", "age"], ["Ann", "31"], ["Bob", "27"]]
    [table] = analyze_grid(grid).tables
    assert table.kind == "table"
    assert table.columns == ("name", "age")


def test_a_transposed_table_reads_one_record_per_column() -> None:
    grid: Grid = [
        ["Name", "Alice", "Bob", "Chan"],
        ["Age", "30", "25", "41"],
        ["Joined", "2020-01-01", "2021-02-03", "2019-11-30"],
        ["Active", "true", "false", "true"],
    ]
    [table] = analyze_grid(grid).tables
    assert table.kind == "transposed"
    assert table.columns == ("Name", "Age", "Joined", "Active")
    assert table.rows == (
        ("Alice", "30", "2020-01-01", "true"),
        ("Bob", "25", "2021-02-03", "false"),
        ("Chan", "41", "2019-11-30", "true"),
    )


def test_a_normal_table_with_a_label_first_column_is_not_read_sideways() -> None:
    grid: Grid = [
        ["order_id", "ordered", "amount"],
        ["ORD-1", "2025-05-01", "10"],
        ["ORD-2", "2025-05-02", "12.5"],
    ]
    [table] = analyze_grid(grid).tables
    assert table.kind == "table"


def test_a_blank_sheet_has_no_tables_and_says_so() -> None:
    report = analyze_grid([[_, _], [_, "   "], []])
    assert report.tables == ()
    assert report.warnings == ("the sheet is blank",)
    assert analyze_grid([]).to_json() == {"tables": [], "warnings": ["the sheet is blank"]}


def test_a_blank_row_inside_data_does_not_start_a_new_table() -> None:
    grid: Grid = [
        ["sku", "qty"],
        ["A-1", "4"],
        [_, _],
        ["A-2", "7"],
    ]
    report = analyze_grid(grid)
    [table] = report.tables
    assert table.rows == (("A-1", "4"), ("A-2", "7"))
    assert any("more rows of the table" in warning for warning in report.warnings)


def test_a_table_without_a_header_row_gets_numbered_columns() -> None:
    report = analyze_grid([["1", "2.5"], ["2", "3.5"]])
    [table] = report.tables
    assert table.header_rows == ()
    assert table.columns == ("column_1", "column_2")
    assert table.row_count == 2
    assert report.warnings == ("A1:B2: no header row found; columns are numbered",)


def test_a_lone_note_far_from_any_table_is_left_out_with_a_warning() -> None:
    grid: Grid = [["a", "b"], ["1", "2"], [_, _], [_, _], [_, _], [_, _], [_, "checked by Kim"]]
    report = analyze_grid(grid)
    assert len(report.tables) == 1
    assert report.warnings == ("B7: 'checked by Kim' stands outside any table; left out",)


def test_cells_under_a_vertical_merge_take_its_value_in_the_data() -> None:
    grid: Grid = [["region", "city"], ["North", "Seoul"], [_, "Incheon"]]
    [table] = analyze_grid(grid, [CellRange(1, 0, 2, 0)]).tables
    assert table.rows == (("North", "Seoul"), ("North", "Incheon"))


def test_repeated_and_blank_header_names_are_made_unique() -> None:
    grid: Grid = [["qty", "qty", _, "note"], ["1", "2", "3", "x"]]
    [table] = analyze_grid(grid).tables
    assert table.columns == ("qty", "qty_2", "column_3", "note")


def test_to_frame_gives_a_frame_of_strings() -> None:
    grid: Grid = [["id", "amount"], ["007", "1.50"], ["008", _]]
    frame = analyze_grid(grid).tables[0].to_frame()
    assert frame.schema == pl.Schema({"id": pl.String, "amount": pl.String})
    assert frame.to_dict(as_series=False) == {"id": ["007", "008"], "amount": ["1.50", None]}


def test_the_json_shape_lists_range_kind_header_columns_and_rows() -> None:
    grid: Grid = [["Stock", _], ["sku", "qty"], ["A-1", "4"]]
    shape = analyze_grid(grid).to_json()
    assert shape == {
        "tables": [
            {
                "range": "A2:B3",
                "bounds": {"first_row": 1, "first_column": 0, "last_row": 2, "last_column": 1},
                "kind": "table",
                "title": "Stock",
                "title_rows": [0],
                "header_rows": [1],
                "header_columns": [],
                "columns": ["sku", "qty"],
                "rows": [["A-1", "4"]],
                "row_count": 1,
                "column_count": 2,
                "merged": [],
            }
        ],
        "warnings": [],
    }


def test_a_grid_from_json_turns_numbers_and_booleans_into_text() -> None:
    grid = grid_from_json([["id", "ok", "n"], [7, True, 1.0], [8, False, 2.5], [None]])
    assert grid == [["id", "ok", "n"], ["7", "true", "1"], ["8", "false", "2.5"], [None]]
    with pytest.raises(MalformedInput):
        grid_from_json([["a"], [{"b": 1}]])
    with pytest.raises(MalformedInput):
        grid_from_json({"rows": []})


def test_merged_ranges_may_be_given_in_a1_form_and_bad_ones_are_refused() -> None:
    assert CellRange.from_a1("b2:d7") == CellRange(1, 1, 6, 3)
    assert CellRange(1, 1, 6, 3).a1() == "B2:D7"
    assert CellRange.from_a1("C3").a1() == "C3"
    with pytest.raises(MalformedInput):
        analyze_grid([["a"]], ["not a range"])
