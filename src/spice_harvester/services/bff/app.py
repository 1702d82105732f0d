"""The BFF ASGI application (`spice serve bff`, or any ASGI server with --factory)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware

from spice_harvester.services.bff.routers import (
    admin,
    branches,
    commands,
    databases,
    imports,
    instances,
    maintenance,
    ontology,
    pull_requests,
    queries,
    suggest,
    versions,
    whoami,
)
from spice_harvester.services.bff.security.ratelimit import RateLimitMiddleware
from spice_harvester.services.factory import build_service
from spice_harvester.settings import Settings

ROUTERS: list[APIRouter] = [
    whoami.router,
    admin.router,
    maintenance.router,
    databases.router,
    branches.router,
    ontology.router,
    instances.router,
    imports.router,
    queries.router,
    suggest.router,
    versions.router,
    pull_requests.router,
    commands.router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_service("bff", ROUTERS, settings, middleware=[Middleware(RateLimitMiddleware)])
