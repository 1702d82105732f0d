"""Funnel's routers, their error answers documented as the envelope, and what routes take
from the request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from spice_harvester.services.routing import enveloped_router
from spice_harvester.settings import Settings

ERRORS: dict[int | str, str] = {
    400: "The input cannot be read as a table (the problem, row or field is named)",
    413: "Body or upload too large",
    415: "An upload in a format Funnel does not read",
    422: "Fails validation (the field is named)",
    503: "A source Funnel fetches from (Google Sheets) is unavailable",
}


def funnel_router(**options: Any) -> APIRouter:
    return enveloped_router(ERRORS, prefix="/api/v1/funnel", **options)


def _settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


AppSettings = Annotated[Settings, Depends(_settings)]
