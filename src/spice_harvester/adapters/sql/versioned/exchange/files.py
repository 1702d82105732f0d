"""History files: JSON Lines, gzip-compressed when the name ends with .gz."""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.exchange.export import export_history
from spice_harvester.domain.errors import MalformedInput


def write_history_file(database: SqlDatabase, db_name: str, path: str | Path) -> dict[str, Any]:
    """Writes the export as JSON Lines (gzip when the name ends with .gz); returns the header.

    The file appears only when complete: it is written next to its final name and renamed.
    """
    return write_records_file(export_history(database, db_name), path)


def write_records_file(
    records: Iterable[dict[str, Any]], path: str | Path, *, compresslevel: int = 9
) -> dict[str, Any]:
    """Writes records as JSON Lines (gzip when the name ends with .gz), complete or not at
    all; returns the header record (empty when there is none)."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    header: dict[str, Any] = {}
    try:
        with ExitStack() as stack:
            raw: IO[bytes] = stack.enter_context(partial.open("wb"))
            binary: IO[bytes] | gzip.GzipFile = raw
            if target.name.endswith(".gz"):
                # mtime 0 keeps two exports of one history byte for byte equal.
                binary = stack.enter_context(
                    gzip.GzipFile(
                        filename=target.name,
                        mode="wb",
                        fileobj=raw,
                        mtime=0,
                        compresslevel=compresslevel,
                    )
                )
            out = stack.enter_context(io.TextIOWrapper(binary, encoding="utf-8", newline="\n"))
            for record in records:
                if record["type"] == "header":
                    header = record
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
                out.write("\n")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return header


def read_history_file(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of an export file, one line at a time (gzip when the name ends with .gz).

    Only the JSON is checked here; the importer validates each record's fields.
    """
    source = Path(path)
    with _open_text(source) as opened:
        for number, line in enumerate(opened, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedInput(f"{source.name} line {number}: not JSON ({exc})") from exc
            if not isinstance(record, dict):
                raise MalformedInput(f"{source.name} line {number}: a record must be an object")
            yield record


def _open_text(source: Path) -> IO[str]:
    if source.name.endswith(".gz"):
        return gzip.open(source, "rt", encoding="utf-8")
    return source.open(encoding="utf-8")
