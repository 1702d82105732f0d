"""Uploaded files, files on disk and folders of CSVs to tables, the format chosen by content.

Order of evidence: the first bytes (a zip is an XLSX workbook, an OLE file a legacy .xls, which
is refused), then the file name's extension, then the declared content type, and for a file
named without an extension the first character (`{` JSON lines, `[` a JSON array, other text
CSV).
"""

from __future__ import annotations

from pathlib import Path, PurePath

import polars as pl

from spice_harvester.application.funnel.readers.delimited import read_csv_bytes
from spice_harvester.application.funnel.readers.json_lines import read_json_bytes, read_jsonl_bytes
from spice_harvester.application.funnel.readers.tables import (
    NamedGrid,
    ReadReport,
    ReadSource,
    ReadTable,
    SourceFormat,
)
from spice_harvester.application.funnel.readers.workbook import read_xlsx_bytes
from spice_harvester.application.funnel.structure import analyze_grid
from spice_harvester.domain.errors import UnsupportedFormat, ValidationFailed

MIB = 1024 * 1024
# The settings' default upload limit; services pass their configured value.
MAX_UPLOAD_BYTES = 512 * MIB
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXTENSIONS: dict[str, SourceFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
_CONTENT_TYPES: dict[str, SourceFormat] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/json": "json",
}
_ACCEPTED = "CSV (.csv, .tsv, .txt), Excel (.xlsx), JSON lines (.jsonl, .ndjson) or JSON (.json)"
_TEXT_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def detect_format(filename: str, content: bytes, content_type: str | None = None) -> SourceFormat:
    suffix = PurePath(filename).suffix.lower()
    if content.startswith(_OLE):
        raise UnsupportedFormat(
            f"{filename} is a legacy Excel file (.xls); save it as .xlsx or CSV", field="file"
        )
    if content.startswith(_ZIP):
        return "xlsx"
    by_name = _EXTENSIONS.get(suffix)
    if by_name == "xlsx":
        raise UnsupportedFormat(f"{filename} is named {suffix} but is not a workbook", field="file")
    if by_name is not None:
        return by_name
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    by_type = _CONTENT_TYPES.get(declared)
    if by_type is not None and by_type != "xlsx":
        return by_type
    if suffix:
        raise UnsupportedFormat(f"{filename}: unknown format; send {_ACCEPTED}", field="file")
    return _sniffed(filename, content)


def _sniffed(filename: str, content: bytes) -> SourceFormat:
    head = content[:8192]
    if not head.startswith(_TEXT_MARKS) and b"\x00" in head:
        raise UnsupportedFormat(f"{filename}: unknown format; send {_ACCEPTED}", field="file")
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"{":
        return "jsonl"
    if start == b"[":
        return "json"
    return "csv"


def _is_empty(content: bytes) -> bool:
    # Only whitespace, checked without copying a large upload when its start shows otherwise.
    return not content[:4096].strip() and not content.strip()


def read_upload(
    filename: str,
    content: bytes,
    content_type: str | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    sheet: str | None = None,
    delimiter: str | None = None,
) -> list[ReadSource]:
    """A CSV or JSON file gives one table; a workbook one grid per worksheet, or only the
    worksheet named `sheet`. `delimiter` overrides the one detected in a CSV file."""
    if _is_empty(content):
        raise ValidationFailed(f"{filename or 'the upload'} is empty", field="file")
    if len(content) > max_bytes:
        raise ValidationFailed(
            f"{filename} is {len(content)} bytes, over the limit of {max_bytes}",
            field="file",
            data={"limit": max_bytes, "size": len(content)},
        )
    source_format = detect_format(filename, content, content_type)
    _check_options(filename, source_format, sheet, delimiter)
    name = PurePath(filename).stem or "upload"
    if source_format == "xlsx":
        return _chosen_sheets(filename, read_xlsx_bytes(content), sheet)
    if source_format == "jsonl":
        return [read_jsonl_bytes(content, name=name)]
    if source_format == "json":
        return [read_json_bytes(content, name=name)]
    tabs = PurePath(filename).suffix.lower() in {".tsv", ".tab"}
    chosen = delimiter or ("\t" if tabs else None)
    return [read_csv_bytes(content, name=name, delimiter=chosen)]


def _check_options(
    filename: str, source_format: SourceFormat, sheet: str | None, delimiter: str | None
) -> None:
    if sheet is not None and source_format != "xlsx":
        raise ValidationFailed(
            f"sheet applies to Excel workbooks; {filename} was read as {source_format}",
            field="sheet",
        )
    if delimiter is None:
        return
    if source_format != "csv":
        raise ValidationFailed(
            f"delimiter applies to CSV files; {filename} was read as {source_format}",
            field="delimiter",
        )
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValidationFailed(
            f"delimiter must be one character other than a quote or a line break, "
            f"not {delimiter!r}",
            field="delimiter",
        )


def _chosen_sheets(filename: str, sheets: list[NamedGrid], sheet: str | None) -> list[ReadSource]:
    if sheet is None:
        return list(sheets)
    chosen: list[ReadSource] = [grid for grid in sheets if grid.name == sheet]
    if not chosen:
        names = ", ".join(repr(grid.name) for grid in sheets)
        raise ValidationFailed(
            f"{filename} has no sheet named {sheet!r}; its sheets are {names}", field="sheet"
        )
    return chosen


def tables_of_grid(sheet: NamedGrid) -> list[ReadTable]:
    """The tables the structure analysis finds on a worksheet: named after the sheet when it
    holds one, `Sheet!A1:C9` when it holds several."""
    report = analyze_grid(sheet.grid, sheet.merged)
    found = report.tables
    return [
        ReadTable(
            name=sheet.name if len(found) == 1 else f"{sheet.name}!{table.range.a1()}",
            frame=table.to_frame(),
            report=ReadReport(
                format="xlsx",
                rows=table.row_count,
                columns=table.column_count,
                warnings=(*sheet.report.warnings, *report.warnings),
                source=f"{sheet.name}!{table.range.a1()}",
            ),
        )
        for table in found
    ]


def read_tables(
    filename: str,
    content: bytes,
    content_type: str | None = None,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    sheet: str | None = None,
    delimiter: str | None = None,
) -> list[ReadTable]:
    """Like `read_upload`, with each worksheet already cut into its tables."""
    tables: list[ReadTable] = []
    sources = read_upload(
        filename, content, content_type, max_bytes=max_bytes, sheet=sheet, delimiter=delimiter
    )
    for source in sources:
        tables.extend(tables_of_grid(source) if isinstance(source, NamedGrid) else [source])
    return tables


def read_path(path: str | Path, *, max_bytes: int = MAX_UPLOAD_BYTES) -> list[ReadSource]:
    file = Path(path)
    if not file.is_file():
        raise ValidationFailed(f"{file} is not a file", field="path")
    size = file.stat().st_size
    if size > max_bytes:
        raise ValidationFailed(
            f"{file} is {size} bytes, over the limit of {max_bytes}",
            field="path",
            data={"limit": max_bytes, "size": size},
        )
    return read_upload(file.name, file.read_bytes(), max_bytes=max_bytes)


def read_folder_tables(path: str | Path) -> list[ReadTable]:
    """Every CSV (`.csv`, `.tsv`) directly in a folder, by file name; table name = file stem."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValidationFailed(f"{folder} is not a folder", field="path")
    files = sorted(
        file
        for file in folder.iterdir()
        if file.is_file() and file.suffix.lower() in {".csv", ".tsv"}
    )
    if not files:
        raise ValidationFailed(f"{folder} holds no CSV files", field="path")
    stems = [file.stem for file in files]
    repeated = sorted({stem for stem in stems if stems.count(stem) > 1})
    if repeated:
        raise ValidationFailed(
            f"{folder} holds several files named {', '.join(repeated)}", field="path"
        )
    return [
        read_csv_bytes(
            file.read_bytes(),
            name=file.stem,
            delimiter="\t" if file.suffix.lower() == ".tsv" else None,
        )
        for file in files
    ]


def read_folder(path: str | Path) -> dict[str, pl.DataFrame]:
    return {table.name: table.frame for table in read_folder_tables(path)}
