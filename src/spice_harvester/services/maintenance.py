"""Maintenance mode at the door of every service: 503 for everything but health and admin.

Health stays up so that load balancers and `spice health` keep seeing live processes, and
admin stays up so that the switch can be turned off again over HTTP.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from spice_harvester.application.maintenance import MaintenanceGate
from spice_harvester.services.envelope import error_response

CODE: Final = "maintenance"
# Exact paths and path prefixes the switch never closes.
OPEN_PATHS: Final = frozenset({"/health"})
OPEN_PREFIXES: Final = ("/api/v1/admin",)


def stays_open(path: str) -> bool:
    if path in OPEN_PATHS:
        return True
    return any(path == prefix or path.startswith(prefix + "/") for prefix in OPEN_PREFIXES)


class MaintenanceMiddleware:
    """Consults the process's MaintenanceGate (resources open in the lifespan, so requests
    before it, which Starlette does not serve anyway, pass)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or stays_open(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        resources = getattr(scope["app"].state, "resources", None)
        gate: MaintenanceGate | None = getattr(resources, "maintenance", None)
        if gate is None:
            await self.app(scope, receive, send)
            return
        state = await gate.state()
        if not state.enabled:
            await self.app(scope, receive, send)
            return
        response = error_response(
            503,
            CODE,
            state.notice,
            data={"maintenance": True, **state.as_dict()},
            headers={"Retry-After": str(state.retry_after)},
        )
        await response(scope, receive, send)
