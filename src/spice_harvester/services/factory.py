"""One factory for the three services: envelope, errors, request ids, logs, limits, health."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware

from spice_harvester import __version__
from spice_harvester.application.health import check_health
from spice_harvester.bootstrap import Resources, open_resources
from spice_harvester.observability.logging import configure_logging
from spice_harvester.services.catalog import TITLES
from spice_harvester.services.envelope import ApiResponse, envelope, error_body
from spice_harvester.services.errors import install_error_handlers
from spice_harvester.services.maintenance import MaintenanceMiddleware
from spice_harvester.services.middleware import (
    AccessLogMiddleware,
    BodySizeLimitMiddleware,
    TrustedHostMiddleware,
)
from spice_harvester.settings import ServiceName, Settings, load_settings

HEALTH_TIMEOUT_CAP = 3.0


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    key: ServiceName
    version: str
    description: str
    port: int


def build_service(
    key: ServiceName,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    *,
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """The app of one of the three services, with settings read now unless given.

    `middleware` is the service's own (listed outermost first). It runs inside the shared
    stack (access log, hosts, CORS, maintenance mode, body limits), so what it refuses is
    logged like the rest.
    """
    if settings is None:
        # Started by an outside ASGI server (gunicorn, uvicorn --factory): set up logs too.
        settings = load_settings()
        configure_logging(settings, key, console_level=None)
    name, description = TITLES[key]
    info = ServiceInfo(name, key, __version__, description, settings.service(key).server.port)
    return create_fastapi_service(info, settings, routers, middleware=middleware)


def create_fastapi_service(
    info: ServiceInfo,
    settings: Settings,
    routers: Sequence[APIRouter] = (),
    *,
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """Builds a service app. Resources open in the lifespan, so importing does no I/O."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = await anyio.to_thread.run_sync(open_resources, settings, info.key)
        app.state.resources = resources
        try:
            yield
        finally:
            await resources.aclose()

    app = FastAPI(
        title=f"{settings.app_name} {info.name}",
        description=info.description,
        version=info.version,
        lifespan=lifespan,
        debug=False,
    )
    app.state.service_info = info
    app.state.settings = settings
    install_error_handlers(app)
    _install_middleware(app, info, settings, middleware)
    app.add_api_route(
        "/health",
        _health_endpoint(info, settings),
        methods=["GET"],
        tags=["health"],
        response_model=ApiResponse[dict[str, object]],
        responses={503: {"model": ApiResponse[dict[str, object]]}},
    )
    for router in routers:
        app.include_router(router)
    return app


def _install_middleware(
    app: FastAPI, info: ServiceInfo, settings: Settings, own: Sequence[Middleware]
) -> None:
    server = settings.service(info.key).server
    # Added innermost first: the access log wraps everything so even refusals are logged.
    for entry in reversed(own):
        app.add_middleware(entry.cls, *entry.args, **entry.kwargs)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_request_bytes=server.max_request_bytes,
        max_upload_bytes=server.max_upload_bytes,
    )
    # Inside CORS, so a browser can read the 503; outside the service's own middleware, so
    # a refused request spends nothing else (BFF's rate limits included).
    app.add_middleware(MaintenanceMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ],
        )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(AccessLogMiddleware)


def _health_endpoint(info: ServiceInfo, settings: Settings):  # type: ignore[no-untyped-def]
    timeout = min(settings.request_timeout, HEALTH_TIMEOUT_CAP)

    async def health(request: Request) -> JSONResponse:
        """Probes every dependency; 503 names the required ones that are down."""
        resources: Resources = request.app.state.resources
        report = await check_health(info.name, info.version, resources.dependencies(), timeout)
        if report.healthy:
            return envelope("success", f"{info.name} is healthy", report.as_data())
        errors = [
            error_body(
                "dependency_unavailable",
                f"{name} is down: {report.problems.get(name, 'not ok')}",
                name,
            )
            for name in report.required_down
        ]
        message = f"{info.name} is unhealthy: {', '.join(report.required_down)} down"
        return envelope("error", message, report.as_data(), errors=errors, http_status=503)

    return health
