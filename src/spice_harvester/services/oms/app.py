"""The OMS ASGI application (`spice serve oms`, or any ASGI server with --factory)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from spice_harvester.services.factory import build_service
from spice_harvester.services.oms.routers import (
    admin,
    branches,
    commands,
    databases,
    imports,
    instances,
    ontology,
    pull_requests,
    queries,
    remotes,
    schema_io,
    versions,
)
from spice_harvester.settings import Settings

ROUTERS: list[APIRouter] = [
    databases.router,
    ontology.router,
    schema_io.router,
    instances.router,
    imports.router,
    queries.router,
    branches.router,
    versions.router,
    pull_requests.router,
    remotes.router,
    commands.router,
    admin.router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_service("oms", ROUTERS, settings)
