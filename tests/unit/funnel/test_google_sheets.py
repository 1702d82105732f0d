"""Google Sheets links to CSV export links, and fetching an export from a real local HTTP server
that answers the way Google's export endpoint does."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from spice_harvester.application.funnel.readers import export_url, fetch_google_sheet
from spice_harvester.domain.errors import DependencyUnavailable, ValidationFailed

SHEET_ID = "1AbC-dEf_GhIjKlMnOpQrStUvWxYz0123456789abcd"
CSV = b"sku,name,qty\n007,Blue mug,5\n010,Red cup,\n"
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head></html>"


class ExportHandler(BaseHTTPRequestHandler):
    """Serves `/spreadsheets/d/<id>/export?format=csv&gid=<gid>` like Google does."""

    requested: list[str]

    def do_GET(self) -> None:
        type(self).requested.append(self.path)
        parts = urlsplit(self.path)
        if parts.path.startswith("/download/"):
            self.answer(200, CSV, "text/csv")
            return
        segments = parts.path.strip("/").split("/")
        query = parse_qs(parts.query)
        if segments[:2] != ["spreadsheets", "d"] or segments[3:] != ["export"]:
            self.answer(404, b"no such path", "text/plain")
            return
        sheet, gid = segments[2], query.get("gid", [""])[0]
        if query.get("format") != ["csv"]:
            self.answer(400, b"format must be csv", "text/plain")
        elif sheet == "private":
            self.answer(200, LOGIN_PAGE, "text/html; charset=utf-8")
        elif sheet == "missing":
            self.answer(404, b"not found", "text/html")
        elif sheet == "broken":
            self.answer(500, b"oops", "text/plain")
        elif sheet == "slow":
            time.sleep(0.6)
            self.answer(200, CSV, "text/csv")
        elif gid == "7":
            self.send_response(307)
            self.send_header("Location", "/download/7.csv")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif gid == "9":
            self.answer(200, b"a,b\n" + b"1,2\n" * 5000, "text/csv")
        else:
            disposition = (
                'attachment; filename="Inventory - Stock.csv"; '
                "filename*=UTF-8''Inventory%20-%20Stock.csv"
            )
            self.answer(200, CSV, "text/csv", disposition)

    def answer(
        self, status: int, body: bytes, content_type: str, disposition: str | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if disposition:
            self.send_header("Content-Disposition", disposition)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests assert on what was requested instead."""


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (the timeout test) leaves a broken pipe; nothing to report."""


@pytest.fixture
def export_server() -> Iterator[tuple[str, list[str]]]:
    requested: list[str] = []
    handler = type("Handler", (ExportHandler,), {"requested": requested})
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("link", "gid"),
    [
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=123", "123"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?gid=45#gid=45", "45"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?usp=sharing", "0"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/view", "0"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}", "0"),
        (f"https://docs.google.com/spreadsheets/u/1/d/{SHEET_ID}/edit#gid=8", "8"),
        (f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=csv&gid=6", "6"),
        (f" https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=2&range=A1:B3 ", "2"),
    ],
)
def test_sheet_links_turn_into_the_csv_export_link(link: str, gid: str) -> None:
    assert export_url(link) == (
        f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/export?format=csv&gid={gid}"
    )


@pytest.mark.parametrize(
    "link",
    [
        f"https://example.com/spreadsheets/d/{SHEET_ID}/edit",
        "https://docs.google.com/document/d/abc/edit",
        f"ftp://docs.google.com/spreadsheets/d/{SHEET_ID}/edit",
        "https://docs.google.com/spreadsheets/d/e/2PACX-1vQ/pubhtml",
        f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=abc",
    ],
)
def test_links_that_are_not_sheet_links_are_refused(link: str) -> None:
    with pytest.raises(ValidationFailed):
        export_url(link)


def test_an_export_is_fetched_and_read_verbatim(export_server: tuple[str, list[str]]) -> None:
    base, requested = export_server
    link = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=0"
    table = fetch_google_sheet(link, export_base=base)
    assert requested == [f"/spreadsheets/d/{SHEET_ID}/export?format=csv&gid=0"]
    assert table.name == "Inventory - Stock"
    assert table.frame.columns == ["sku", "name", "qty"]
    assert list(table.frame.iter_rows()) == [("007", "Blue mug", "5"), ("010", "Red cup", None)]
    assert table.report.source == f"{base}/spreadsheets/d/{SHEET_ID}/export?format=csv&gid=0"


def test_redirects_are_followed_and_the_gid_names_an_unnamed_sheet(
    export_server: tuple[str, list[str]],
) -> None:
    base, requested = export_server
    table = fetch_google_sheet(
        f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit?gid=7", export_base=base
    )
    assert requested[-1] == "/download/7.csv"
    assert table.name == "sheet_7"
    assert table.frame.height == 2


def test_a_sign_in_page_instead_of_csv_says_the_sheet_is_not_shared(
    export_server: tuple[str, list[str]],
) -> None:
    base, _ = export_server
    with pytest.raises(ValidationFailed, match="anyone with the link"):
        fetch_google_sheet("https://docs.google.com/spreadsheets/d/private/edit", export_base=base)


def test_a_missing_sheet_is_a_validation_error_naming_the_status(
    export_server: tuple[str, list[str]],
) -> None:
    base, _ = export_server
    with pytest.raises(ValidationFailed, match="answered 404") as caught:
        fetch_google_sheet("https://docs.google.com/spreadsheets/d/missing/edit", export_base=base)
    assert caught.value.data == {"status": 404}


def test_a_server_error_means_google_is_unavailable(export_server: tuple[str, list[str]]) -> None:
    base, _ = export_server
    with pytest.raises(DependencyUnavailable, match="500"):
        fetch_google_sheet("https://docs.google.com/spreadsheets/d/broken/edit", export_base=base)


def test_an_export_over_the_size_cap_is_refused(export_server: tuple[str, list[str]]) -> None:
    base, _ = export_server
    link = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=9"
    with pytest.raises(ValidationFailed, match="larger than 1000 bytes"):
        fetch_google_sheet(link, export_base=base, max_bytes=1000)
    assert fetch_google_sheet(link, export_base=base).frame.height == 5000


def test_a_slow_answer_times_out_as_unavailable(export_server: tuple[str, list[str]]) -> None:
    base, _ = export_server
    with pytest.raises(DependencyUnavailable, match=r"no answer within 0\.2 s"):
        fetch_google_sheet(
            "https://docs.google.com/spreadsheets/d/slow/edit", export_base=base, timeout=0.2
        )


def test_a_server_that_is_not_there_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DependencyUnavailable):
        fetch_google_sheet(
            f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit",
            export_base=f"http://127.0.0.1:{port}",
            timeout=2,
        )
