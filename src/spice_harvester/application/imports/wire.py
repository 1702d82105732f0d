"""Rows on the wire and on disk: newline-delimited JSON, one row per line.

An optional first line `{"header": {"columns": {field: column}, "source": name}}` says which
column each field came from; every other line is a row: `{"row": n, "data": {...},
"raw"?: {field: text}, "issues"?: [...]}` (see `ImportRow`). A line that is not such an
object becomes a failed row naming the line, so one bad line never hides the others. OMS
spools what it receives to a file (hashing it as it goes) and reads the rows back a chunk at
a time, so an import of any size holds one chunk in memory.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from spice_harvester.application.imports.rows import ImportRow, issue
from spice_harvester.domain.errors import MalformedInput

HEADER = "header"


@dataclass(frozen=True)
class Header:
    columns: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None

    def line(self) -> bytes:
        body: dict[str, Any] = {"columns": dict(self.columns)}
        if self.source is not None:
            body["source"] = self.source
        return json.dumps({HEADER: body}, ensure_ascii=False).encode() + b"\n"

    @classmethod
    def of(cls, value: Any) -> Header:
        if not isinstance(value, Mapping):
            raise MalformedInput("the header must be a JSON object", field=HEADER)
        columns = value.get("columns", {})
        if not isinstance(columns, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise MalformedInput("header.columns maps field names to column names", field=HEADER)
        if not _storable(columns):
            raise MalformedInput(
                "header.columns holds text that is not valid Unicode", field=HEADER
            )
        source = value.get("source")
        return cls(dict(columns), source if isinstance(source, str) else None)


class Spooler:
    """Writes a body to a temporary file as it arrives, hashing it and counting lines."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed to SpooledRows
            "wb", dir=folder, prefix="import-", suffix=".ndjson", delete=False
        )
        self._hash = hashlib.sha256()
        self._last = b"\n"
        self.size = 0

    @property
    def path(self) -> Path:
        return Path(self._file.name)

    def write(self, part: bytes) -> None:
        if part:
            self._file.write(part)
            self._hash.update(part)
            self._last = part[-1:]
            self.size += len(part)

    def write_rows(self, header: Header | None, rows: list[Any]) -> None:
        """A JSON body's rows, written as the lines an NDJSON body would have."""
        if header is not None:
            self.write(header.line())
        for row in rows:
            self.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")

    def finish(self) -> SpooledRows:
        if self._last != b"\n":
            self.write(b"\n")
        self._file.close()
        try:
            return SpooledRows(self.path, self._hash.hexdigest())
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


class SpooledRows:
    """A spooled body: its header, how many rows it holds, and the rows a chunk at a time."""

    def __init__(self, path: Path, sha256: str) -> None:
        self.path = path
        self.sha256 = sha256
        self.header = Header()
        self.total = 0
        with path.open("rb") as file:
            first = True
            for line in file:
                if not line.strip():
                    continue
                if first and line.lstrip().startswith(b'{"' + HEADER.encode() + b'"'):
                    self.header = Header.of(_loaded(line).get(HEADER))
                else:
                    self.total += 1
                first = False

    def chunks(self, size: int) -> Iterator[list[ImportRow]]:
        chunk: list[ImportRow] = []
        with self.path.open("rb") as file:
            for number, line in enumerate(_rows_lines(file), start=1):
                chunk.append(parse_row(line, number))
                if len(chunk) == size:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def _rows_lines(file: IO[bytes]) -> Iterator[bytes]:
    first = True
    for line in file:
        if not line.strip():
            continue
        if first and line.lstrip().startswith(b'{"' + HEADER.encode() + b'"'):
            first = False
            continue
        first = False
        yield line


def _loaded(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise MalformedInput(f"the header line is not JSON: {exc}", field=HEADER) from exc
    if not isinstance(value, dict):
        raise MalformedInput("the header line is not a JSON object", field=HEADER)
    return value


def parse_row(line: bytes, number: int) -> ImportRow:
    """The row a line holds; `number` (its place among the rows, from 1) when it names none."""
    try:
        value = json.loads(line)
    except ValueError as exc:
        return _broken(number, f"row line {number} is not valid JSON ({exc})")
    if not isinstance(value, dict) or not isinstance(value.get("data"), dict):
        return _broken(number, f'row line {number} is not an object with "data"')
    if b"\\u" in line and not _storable(value):
        return _broken(number, f"row line {number} holds text that is not valid Unicode")
    row = value.get("row", number)
    raw = value.get("raw", {})
    issues = value.get("issues", [])
    if not isinstance(row, int) or isinstance(row, bool) or not isinstance(raw, dict):
        return _broken(number, f"row line {number}: row must be a number and raw an object")
    if not isinstance(issues, list) or not all(isinstance(i, dict) for i in issues):
        return _broken(number, f"row line {number}: issues must be a list of objects")
    kept = tuple(
        issue(
            row,
            i.get("column"),
            i.get("field"),
            i.get("value"),
            str(i.get("reason", "")),
            str(i.get("code", "validation_failed")),
        )
        for i in issues
    )
    texts = {str(k): str(v) for k, v in raw.items()}
    return ImportRow(row, value["data"], texts, kept)


def _storable(value: Any) -> bool:
    """False for text with a lone UTF-16 surrogate (`"\\ud800"`), which no store can hold."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _broken(number: int, reason: str) -> ImportRow:
    return ImportRow(number, {}, {}, (issue(number, None, None, None, reason),))
