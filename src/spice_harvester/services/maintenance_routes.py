"""What OMS's and BFF's admin maintenance routes share: the body, and the switch itself."""

from __future__ import annotations

import anyio.to_thread
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from spice_harvester.application.maintenance import MAX_RETRY_AFTER, MaintenanceSwitch
from spice_harvester.bootstrap import Resources
from spice_harvester.ports.maintenance import MAX_MESSAGE, MaintenanceState
from spice_harvester.services.responses import ok


class MaintenanceOn(BaseModel):
    """What clients are told while the switch is on."""

    message: str | None = Field(None, max_length=MAX_MESSAGE, examples=["Upgrading to 0.2"])
    retry_after: int | None = Field(
        None, ge=1, le=MAX_RETRY_AFTER, description="Seconds, sent as Retry-After (default 300)."
    )


def switch_of(request: Request) -> MaintenanceSwitch:
    resources: Resources = request.app.state.resources
    assert resources.maintenance_switch is not None, "the service wires maintenance at start-up"
    return resources.maintenance_switch


def answer(request: Request, state: MaintenanceState, changed: bool) -> JSONResponse:
    if changed:
        # This process obeys at once; the others within a second (MaintenanceGate).
        gate = request.app.state.resources.maintenance
        if gate is not None:
            gate.invalidate()
    word = "on" if state.enabled else "off"
    return ok(state.as_dict(), f"maintenance mode is {word}")


async def read(request: Request) -> JSONResponse:
    state = await anyio.to_thread.run_sync(switch_of(request).read)
    return answer(request, state, changed=False)


async def turn_on(
    request: Request, body: MaintenanceOn, actor: str, service: str, client: str
) -> JSONResponse:
    def write() -> MaintenanceState:
        return switch_of(request).turn_on(
            message=body.message,
            retry_after=body.retry_after,
            actor=actor,
            service=service,
            client=client,
        )

    state = await anyio.to_thread.run_sync(write)
    return answer(request, state, changed=True)


async def turn_off(request: Request, actor: str, service: str, client: str) -> JSONResponse:
    def write() -> MaintenanceState:
        return switch_of(request).turn_off(actor=actor, service=service, client=client)

    state = await anyio.to_thread.run_sync(write)
    return answer(request, state, changed=True)
