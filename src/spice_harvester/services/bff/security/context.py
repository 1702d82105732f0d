"""What BFF's security needs while it runs, built once per app from its resources."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.types import Scope

from spice_harvester.adapters.ratelimit import Decision, TokenBuckets
from spice_harvester.bootstrap import Resources
from spice_harvester.ports.audit import AuditLog
from spice_harvester.services.bff.security.keys import KeyCache
from spice_harvester.settings import Settings


@dataclass(frozen=True)
class BffSecurity:
    settings: Settings
    keys: KeyCache
    buckets: TokenBuckets
    audit: AuditLog

    @property
    def keys_required(self) -> bool:
        """Production always checks keys; elsewhere `authentication.api_key_enabled` says."""
        return self.settings.is_production or self.settings.bff.authentication.api_key_enabled

    async def take(self, bucket: str, capacity: int, window: float) -> Decision:
        return await self.buckets.take(bucket, capacity, window)


def security_of(app: Starlette) -> BffSecurity:
    """The app's security, made on first use (resources open in the lifespan, not before)."""
    found: BffSecurity | None = getattr(app.state, "security", None)
    resources: Resources = app.state.resources
    # Rebuilt when the app is started again (tests do), since resources open per lifespan.
    if found is None or found.buckets is not resources.rate_limits:
        assert resources.api_keys is not None, "BFF wires its API keys at start-up"
        assert resources.rate_limits is not None, "BFF wires its rate limits at start-up"
        assert resources.audit is not None, "BFF wires its audit log at start-up"
        found = BffSecurity(
            resources.settings,
            KeyCache(resources.api_keys),
            resources.rate_limits,
            resources.audit,
        )
        app.state.security = found
    return found


def client_address(scope: Scope) -> str:
    """The caller's address as the server saw it (uvicorn applies trusted proxy headers)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
