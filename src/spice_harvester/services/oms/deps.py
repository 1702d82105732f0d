"""What OMS routes take from the request: the store, the command runner, the actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from spice_harvester.adapters.sql.pull_requests import SqlPullRequests
from spice_harvester.application.commands import WaitingRunner, command_id_from
from spice_harvester.bootstrap import Resources
from spice_harvester.ports.audit import AuditLog
from spice_harvester.ports.versioned_store import VersionedStore
from spice_harvester.settings import Settings


def resources(request: Request) -> Resources:
    found: Resources = request.app.state.resources
    return found


def store(request: Request) -> VersionedStore:
    found = resources(request).store
    assert found is not None, "OMS wires the store at start-up"
    return found


def runner(request: Request) -> WaitingRunner:
    """The command runner; `?wait=true` on any write makes it answer once the command is
    COMPLETED or FAILED (at most `oms.commands.wait_timeout_seconds`)."""
    found = resources(request).commands
    assert found is not None, "OMS wires the command runner at start-up"
    wait = request.query_params.get("wait", "").lower() in ("true", "1", "yes")
    timeout = settings(request).oms.commands.wait_timeout_seconds
    return WaitingRunner(found, wait=wait, timeout=timeout)


def audit(request: Request) -> AuditLog:
    found = resources(request).audit
    assert found is not None, "OMS wires the audit log at start-up"
    return found


def pull_requests(request: Request) -> SqlPullRequests:
    found = resources(request).pull_requests
    assert found is not None, "OMS wires pull requests at start-up"
    return found


def settings(request: Request) -> Settings:
    found: Settings = request.app.state.settings
    return found


def actor(
    x_actor: Annotated[
        str | None, Header(description="Who makes the change (BFF sets it).")
    ] = None,
) -> str:
    return (x_actor or "system").strip()[:255] or "system"


def command_id(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    x_command_id: Annotated[str | None, Header(alias="X-Command-ID")] = None,
) -> str:
    return command_id_from(idempotency_key, x_command_id)


Store = Annotated[VersionedStore, Depends(store)]
PullRequests = Annotated[SqlPullRequests, Depends(pull_requests)]
Runner = Annotated[WaitingRunner, Depends(runner)]
Audit = Annotated[AuditLog, Depends(audit)]
Actor = Annotated[str, Depends(actor)]
CommandId = Annotated[str, Depends(command_id)]
AppSettings = Annotated[Settings, Depends(settings)]
AppResources = Annotated[Resources, Depends(resources)]
