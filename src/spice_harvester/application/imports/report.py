"""An import's bookkeeping and reports: counts as progress, and each check's error as the
file's row, column and value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spice_harvester.application.imports.request import ImportRequest
from spice_harvester.application.imports.rows import ImportRow, Issue, issue
from spice_harvester.application.instance_bulk import RowError, prepared_ref
from spice_harvester.application.instance_links import unique_properties, value_key
from spice_harvester.application.instance_values import Prepared, instance_class, prepare
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import ResolvedClass, Schema

# Errors a command's result keeps (the count is of all of them), and a dry run's answer.
ERRORS_KEPT = 1_000
DRY_RUN_ERRORS = 10_000
_FIELD_BASE = re.compile(r"[\[.]")


@dataclass
class Tally:
    total: int
    chunk_size: int
    checked: int = 0
    failed: int = 0
    written: int = 0
    chunks_written: int = 0
    chunks_resumed: int = 0
    error_count: int = 0
    errors: list[Issue] = field(default_factory=list)
    phase: str = "checking"
    commit_id: str | None = None

    @property
    def chunks_total(self) -> int:
        return -(-self.total // self.chunk_size)

    def add(self, found: Sequence[Issue], keep: int) -> None:
        self.error_count += len(found)
        self.failed += len({i["row"] for i in found})
        room = keep - len(self.errors)
        if room > 0:
            self.errors.extend(found[:room])

    def progress(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "rows_total": self.total,
            "rows_checked": self.checked,
            "rows_failed": self.failed,
            "rows_done": self.written,
            "chunks_total": self.chunks_total,
            "chunks_done": self.chunks_written + self.chunks_resumed,
        }

    def report(self) -> dict[str, Any]:
        return {
            "rows_total": self.total,
            "rows_valid": self.checked - self.failed,
            "rows_failed": self.failed,
            "rows_written": self.written,
            "chunks_total": self.chunks_total,
            "chunks_written": self.chunks_written,
            "chunks_resumed": self.chunks_resumed,
            "errors": self.errors,
            "error_count": self.error_count,
        }


def preview_new_class(
    schema: Schema, request: ImportRequest, rows: Iterable[Sequence[ImportRow]], total: int
) -> dict[str, Any]:
    """A dry run into a class that is not stored yet, so that nothing stored can clash: each
    row's values, required fields and key, and ids and unique values repeated in the file.
    Links to other classes are not checked (a suggested class has none)."""
    tally = Tally(total, request.chunk_size)
    resolved = instance_class(schema, request.class_id)
    names = unique_properties(resolved)
    ids: dict[str, int] = {}
    held: dict[str, dict[str, int]] = {name: {} for name in names}
    for chunk in rows:
        for row in chunk:
            found = list(row.issues)
            found += prepare_issues(schema, request, resolved, row)
            if not found:
                found = _repeats(row, schema, request, resolved, ids, held)
            tally.checked += 1
            tally.add(found, DRY_RUN_ERRORS)
    report = tally.report()
    for unused in ("rows_written", "chunks_written", "chunks_resumed"):
        report.pop(unused)
    return {"class_id": request.class_id, "branch": request.branch, **report}


def _repeats(
    row: ImportRow,
    schema: Schema,
    request: ImportRequest,
    resolved: ResolvedClass,
    ids: dict[str, int],
    held: dict[str, dict[str, int]],
) -> list[Issue]:
    prepared = prepare(schema, request.class_id, row.data, partial=False)
    doc_id = prepared_ref(prepared).doc_id
    errors: list[RowError] = []
    if doc_id in ids:
        message = f"id {doc_id!r} repeats row {ids[doc_id]}"
        errors.append(
            {"field": "id", "message": message, "code": "already_exists", "value": doc_id}
        )
    for name, taken in held.items():
        value = prepared.data.get(name)
        if value is None:
            continue
        key = value_key(value)
        if key in taken:
            message = f"{name} {value!r} is already used by row {taken[key]}"
            errors.append({"field": name, "message": message, "code": "already_exists"})
    if errors:
        return [issue_of({**e, "row": row.row}, row, request, resolved) for e in errors]
    ids[doc_id] = row.row
    for name, taken in held.items():
        if prepared.data.get(name) is not None:
            taken[value_key(prepared.data[name])] = row.row
    return []


def refused(tally: Tally, *, written: bool = False) -> ValidationFailed:
    first = tally.errors[0] if tally.errors else None
    where = ""
    if first is not None:
        column = f", column {first['column']}" if first.get("column") else ""
        where = f" (row {first['row']}{column}: {first['reason']})"
    outcome = (
        f"{tally.written} rows were written before the check failed"
        if written
        else "nothing was written"
    )
    return ValidationFailed(
        f"{tally.failed} of {tally.total} rows are invalid; {outcome}{where}",
        field="rows",
        data=tally.report(),
    )


def issue_of(
    error: RowError, row: ImportRow, request: ImportRequest, resolved: ResolvedClass
) -> Issue:
    """A check's error `{row, field, message, code}` with the column and the value as the
    file holds it."""
    name = error.get("field")
    base = _FIELD_BASE.split(name, maxsplit=1)[0] if isinstance(name, str) else None
    if base == "id":
        column = ", ".join(request.columns.get(k, k) for k in resolved.key) or None
    else:
        column = request.columns.get(base, base) if base else None
    if "value" in error:
        value = error["value"]
    else:
        value = row.raw.get(base, row.data.get(base)) if base else None
    return issue(
        row.row,
        column,
        name,
        value,
        str(error["message"]),
        str(error.get("code", "validation_failed")),
    )


def late_issue(
    error: RowError, prepared: Prepared, request: ImportRequest, resolved: ResolvedClass
) -> Issue:
    """An error found when writing (something changed since the check): the value is the one
    prepared for the store, the file's text being no longer at hand."""
    return issue_of(error, ImportRow(int(error["row"]), prepared.data), request, resolved)


def prepare_issues(
    schema: Schema, request: ImportRequest, resolved: ResolvedClass, row: ImportRow
) -> list[Issue]:
    """The other problems of a row whose conversion failed: the fields that did not convert
    are not reported twice (as missing, say)."""
    reported = {i["field"] for i in row.issues}
    if None in reported and row.issues:
        return []  # a line that could not be read: nothing else to say about it
    try:
        prepare(schema, request.class_id, row.data, partial=False)
    except ValidationFailed as exc:
        listed = (exc.data or {}).get("errors")
        errors = (
            listed
            if isinstance(listed, list) and listed
            else [{"field": exc.field, "message": exc.message}]
        )
        return [
            issue_of({**e, "row": row.row}, row, request, resolved)
            for e in errors
            if e.get("field") not in reported
        ]
    return []
