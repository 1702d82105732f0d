"""Rows built from a table of strings: values converted as the file writes them, and each
cell that does not convert reported with its row, column, value and reason."""

from __future__ import annotations

from typing import Any

import polars as pl

from spice_harvester.application.imports.mapping import suggest_mapping
from spice_harvester.application.imports.plan import SourceTable, plan_for_class, read_source
from spice_harvester.application.imports.rows import first_data_row
from spice_harvester.application.imports.wire import parse_row
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import Schema

PAYMENT: dict[str, Any] = {
    "id": "Payment",
    "label": "Payment",
    "key": ["payment_id"],
    "properties": [
        {"name": "payment_id", "type": "string", "required": True},
        {"name": "paid_on", "type": "date"},
        {"name": "amount", "type": "decimal"},
        {"name": "settled", "type": "boolean"},
        {"name": "memo", "type": "text"},
    ],
    "relationships": [{"predicate": "orders", "target": "Payment", "cardinality": "n:m"}],
}


def plan(text: str) -> Any:
    schema = Schema({"Payment": ClassDef.from_api(PAYMENT)})
    return plan_for_class(read_source("payments.csv", text.encode()), schema.resolved("Payment"))


def rows(text: str) -> list[Any]:
    return [row for chunk in plan(text).chunks(100) for row in chunk]


EUROPEAN = (
    "payment_id;paid_on;amount;settled;memo\n"
    'p1;31/12/2024;1.234,56;ja;"  kept as written "\n'
    "p2;01/02/2024;12,00;nein;\n"
    "p3;15/06/2024;7,5;ja;N/A\n"
)


def test_day_first_dates_and_decimal_commas_are_converted_for_their_properties() -> None:
    first, second, third = rows(EUROPEAN)
    assert first.row == 2
    assert first.data["paid_on"] == "2024-12-31"
    assert first.data["amount"] == "1234.56"
    assert first.data["settled"] is True
    assert first.raw == {"paid_on": "31/12/2024", "amount": "1.234,56", "settled": "ja"}
    assert second.data["paid_on"] == "2024-02-01"
    assert second.data["settled"] is False
    assert third.data["amount"] == "7.5"


def test_text_is_kept_as_written_and_missing_cells_are_left_out() -> None:
    first, second, third = rows(EUROPEAN)
    assert first.data["memo"] == "  kept as written "
    assert "memo" not in second.data
    assert "memo" not in third.data  # N/A means nothing


def test_a_cell_that_does_not_convert_is_reported_with_row_column_value_and_reason() -> None:
    text = "payment_id,paid_on\n" + "".join(f"p{i},{i + 1:02d}/12/2024\n" for i in range(9))
    text += "p9,31/02/2024\n"
    built = rows(text)
    bad = built[-1]
    assert bad.row == 11
    assert "paid_on" not in bad.data
    [problem] = bad.issues
    assert problem["column"] == "paid_on"
    assert problem["value"] == "31/02/2024"
    assert "does not read as date" in problem["reason"]
    assert built[0].data["paid_on"] == "2024-12-01"
    assert not any(row.issues for row in built[:-1])


def test_many_valued_relationship_cells_split_on_semicolons_or_read_json() -> None:
    text = 'payment_id,orders\np1,"a; b"\np2,"[""x"", ""y""]"\n'
    first, second = rows(text)
    assert first.data["orders"] == ["a", "b"]
    assert second.data["orders"] == ["x", "y"]


def test_the_mapping_and_conversions_are_described() -> None:
    shown = plan(EUROPEAN).describe()["mapping"]
    assert shown["conversions"]["paid_on"] == "paid_on: date written as %d/%m/%Y"
    assert shown["conversions"]["amount"].startswith("amount: decimal written as")


def test_row_numbers_follow_the_file() -> None:
    assert first_data_row("csv", None) == 2
    assert first_data_row("jsonl", None) == 1
    assert first_data_row("xlsx", "Sheet1!B4:D9") == 5


def test_a_row_travels_as_one_json_line_and_comes_back_the_same() -> None:
    first = rows(EUROPEAN)[0]
    assert parse_row(first.line(), 1) == first


def test_a_line_that_is_not_a_row_becomes_a_failed_row_naming_the_line() -> None:
    broken = parse_row(b"[1, 2]\n", 7)
    assert broken.row == 7
    assert broken.issues[0]["reason"] == 'row line 7 is not an object with "data"'


def test_rows_are_built_a_slice_at_a_time() -> None:
    frame = pl.DataFrame({"payment_id": [f"p{i}" for i in range(10)]})
    schema = Schema({"Payment": ClassDef.from_api(PAYMENT)})
    mapping = suggest_mapping(frame.columns, schema.resolved("Payment"))
    built = plan_for_class(SourceTable("t", frame, "csv", 2), schema.resolved("Payment"))
    assert mapping.unmapped == ()
    batches = list(built.chunks(4))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert batches[2][1].row == 11
