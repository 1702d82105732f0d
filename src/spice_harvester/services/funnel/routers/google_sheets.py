"""Profiling a Google Sheet from its link, exported as CSV from `funnel.google_export_base`."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from spice_harvester.application.funnel.analysis import analyze_tables, unreadable_input
from spice_harvester.application.funnel.readers import fetch_google_sheet
from spice_harvester.application.funnel.readers.google_sheets import MAX_SHEET_BYTES
from spice_harvester.services.funnel.bodies import GoogleSheetBody
from spice_harvester.services.funnel.routing import AppSettings, funnel_router
from spice_harvester.services.responses import ok

router = funnel_router(tags=["analysis"])


@router.post("/analyze/google-sheet")
def analyze_google_sheet(body: GoogleSheetBody, settings: AppSettings) -> JSONResponse:
    """The sheet the link points at (its `gid`, else the first), read and profiled like an
    uploaded CSV. A sheet that is not shared publicly is 400; Google unreachable is 503."""
    options = body.options()
    with unreadable_input():
        table = fetch_google_sheet(
            body.url,
            export_base=settings.funnel.google_export_base,
            timeout=settings.request_timeout,
            max_bytes=min(MAX_SHEET_BYTES, settings.funnel.server.max_upload_bytes),
        )
    analysed = analyze_tables([table], options)
    return ok(
        {"url": body.url, "tables": [found.to_json() for found in analysed]},
        f"sheet {table.name} analysed",
    )
