"""Rate limits on `/api/v1`: a token bucket per API key, or per client address without one.

Every `/api/v1` answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (seconds until the bucket is full again); a refusal is 429 `rate_limited`
with `Retry-After`. `/health` is never limited. Admin routes have their own, stricter bucket,
taken by their guard (security/admin.py) so that a refusal there is audited too.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spice_harvester.adapters.ratelimit import Decision
from spice_harvester.domain.errors import SpiceError
from spice_harvester.ports.api_keys import ApiKey
from spice_harvester.services.bff.security.context import (
    BffSecurity,
    client_address,
    security_of,
)
from spice_harvester.services.envelope import error_response

API_PREFIX: Final = "/api/v1"
ADMIN_PREFIX: Final = "/api/v1/admin"
DECISION: Final = "rate_limit"  # where the request's decision waits for the response


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def record(scope: Scope, decision: Decision) -> None:
    """Makes `decision` the one whose headers this request's answer carries."""
    scope.setdefault("state", {})[DECISION] = decision


async def _bucket_of(security: BffSecurity, scope: Scope) -> str:
    secret = Headers(scope=scope).get("x-api-key")
    if secret:
        try:
            verdict = await security.keys.verdict(secret)
        except SpiceError:
            verdict = "unavailable"  # the route's own key check answers 503 for this
        if isinstance(verdict, ApiKey):
            return f"key:{verdict.key_id}"
    return f"ip:{client_address(scope)}"


def refusal(decision: Decision) -> str:
    return f"rate limit of {decision.limit} requests exceeded: retry in {decision.retry_after} s"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not _under(path, API_PREFIX):
            await self.app(scope, receive, send)
            return
        security = security_of(scope["app"])
        limits = security.settings.bff.rate_limiting
        if limits.enabled and not _under(path, ADMIN_PREFIX):
            bucket = await _bucket_of(security, scope)
            decision = await security.take(bucket, limits.default_limit, limits.window_seconds)
            record(scope, decision)
            if not decision.allowed:
                response = error_response(
                    429,
                    "rate_limited",
                    refusal(decision),
                    data={"retry_after": decision.retry_after},
                )
                await response(scope, receive, _with_limit_headers(scope, send))
                return
        await self.app(scope, receive, _with_limit_headers(scope, send))


def _with_limit_headers(scope: Scope, send: Send) -> Send:
    async def send_with_headers(message: Message) -> None:
        decision: Decision | None = scope.get("state", {}).get(DECISION)
        if message["type"] == "http.response.start" and decision is not None:
            headers = MutableHeaders(scope=message)
            for name, value in decision.headers():
                if name.decode() not in headers:
                    headers.append(name.decode(), value.decode())
        await send(message)

    return send_with_headers
