"""Funnel in process: every route with real inputs (JSON rows, CP949 CSV, workbooks written
with openpyxl, JSON lines, the 3PL folder, sheet grids, a Google Sheets export served by a
real local HTTP server) and the errors that name what is wrong."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from openpyxl import Workbook

from spice_harvester.services.funnel.app import create_app
from spice_harvester.settings import load_settings
from tests.sample_data import three_pl

API = "/api/v1/funnel"
ROWS: dict[str, Any] = {
    "columns": ["고객 ID", "이름", "가입일", "전화", "이메일", "포인트"],
    "data": [
        ["C-001", "김민수", "2024-01-02", "010-2345-6789", "kim@Example.com", 120],
        ["C-002", "이영희", "2024-02-13", "010-3456-7890", "lee@example.com", 80],
        ["C-003", "박지훈", "2024-03-24", "010-4567-8901", "park@example.com", None],
        ["C-004", "최수진", "2024-04-05", "010-6789-0123", "choi@example.com", 15],
    ],
    "phone_region": "kr",
}
KOREAN_CSV = (
    "주문번호,고객명,주문일,수량,금액\n"
    "O-1,김민수,2024-05-01,3,12000\n"
    "O-2,이영희,2024-05-02,1,4500\n"
    "O-3,박지훈,2024-05-03,2,8000\n"
).encode("cp949")


@pytest.fixture
def client(workdir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings())) as test_client:
        yield test_client


def data_of(response: Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    return body["data"]


def error_of(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    first: dict[str, Any] = body["errors"][0]
    return first


def types_of(profile: dict[str, Any]) -> dict[str, str]:
    return {c["column_name"]: c["inferred_type"]["type"] for c in profile["columns"]}


def two_tables_workbook(folder: Path) -> Path:
    """One sheet holding a titled orders table and, below it, a stock table; a second
    sheet with one table."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Report"
    sheet.append(["Orders May 2024"])
    sheet.merge_cells("A1:C1")
    sheet.append(["order_id", "ordered", "qty"])
    for number in range(1, 6):
        sheet.append([f"O-{number}", f"2024-05-0{number}", number * 2])
    sheet.append([])
    sheet.append([])
    sheet.append(["sku", "name", "price"])
    for number in range(1, 4):
        sheet.append([f"SKU-{number}", f"item {number}", number * 1.5])
    other = book.create_sheet("Warehouses")
    other.append(["warehouse_id", "city"])
    other.append(["W1", "Seoul"])
    other.append(["W2", "Busan"])
    path = folder / "report.xlsx"
    book.save(path)
    return path


# -- analyze: JSON rows ---------------------------------------------------------------


def test_json_rows_are_profiled_column_by_column_with_the_key(client: TestClient) -> None:
    data = data_of(client.post(f"{API}/analyze", json=ROWS))
    assert (data["row_count"], data["profiled_rows"]) == (4, 4)
    assert types_of(data) == {
        "고객 ID": "string",
        "이름": "string",
        "가입일": "date",
        "전화": "phone",
        "이메일": "email",
        "포인트": "integer",
    }
    points = next(c for c in data["columns"] if c["column_name"] == "포인트")
    assert (points["null_count"], points["unique_count"], points["required"]) == (1, 3, False)
    assert points["inferred_type"]["confidence"] > 0
    assert points["inferred_type"]["reason"]
    assert data["key"]["columns"] == ["고객 ID"]


def test_a_sample_is_profiled_but_every_row_is_counted(client: TestClient) -> None:
    rows = [[str(number), f"name {number}"] for number in range(500)]
    # Any column name works, the one the sampling numbers rows by included.
    body = {"columns": ["n", "__row"], "data": rows, "sample_rows": 50}
    data = data_of(client.post(f"{API}/analyze", json=body))
    assert (data["row_count"], data["profiled_rows"]) == (500, 50)
    assert [c["column_name"] for c in data["columns"]] == ["n", "__row"]


def test_arrays_and_objects_are_recognised_only_when_asked(client: TestClient) -> None:
    body = {"columns": ["tags"], "data": [[["a", "b"]], [["c"]], [[]], [["d", "e"]]]}
    plain = data_of(client.post(f"{API}/analyze", json=body))
    asked = data_of(client.post(f"{API}/analyze", json={**body, "include_complex_types": True}))
    assert types_of(plain)["tags"] != "array"
    assert types_of(asked)["tags"] == "array"


@pytest.mark.parametrize(
    ("rows", "field", "words"),
    [
        ([["a", 1], ["b", 2, 3]], "data[1]", "row 2 has 3 cells but there are 2 columns"),
        ([["a", 1], ["b"]], "data[1]", "row 2 has 1 cells but there are 2 columns"),
        ([], "data", "no rows"),
    ],
)
def test_rows_that_do_not_fit_the_columns_are_400_naming_the_row(
    client: TestClient, rows: list[list[Any]], field: str, words: str
) -> None:
    response = client.post(f"{API}/analyze", json={"columns": ["code", "n"], "data": rows})
    error = error_of(response, 400)
    assert error["field"] == field
    assert words in error["message"]


def test_columns_must_be_named_and_distinct(client: TestClient) -> None:
    repeated = client.post(f"{API}/analyze", json={"columns": ["a", "a"], "data": [[1, 2]]})
    assert "'a'" in error_of(repeated, 400)["message"]
    empty = client.post(f"{API}/analyze", json={"columns": [], "data": [[]]})
    assert error_of(empty, 400)["field"] == "columns"


def test_a_region_phone_numbers_do_not_know_is_refused(client: TestClient) -> None:
    response = client.post(f"{API}/analyze", json={**ROWS, "phone_region": "QQ"})
    assert error_of(response, 422)["field"] == "phone_region"


def test_a_body_of_the_wrong_shape_is_refused_naming_the_field(client: TestClient) -> None:
    response = client.post(f"{API}/analyze", json={"columns": ["a"], "data": "not rows"})
    assert error_of(response, 422)["field"] == "data"
    broken = client.post(
        f"{API}/analyze", content=b'{"columns": [', headers={"content-type": "application/json"}
    )
    assert error_of(broken, 400)["code"] == "validation_failed"


# -- analyze/file ---------------------------------------------------------------------


def test_a_cp949_csv_keeps_its_korean_headers(client: TestClient) -> None:
    files = {"file": ("주문.csv", KOREAN_CSV, "text/csv")}
    data = data_of(client.post(f"{API}/analyze/file", files=files))
    [table] = data["tables"]
    assert table["name"] == "주문"
    assert table["report"]["encoding"] == "cp949"
    assert types_of(table["profile"]) == {
        "주문번호": "string",
        "고객명": "string",
        "주문일": "date",
        "수량": "integer",
        "금액": "integer",
    }
    assert table["profile"]["key"]["columns"] == ["주문번호"]


def test_a_sheet_holding_two_tables_gives_two_profiles(client: TestClient, tmp_path: Path) -> None:
    workbook = two_tables_workbook(tmp_path).read_bytes()
    files = {"file": ("report.xlsx", workbook, "application/octet-stream")}
    data = data_of(client.post(f"{API}/analyze/file", files=files, data={"sheet": "Report"}))
    orders, stock = data["tables"]
    assert orders["report"]["source"] == "Report!A2:C7"
    assert stock["report"]["source"] == "Report!A10:C13"
    assert types_of(orders["profile"]) == {
        "order_id": "string",
        "ordered": "date",
        "qty": "integer",
    }
    assert types_of(stock["profile"])["price"] == "decimal"
    assert orders["profile"]["row_count"] == 5
    every = data_of(client.post(f"{API}/analyze/file", files=files))
    assert [t["name"] for t in every["tables"]][-1] == "Warehouses"
    assert len(every["tables"]) == 3


def test_a_sheet_the_workbook_lacks_is_400_listing_its_sheets(
    client: TestClient, tmp_path: Path
) -> None:
    files = {"file": ("report.xlsx", two_tables_workbook(tmp_path).read_bytes())}
    response = client.post(f"{API}/analyze/file", files=files, data={"sheet": "Summary"})
    error = error_of(response, 400)
    assert error["field"] == "sheet"
    assert "'Report', 'Warehouses'" in error["message"]


def test_json_lines_are_read_and_profiled(client: TestClient) -> None:
    lines = b'{"sku": "A-1", "qty": 3, "active": true}\n{"sku": "A-2", "qty": 5, "active": false}\n'
    files = {"file": ("stock.jsonl", lines, "application/octet-stream")}
    [table] = data_of(client.post(f"{API}/analyze/file", files=files))["tables"]
    assert table["report"]["format"] == "jsonl"
    assert types_of(table["profile"]) == {"sku": "string", "qty": "integer", "active": "boolean"}


def test_a_delimiter_given_overrides_the_detected_one(client: TestClient) -> None:
    # Detection would split on the commas inside the values; the pipe is the delimiter.
    text = b"name|amount\nKim, Minsu|1,200\nLee, Younghee|3,400\n"
    files = {"file": ("people.csv", text, "text/csv")}
    data = data_of(client.post(f"{API}/analyze/file", files=files, data={"delimiter": "pipe"}))
    [table] = data["tables"]
    assert table["report"]["delimiter"] == "|"
    assert [c["column_name"] for c in table["profile"]["columns"]] == ["name", "amount"]
    xlsx_with_delimiter = client.post(
        f"{API}/analyze/file",
        files={"file": ("report.xlsx", _tiny_workbook())},
        data={"delimiter": ";"},
    )
    assert error_of(xlsx_with_delimiter, 400)["field"] == "delimiter"


def _tiny_workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["a"])
    sheet.append([1])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "status", "words"),
    [
        ("report.pdf", b"%PDF-1.7 binary", 415, "report.pdf: unknown format"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", 415, "legacy Excel"),
        ("empty.csv", b"  \n", 400, "empty.csv is empty"),
        ("broken.xlsx", b"PK\x03\x04 not a zip at all", 400, "not a readable"),
    ],
)
def test_files_that_cannot_be_read_are_refused_naming_the_problem(
    client: TestClient, name: str, content: bytes, status: int, words: str
) -> None:
    response = client.post(f"{API}/analyze/file", files={"file": (name, content)})
    error = error_of(response, status)
    assert words in error["message"]
    assert error["code"] == ("unsupported_media_type" if status == 415 else "validation_failed")


def test_uploads_over_the_limit_are_413(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNNEL__SERVER__MAX_UPLOAD_BYTES", "4096")
    monkeypatch.setenv("FUNNEL__SERVER__MAX_REQUEST_BYTES", "4096")
    with TestClient(create_app(load_settings())) as limited:
        big = b"n\n" + b"12345\n" * 2000
        upload = limited.post(f"{API}/analyze/file", files={"file": ("big.csv", big)})
        assert error_of(upload, 413)["code"] == "payload_too_large"
        rows = {"columns": ["n"], "data": [[number] for number in range(2000)]}
        assert error_of(limited.post(f"{API}/analyze", json=rows), 413)
        small = limited.post(f"{API}/analyze/file", files={"file": ("small.csv", b"n\n1\n")})
        assert data_of(small)["tables"][0]["profile"]["row_count"] == 1


# -- suggest-schema -------------------------------------------------------------------


def test_rows_an_analysis_and_a_wrapped_analysis_suggest_the_same_class(
    client: TestClient,
) -> None:
    analysis = data_of(client.post(f"{API}/analyze", json=ROWS))
    suggested = [
        data_of(client.post(f"{API}/suggest-schema", params={"class_name": "고객"}, json=body))
        for body in (ROWS, analysis, {"profile": analysis})
    ]
    assert suggested[0] == suggested[1] == suggested[2]
    found = suggested[0]
    cls = found["class"]
    assert (cls["id"], cls["label"]) == ("Table", "고객")
    assert cls["key"] == [found["mapping"]["고객 ID"]]
    assert found["key"]["columns"] == ["고객 ID"]
    by_label = {p.get("label", p["name"]): p for p in cls["properties"]}
    assert by_label["가입일"]["type"] == "date"
    assert by_label["고객 ID"]["required"] is True
    assert set(found["mapping"]) == set(ROWS["columns"])


def test_an_edited_analysis_changes_the_suggestion(client: TestClient) -> None:
    analysis = data_of(client.post(f"{API}/analyze", json=ROWS))
    points = next(c for c in analysis["columns"] if c["column_name"] == "포인트")
    points["inferred_type"]["type"] = "decimal"
    points["note_from_a_reviewer"] = "fields Funnel does not know are ignored"
    found = data_of(
        client.post(f"{API}/suggest-schema", params={"class_name": "Member"}, json=analysis)
    )
    prop = next(p for p in found["class"]["properties"] if p.get("label") == "포인트")
    assert prop["type"] == "decimal"
    assert found["class"]["id"] == "Member"


def test_an_analysis_whose_key_names_no_column_is_refused(client: TestClient) -> None:
    analysis = data_of(client.post(f"{API}/analyze", json=ROWS))
    analysis["key"]["columns"] = ["nothing"]
    response = client.post(f"{API}/suggest-schema", json={"profile": analysis})
    error = error_of(response, 422)
    assert error["field"] == "profile.key.columns"
    assert "'nothing'" in error["message"]
    analysis["columns"][0]["inferred_type"]["type"] = "no-such-type"
    bad_type = client.post(f"{API}/suggest-schema", json={"profile": analysis})
    assert error_of(bad_type, 422)["field"] == "profile.columns.0.inferred_type.type"


def test_suggest_schema_refuses_rows_that_do_not_fit(client: TestClient) -> None:
    response = client.post(f"{API}/suggest-schema", json={"columns": ["a"], "data": [[1, 2]]})
    assert error_of(response, 400)["field"] == "data[0]"


# -- suggest-ontology -----------------------------------------------------------------

FOLDER = three_pl()
needs_3pl = pytest.mark.skipif(not FOLDER.is_dir(), reason="the 3PL sample is not here")


@needs_3pl
def test_the_3pl_folder_sent_as_files_gives_keys_and_relationships(client: TestClient) -> None:
    files = [
        ("files", (path.name, path.read_bytes(), "text/csv"))
        for path in sorted(FOLDER.glob("*.csv"))
    ]
    data = data_of(client.post(f"{API}/suggest-ontology", files=files))
    tables = data["report"]["tables"]
    assert tables["order_items"]["key"] == ["order_id", "line_no"]
    assert tables["inventory_snapshots"]["key"] == ["snapshot_date", "warehouse_id", "sku_id"]
    links = {
        (r["table"], r["column"]): (r["target"], r["cardinality"]) for r in data["relationships"]
    }
    assert links[("orders", "client_id")] == ("Client", "n:1")
    assert links[("order_items", "order_id")] == ("Order", "n:1")
    order_item = next(c for c in data["classes"] if c["id"] == "OrderItem")
    assert order_item["key"] == ["order_id", "line_no"]
    assert data["mappings"]["orders"]["class"] == "Order"
    assert len(data["classes"]) == len(files)


def test_json_tables_are_linked_by_their_foreign_keys(client: TestClient) -> None:
    body = {
        "tables": {
            "customers": {
                "columns": ["customer_id", "name"],
                "data": [["C-1", "Kim"], ["C-2", "Lee"], ["C-3", "Park"]],
            },
            "orders": {
                "columns": ["order_id", "customer_id", "qty"],
                "data": [["O-1", "C-1", 2], ["O-2", "C-1", 1], ["O-3", "C-3", 5]],
            },
        }
    }
    data = data_of(client.post(f"{API}/suggest-ontology", json=body))
    [link] = data["relationships"]
    assert (link["source"], link["column"], link["target"]) == ("Order", "customer_id", "Customer")
    assert link["cardinality"] == "n:1"
    assert data["mappings"]["orders"]["columns"]["customer_id"] == {
        "relationship": link["predicate"]
    }


def test_suggest_ontology_names_what_is_wrong_with_its_input(client: TestClient) -> None:
    ragged = {"tables": {"orders": {"columns": ["a", "b"], "data": [["x"]]}}}
    error = error_of(client.post(f"{API}/suggest-ontology", json=ragged), 400)
    assert error["field"] == "tables.orders.data[0]"
    assert error_of(client.post(f"{API}/suggest-ontology", json={"tables": {}}), 400)
    assert error_of(client.post(f"{API}/suggest-ontology", json={"tables": []}), 422)
    same_name = [
        ("files", ("orders.csv", b"id\n1\n", "text/csv")),
        ("files", ("orders.tsv", b"id\n2\n", "text/csv")),
    ]
    twice = client.post(f"{API}/suggest-ontology", files=same_name)
    assert "'orders'" in error_of(twice, 400)["message"]
    no_files = client.post(f"{API}/suggest-ontology", files={"note": (None, "only a field")})
    assert error_of(no_files, 400)["field"] == "files"


# -- structure/analyze ----------------------------------------------------------------


def test_a_grid_is_cut_into_its_tables_with_titles(client: TestClient) -> None:
    grid = [
        ["Stock by warehouse", None, None, None, None, None],
        ["sku", "qty", None, None, "city", "country"],
        ["A-1", 3, None, None, "Seoul", "KR"],
        ["A-2", 5.5, None, None, "Tokyo", "JP"],
    ]
    data = data_of(
        client.post(f"{API}/structure/analyze", json={"grid": grid, "merged": ["A1:B1"]})
    )
    stock, cities = data["tables"]
    assert (stock["range"], stock["title"], stock["columns"]) == (
        "A2:B4",
        "Stock by warehouse",
        ["sku", "qty"],
    )
    assert stock["rows"] == [["A-1", "3"], ["A-2", "5.5"]]
    assert (cities["range"], cities["columns"]) == ("E2:F4", ["city", "country"])


def test_a_sideways_table_is_reported_as_transposed(client: TestClient) -> None:
    grid = [["name", "Kim", "Lee", "Park"], ["age", 31, 45, 27], ["city", "Seoul", "Busan", "Jeju"]]
    [table] = data_of(client.post(f"{API}/structure/analyze", json={"grid": grid}))["tables"]
    assert table["kind"] == "transposed"
    assert table["columns"] == ["name", "age", "city"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"grid": []}, 400, "grid"),
        ({"grid": [["a"]], "merged": ["not a range"]}, 400, "merged"),
        ({"grid": [[None] * 100_000, *([[]] * 200)]}, 400, "grid"),
        ({"grid": [[{"x": 1}]]}, 422, "grid.0.0.str"),
    ],
)
def test_grids_that_cannot_be_analysed_are_refused(
    client: TestClient, body: dict[str, Any], status: int, field: str
) -> None:
    error = error_of(client.post(f"{API}/structure/analyze", json=body), status)
    assert error["field"] == field


# -- analyze/google-sheet -------------------------------------------------------------

SHEET_ID = "1AbC-dEf_GhIjKlMnOpQrStUvWxYz0123456789abcd"
SHEET_CSV = "품번,재고\nA-1,5\nA-2,7\n".encode()


class ExportHandler(BaseHTTPRequestHandler):
    """Answers `/spreadsheets/d/<id>/export?format=csv&gid=<gid>` as Google does."""

    requested: list[str]

    def do_GET(self) -> None:
        type(self).requested.append(self.path)
        sheet = self.path.split("/")[3] if self.path.startswith("/spreadsheets/d/") else ""
        if sheet == "private":
            self.answer(200, b"<!DOCTYPE html><html>Sign in</html>", "text/html")
        elif sheet == "broken":
            self.answer(502, b"bad gateway", "text/plain")
        else:
            self.answer(200, SHEET_CSV, "text/csv")

    def answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests look at `requested` instead."""


@pytest.fixture
def export_server() -> Iterator[tuple[str, list[str]]]:
    requested: list[str] = []
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), type("Handler", (ExportHandler,), {"requested": requested})
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sheets_client(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, export_server: tuple[str, list[str]]
) -> Iterator[TestClient]:
    monkeypatch.setenv("FUNNEL__GOOGLE_EXPORT_BASE", export_server[0])
    with TestClient(create_app(load_settings())) as test_client:
        yield test_client


def test_a_google_sheet_is_fetched_from_the_configured_export_base(
    sheets_client: TestClient, export_server: tuple[str, list[str]]
) -> None:
    url = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=42"
    # A client cannot aim Funnel elsewhere: fields other than the link are not settings.
    body = {"url": url, "export_base": "http://127.0.0.1:9"}
    data = data_of(sheets_client.post(f"{API}/analyze/google-sheet", json=body))
    assert export_server[1] == [f"/spreadsheets/d/{SHEET_ID}/export?format=csv&gid=42"]
    [table] = data["tables"]
    assert types_of(table["profile"]) == {"품번": "string", "재고": "integer"}
    assert table["report"]["source"].startswith(export_server[0])


def test_google_sheet_problems_are_named(
    sheets_client: TestClient, export_server: tuple[str, list[str]]
) -> None:
    route = f"{API}/analyze/google-sheet"
    private = "https://docs.google.com/spreadsheets/d/private/edit"
    assert (
        "share the sheet"
        in error_of(sheets_client.post(route, json={"url": private}), 400)["message"]
    )
    broken = "https://docs.google.com/spreadsheets/d/broken/edit"
    assert error_of(sheets_client.post(route, json={"url": broken}), 503)["code"] == (
        "dependency_unavailable"
    )
    elsewhere = sheets_client.post(route, json={"url": "http://127.0.0.1:9/spreadsheets/d/x"})
    assert error_of(elsewhere, 400)["field"] == "url"
    assert len(export_server[1]) == 2


def test_the_openapi_document_lists_every_funnel_path(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        f"{API}/analyze",
        f"{API}/analyze/file",
        f"{API}/analyze/google-sheet",
        f"{API}/suggest-schema",
        f"{API}/suggest-ontology",
        f"{API}/structure/analyze",
    } <= set(paths)
    ontology_body = paths[f"{API}/suggest-ontology"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(ontology_body)
