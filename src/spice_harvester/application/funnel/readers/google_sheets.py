"""A Google Sheets link to a table: the sheet's CSV export, fetched and read like any CSV.

Accepted links: `.../spreadsheets/d/<id>/edit#gid=<gid>`, `/edit?gid=<gid>`, `/view`, `/`,
and export links already. Only sheets shared as "anyone with the link can view" can be
fetched; for others Google answers with a sign-in page, reported as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from email.message import Message
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

import httpx

from spice_harvester.application.funnel.readers.delimited import read_csv_bytes
from spice_harvester.application.funnel.readers.tables import ReadTable
from spice_harvester.domain.errors import DependencyUnavailable, ValidationFailed

GOOGLE_DOCS = "https://docs.google.com"
MAX_SHEET_BYTES = 100 * 1024 * 1024
TIMEOUT_SECONDS = 30.0
_HOSTS = frozenset({"docs.google.com"})
_PATH = re.compile(r"/spreadsheets(?:/u/\d+)?/d/([A-Za-z0-9_-]+)(?:/[^?#]*)?")
_GID = re.compile(r"(?:^|[&#?])gid=([^&]*)")


@dataclass(frozen=True)
class SheetLink:
    spreadsheet_id: str
    gid: str = "0"

    def export_url(self, base: str = GOOGLE_DOCS) -> str:
        return (
            f"{base.rstrip('/')}/spreadsheets/d/{self.spreadsheet_id}/export"
            f"?format=csv&gid={self.gid}"
        )


def parse_sheet_link(url: str) -> SheetLink:
    parts = urlsplit(url.strip())
    match = _PATH.fullmatch(parts.path)
    if parts.scheme not in {"http", "https"} or parts.hostname not in _HOSTS or match is None:
        raise ValidationFailed(
            f"{url!r} is not a Google Sheets link like "
            "https://docs.google.com/spreadsheets/d/<id>/edit#gid=0",
            field="url",
        )
    if match.group(1) == "e":
        raise ValidationFailed(
            "links to published sheets (/d/e/...) cannot be exported; use the sheet's own link",
            field="url",
        )
    gids = parse_qs(parts.query).get("gid") or [
        found.group(1) for found in [_GID.search(parts.fragment)] if found
    ]
    gid = gids[0] if gids else "0"
    if not gid.isdigit():
        raise ValidationFailed(f"gid {gid!r} in {url!r} is not a number", field="url")
    return SheetLink(match.group(1), gid)


def export_url(url: str, *, export_base: str = GOOGLE_DOCS) -> str:
    """The CSV export link of the sheet a Google Sheets link points at."""
    return parse_sheet_link(url).export_url(export_base)


def fetch_google_sheet(
    url: str,
    *,
    export_base: str = GOOGLE_DOCS,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_SHEET_BYTES,
) -> ReadTable:
    """Download one sheet as CSV and read it. `export_base` replaces `https://docs.google.com`
    (a local server in tests, a proxy in closed networks)."""
    link = parse_sheet_link(url)
    target = link.export_url(export_base)
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5) as client,
            client.stream("GET", target) as response,
        ):
            _check_status(response.status_code, url)
            content = _capped_body(response, max_bytes, url)
            content_type = response.headers.get("content-type", "")
            disposition = response.headers.get("content-disposition", "")
    except httpx.TimeoutException as error:
        raise DependencyUnavailable("google_sheets", f"no answer within {timeout:g} s") from error
    except httpx.HTTPError as error:
        raise DependencyUnavailable("google_sheets", str(error) or type(error).__name__) from error
    if _is_web_page(content_type, content):
        raise ValidationFailed(
            "Google answered with a web page (a sign-in page, most likely) instead of CSV: "
            "share the sheet as 'anyone with the link can view'",
            field="url",
        )
    name = _attachment_stem(disposition) or f"sheet_{link.gid}"
    table = read_csv_bytes(content, name=name)
    return replace(table, report=replace(table.report, source=target))


def _check_status(status: int, url: str) -> None:
    if status == 200:
        return
    if status >= 500:
        raise DependencyUnavailable("google_sheets", f"Google answered {status}")
    reasons = {
        401: "the sheet is not shared publicly",
        403: "the sheet is not shared publicly",
        404: "no such spreadsheet or sheet (check the id and gid)",
    }
    reason = reasons.get(status, "the export was refused")
    raise ValidationFailed(
        f"Google Sheets answered {status} for {url!r}: {reason}",
        field="url",
        data={"status": status},
    )


def _capped_body(response: httpx.Response, max_bytes: int, url: str) -> bytes:
    declared = response.headers.get("content-length", "")
    too_large = ValidationFailed(
        f"the sheet at {url!r} is larger than {max_bytes} bytes",
        field="url",
        data={"limit": max_bytes},
    )
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return bytes(body)


def _is_web_page(content_type: str, content: bytes) -> bool:
    if content_type.split(";", 1)[0].strip().lower() in {"text/html", "application/xhtml+xml"}:
        return True
    start = content[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _attachment_stem(disposition: str) -> str | None:
    if not disposition:
        return None
    header = Message()
    header["content-disposition"] = disposition
    filename = header.get_filename()
    if not filename:
        return None
    return PurePosixPath(filename).stem or None
