"""The admin guard: `X-Admin-Token` against `BFF_ADMIN_TOKEN`, a strict limit, and an audit
entry for every call, allowed or refused.

With `BFF_ADMIN_TOKEN` unset every admin route answers 403. The token is compared in
constant time. Each client address gets 10 admin calls per 60 s (its own bucket, apart from
the general limit, and kept even when `rate_limiting.enabled` is false). `X-Admin-Actor`
names who acts; it is recorded with the client address in the hash-chained audit log.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Final

import anyio.to_thread
from fastapi import Header, Request, Security
from fastapi.security import APIKeyHeader

from spice_harvester.domain.errors import Forbidden, RateLimited, SpiceError
from spice_harvester.services.bff.security.context import (
    BffSecurity,
    client_address,
    security_of,
)
from spice_harvester.services.bff.security.ratelimit import record, refusal
from spice_harvester.services.errors import status_for

ADMIN_LIMIT: Final = 10
ADMIN_WINDOW_SECONDS: Final = 60
MAX_ACTOR_LENGTH: Final = 255

admin_token_header = APIKeyHeader(
    name="X-Admin-Token",
    scheme_name="AdminToken",
    description="Must equal BFF_ADMIN_TOKEN; admin routes answer 403 while that is unset.",
    auto_error=False,
)


@dataclass(frozen=True)
class Admin:
    """An operator let through the guard."""

    actor: str
    client: str


async def admin_guard(
    request: Request,
    token: Annotated[str | None, Security(admin_token_header)] = None,
    x_admin_actor: Annotated[
        str | None, Header(description="Who acts (recorded in the audit log).")
    ] = None,
) -> Admin:
    security = security_of(request.app)
    admin = Admin(
        (x_admin_actor or "").strip()[:MAX_ACTOR_LENGTH] or "anonymous",
        client_address(request.scope),
    )
    try:
        await _admit(security, request, admin, token)
    except SpiceError as refused:
        await _audit(security, request, admin, "refused", _refusal_details(refused))
        raise
    await _audit(security, request, admin, "allowed", {})
    return admin


async def _admit(security: BffSecurity, request: Request, admin: Admin, token: str | None) -> None:
    decision = await security.take(f"admin:{admin.client}", ADMIN_LIMIT, ADMIN_WINDOW_SECONDS)
    record(request.scope, decision)
    if not decision.allowed:
        raise RateLimited(refusal(decision), decision.retry_after)
    expected = security.settings.bff_admin_token
    if expected is None or not expected.get_secret_value():
        raise Forbidden("admin routes are disabled: BFF_ADMIN_TOKEN is not set")
    if token is None or not hmac.compare_digest(
        token.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    ):
        raise Forbidden("X-Admin-Token is missing or wrong", field="X-Admin-Token")


def _refusal_details(refused: SpiceError) -> dict[str, Any]:
    return {"status": status_for(refused), "code": refused.code, "reason": refused.message}


async def _audit(
    security: BffSecurity,
    request: Request,
    admin: Admin,
    outcome: str,
    details: dict[str, Any],
) -> None:
    route = request.scope.get("route")
    action = f"admin.{getattr(route, 'name', 'unknown')}"
    query = request.url.query
    append = partial(
        security.audit.append,
        service="bff",
        actor=admin.actor,
        action=action,
        outcome=outcome,
        target=f"{request.method} {request.url.path}"[:400],
        client=admin.client[:100],
        details={**({"query": query} if query else {}), **details},
    )
    await anyio.to_thread.run_sync(append)
