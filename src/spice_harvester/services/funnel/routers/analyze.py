"""Profiling a table sent as JSON rows, or an uploaded file's tables."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, UploadFile
from fastapi.responses import JSONResponse

from spice_harvester.application.funnel.analysis import (
    ProfileOptions,
    analyze_tables,
    phone_region,
    rows_table,
    upload_tables,
)
from spice_harvester.services.funnel.bodies import RowsBody
from spice_harvester.services.funnel.routing import AppSettings, funnel_router
from spice_harvester.services.responses import ok

router = funnel_router(tags=["analysis"])
# Spelled out because a tab is awkward to type into a form field.
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@router.post("/analyze")
def analyze(body: RowsBody) -> JSONResponse:
    """Every column's type with its confidence and reason, missing and distinct counts,
    samples, suggested constraints, values that do not fit; and the table's key. Every row
    must have one cell per column (400 naming the first that does not)."""
    frame = rows_table(body.columns, body.data)
    profile = body.options().profile(frame, body.table_name)
    message = f"{len(profile.columns)} column(s) of {profile.row_count} row(s) analysed"
    return ok(profile.to_json(), message)


@router.post("/analyze/file")
def analyze_file(
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="CSV, XLSX, JSON lines or a JSON array.")],
    sheet: Annotated[str | None, Form(max_length=200, description="Only this sheet.")] = None,
    include_complex_types: Annotated[bool, Form()] = False,
    sample_rows: Annotated[int | None, Form(ge=1)] = None,
    phone_region_code: Annotated[
        str | None, Form(alias="phone_region", min_length=2, max_length=3)
    ] = None,
    delimiter: Annotated[
        str | None,
        Form(max_length=10, description="A CSV's delimiter (one character, or tab)."),
    ] = None,
) -> JSONResponse:
    """Each table of the file with how it was read and its profile: a CSV or JSON file holds
    one, a workbook's sheet may hold several (found by the structure analysis)."""
    name = file.filename or "upload"
    tables = upload_tables(
        name,
        file.file.read(),
        file.content_type,
        max_bytes=settings.funnel.server.max_upload_bytes,
        sheet=sheet,
        delimiter=DELIMITER_NAMES.get(delimiter.lower(), delimiter) if delimiter else None,
    )
    options = ProfileOptions(include_complex_types, sample_rows, phone_region(phone_region_code))
    analysed = analyze_tables(tables, options)
    return ok(
        {"filename": name, "tables": [table.to_json() for table in analysed]},
        f"{len(analysed)} table(s) of {name} analysed",
    )
