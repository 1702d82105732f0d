"""CSV and other delimited text to a table of strings, values exactly as written.

The first record is the header. Empty fields are null; nothing else is converted, so `007`
stays `007`. Quoted fields may hold delimiters and line breaks. Records with more or fewer
fields than the header are kept (padded with nulls, or given extra `column_N` columns) and
their lines reported.
"""

from __future__ import annotations

import csv
import io
import itertools

from spice_harvester.application.funnel.readers.encoding import decode_text
from spice_harvester.application.funnel.readers.tables import ReadReport, ReadTable
from spice_harvester.application.funnel.structure import Cell, string_frame, unique_names
from spice_harvester.domain.errors import ValidationFailed

DELIMITERS = ",;\t|"
# Splits nothing: the ASCII unit separator, used to read a single-column file whole.
_ONE_COLUMN = "\x1f"
_SNIFF_CHARS = 32 * 1024
_SNIFF_RECORDS = 50
# Ragged lines kept in a report; the warning says how many there were in all.
_MAX_REPORTED_LINES = 100


def detect_delimiter(text: str) -> str | None:
    """`csv.Sniffer` on the first lines; when it fails or names a character missing from the
    header line, the candidate that splits the first records into the most consistent number
    of fields (more than one); a comma when none does. None when the header line holds no
    candidate at all: the file is a single column."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    header_line = next((line for line in sample.splitlines() if line.strip()), "")
    if not any(candidate in header_line for candidate in DELIMITERS):
        return None
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed and sniffed in header_line:
        return sniffed
    return _most_consistent(sample)


def _most_consistent(sample: str) -> str:
    best, best_score = ",", (0.0, 0)
    for candidate in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=candidate)
        try:
            widths = [len(record) for record in itertools.islice(reader, _SNIFF_RECORDS) if record]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        score = (sum(width == widths[0] for width in widths) / len(widths), widths[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _records(text: str, delimiter: str, name: str) -> tuple[list[str], list[list[Cell]], list[int]]:
    """The header, the data records (empty fields null) and the lines of ragged records."""
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer, delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[Cell]] = []
    ragged: list[int] = []
    # Where the last record began, to catch a quote left open (it runs to the end of the file).
    start, start_line = 0, 1
    try:
        for record in reader:
            if record and header is None:
                header = record
            elif record:
                if len(record) != len(header or ()):
                    ragged.append(reader.line_num)
                rows.append([value if value != "" else None for value in record])
            if buffer.tell() < len(text):
                start, start_line = buffer.tell(), reader.line_num + 1
    except csv.Error as error:
        raise ValidationFailed(
            f"{name}: line {reader.line_num} could not be read: {error}",
            field="file",
            data={"line": reader.line_num},
        ) from error
    if header is None:
        raise ValidationFailed(f"{name} is empty", field="file")
    if reader.line_num > start_line and text.count('"', start) % 2:
        raise ValidationFailed(
            f"{name}: the quoted field opened on line {start_line} is never closed",
            field="file",
            data={"line": start_line},
        )
    return header, rows, ragged


def read_csv_bytes(
    content: bytes, *, name: str = "table", delimiter: str | None = None
) -> ReadTable:
    if not content.strip():
        raise ValidationFailed(f"{name} is empty", field="file")
    decoded = decode_text(content)
    return read_csv_text(
        decoded.text,
        name=name,
        delimiter=delimiter,
        encoding=decoded.encoding,
        warnings=decoded.warnings,
    )


def read_csv_text(
    text: str,
    *,
    name: str = "table",
    delimiter: str | None = None,
    encoding: str | None = None,
    warnings: tuple[str, ...] = (),
) -> ReadTable:
    if not text.strip():
        raise ValidationFailed(f"{name} is empty", field="file")
    chosen = delimiter or detect_delimiter(text)
    header, rows, ragged = _records(text, chosen or _ONE_COLUMN, name)
    width = max([len(header), *map(len, rows)])
    names, notes = unique_names([*header, *([None] * (width - len(header)))])
    notes = [*warnings, *notes]
    if ragged:
        shown = ", ".join(map(str, ragged[:5]))
        notes.append(
            f"{len(ragged)} record(s) have a different number of fields than the header "
            f"({len(header)}), first at line(s) {shown}; short ones are padded with nulls"
            + (", extra fields go to the extra columns" if width > len(header) else "")
        )
    frame = string_frame(names, rows)
    report = ReadReport(
        format="csv",
        rows=frame.height,
        columns=frame.width,
        encoding=encoding,
        delimiter=chosen,
        ragged_lines=tuple(ragged[:_MAX_REPORTED_LINES]),
        warnings=tuple(notes),
    )
    return ReadTable(name=name, frame=frame, report=report)
