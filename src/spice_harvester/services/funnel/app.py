"""The Funnel ASGI application (`spice serve funnel`, or any ASGI server with --factory)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from spice_harvester.services.factory import build_service
from spice_harvester.services.funnel.routers import analyze, google_sheets, structure, suggest
from spice_harvester.settings import Settings

ROUTERS: list[APIRouter] = [
    analyze.router,
    google_sheets.router,
    suggest.router,
    structure.router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_service("funnel", ROUTERS, settings)
