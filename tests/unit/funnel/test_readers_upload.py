"""Choosing a reader for an upload, reading files and folders, and the 3PL sample read whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from spice_harvester.application.funnel.readers import (
    NamedGrid,
    ReadTable,
    detect_format,
    read_folder,
    read_folder_tables,
    read_path,
    read_tables,
    read_upload,
)
from spice_harvester.domain.errors import ValidationFailed
from tests.sample_data import three_pl


def workbook_bytes() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "qty"])
    sheet.append(["007", 3])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "content_type", "expected"),
    [
        ("orders.csv", b"a,b\n1,2\n", None, "csv"),
        ("orders.TSV", b"a\tb\n1\t2\n", None, "csv"),
        ("events.jsonl", b'{"a": 1}\n', None, "jsonl"),
        ("events.ndjson", b'{"a": 1}\n', None, "jsonl"),
        ("events.json", b'[{"a": 1}]', None, "json"),
        ("book.xlsx", workbook_bytes(), None, "xlsx"),
        ("book.bin", workbook_bytes(), "application/octet-stream", "xlsx"),
        ("export", b"a;b\n1;2\n", "text/csv; charset=utf-8", "csv"),
        ("export", b'{"a": 1}\n', None, "jsonl"),
        ("export", b' [{"a": 1}]', None, "json"),
        ("export", b"a,b\n1,2\n", None, "csv"),
    ],
)
def test_the_format_follows_magic_bytes_then_extension_then_content_type_then_content(
    filename: str, content: bytes, content_type: str | None, expected: str
) -> None:
    assert detect_format(filename, content, content_type) == expected


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("report.pdf", b"%PDF-1.7 binary", "unknown format"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", r"legacy Excel file \(\.xls\)"),
        ("fake.xlsx", b"id,name\n", "is named .xlsx but is not a workbook"),
        ("blob", b"\x00\x01\x02\x03binary", "unknown format"),
    ],
)
def test_unreadable_formats_are_refused_clearly(
    filename: str, content: bytes, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message) as caught:
        read_upload(filename, content)
    assert caught.value.field == "file"


def test_an_empty_upload_is_refused() -> None:
    with pytest.raises(ValidationFailed, match=r"orders\.csv is empty"):
        read_upload("orders.csv", b"")
    with pytest.raises(ValidationFailed, match="empty"):
        read_upload("orders.csv", b" \r\n ")


def test_an_upload_over_the_limit_is_refused_with_the_limit() -> None:
    with pytest.raises(ValidationFailed, match="over the limit of 16") as caught:
        read_upload("orders.csv", b"a,b\n1,2\n3,4\n5,6\n7,8\n", max_bytes=16)
    assert caught.value.data == {"limit": 16, "size": 20}


def test_a_csv_upload_is_one_table_named_after_the_file() -> None:
    [table] = read_upload("stock levels.csv", b"sku,qty\n001,4\n")
    assert isinstance(table, ReadTable)
    assert table.name == "stock levels"
    assert table.frame.row(0) == ("001", "4")


def test_a_tsv_upload_is_split_on_tabs_even_when_commas_abound() -> None:
    [table] = read_upload("notes.tsv", b"id\tnote\n1\ta, b, c, d\n2\te, f, g, h\n")
    assert isinstance(table, ReadTable)
    assert table.frame.columns == ["id", "note"]


def test_a_workbook_upload_gives_grids_and_read_tables_cuts_them_into_tables() -> None:
    [grid] = read_upload("book.xlsx", workbook_bytes())
    assert isinstance(grid, NamedGrid)
    assert grid.grid == [["id", "qty"], ["007", "3"]]
    [table] = read_tables("book.xlsx", workbook_bytes())
    assert table.name == "Sheet"
    assert table.frame.to_dict(as_series=False) == {"id": ["007"], "qty": ["3"]}


def test_a_file_on_disk_is_read_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "e1"}\n{"id": "e2"}\n')
    [table] = read_path(path)
    assert isinstance(table, ReadTable)
    assert table.frame["id"].to_list() == ["e1", "e2"]
    with pytest.raises(ValidationFailed, match="is not a file"):
        read_path(tmp_path / "missing.csv")


def test_a_folder_reads_every_csv_by_stem_and_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_bytes(b"order_id,qty\nORD-01,2\n")
    (tmp_path / "clients.tsv").write_bytes("client_id\tname\nCL-1\t김\n".encode("cp949"))
    (tmp_path / "README.txt").write_text("not a table")
    (tmp_path / "nested").mkdir()
    frames = read_folder(tmp_path)
    assert list(frames) == ["clients", "orders"]
    assert frames["clients"].row(0) == ("CL-1", "김")
    assert frames["orders"].row(0) == ("ORD-01", "2")


def test_a_folder_without_csvs_or_that_is_missing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="holds no CSV files"):
        read_folder(tmp_path)
    with pytest.raises(ValidationFailed, match="is not a folder"):
        read_folder(tmp_path / "absent")


# The sample's files as its README documents them: rows, then columns in order.
SAMPLE_TABLES: dict[str, tuple[int, str]] = {
    "clients": (30, "client_id, brand_name, vertical"),
    "events": (2500, "event_id, event_type, entity_id, payload, created_at, cause_event_id"),
    "exceptions": (230, "order_id, type, description, severity, created_at"),
    "inbounds": (
        2639,
        "inbound_id, sku_id, supplier_id, warehouse_id, eta_date, arrival_date, qty_expected, "
        "qty_received, cost_per_unit",
    ),
    "inventory_snapshots": (13573, "snapshot_date, warehouse_id, sku_id, qty_counted"),
    "locations": (150, "location_id, warehouse_id, type"),
    "order_items": (6016, "order_id, line_no, sku_id, qty, unit_price"),
    "orders": (
        3000,
        "order_id, client_id, order_datetime, ship_from_warehouse, ship_to_country, currency, "
        "service_level, payment_status",
    ),
    "products": (
        300,
        "product_id, client_id, name, category, hs_code, unit_cost, unit_price, weight_g",
    ),
    "receipts": (2639, "receipt_id, inbound_id, sku_id, location_id, qty"),
    "returns": (148, "order_id, reason, created_at"),
    "skus": (1064, "sku_id, product_id, supplier_id, color, size, barcode"),
    "suppliers": (4, "supplier_id, name, country"),
    "tracking": (
        3000,
        "order_id, carrier, tracking_number, ship_datetime, est_delivery_date, status, weight_g",
    ),
    "warehouses": (3, "warehouse_id, name, country, city"),
}


def test_every_csv_of_the_3pl_sample_reads_with_the_documented_rows_and_columns() -> None:
    tables = {table.name: table for table in read_folder_tables(three_pl())}
    assert sorted(tables) == sorted(SAMPLE_TABLES)
    for name, (rows, columns) in SAMPLE_TABLES.items():
        table = tables[name]
        assert (name, table.frame.height) == (name, rows)
        assert (name, table.frame.columns) == (name, columns.split(", "))
        assert (table.report.encoding, table.report.delimiter) == ("utf-8", ",")
        assert table.report.ragged_lines == ()
        assert table.report.warnings == ()


def test_ids_and_numbers_of_the_3pl_sample_stay_exactly_as_written() -> None:
    frames = read_folder(three_pl())
    assert frames["orders"]["order_id"][0] == "ORD-0000001"
    assert frames["skus"].row(0) == (
        "SKU-000001",
        "PRD-0001",
        "SUP-003",
        "Beige",
        "S",
        "2796741992313",
    )
    products = frames["products"]
    assert products.filter(products["product_id"] == "PRD-0053")["unit_price"].to_list() == ["89.0"]
    events = frames["events"]
    assert events["payload"][0] == '{"qty": 134}'
    assert events["cause_event_id"][0] is None
