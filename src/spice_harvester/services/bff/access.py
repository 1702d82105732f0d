"""Who may call a BFF route: the dependency every `/api/v1` route declares.

`requires(role)` answers with the caller (`Caller`) when access is allowed, and leaves it on
`request.state.caller`. Keys (`X-API-Key`) are checked when `APP_ENV=production` or
`authentication.api_key_enabled` is set; otherwise every caller is the anonymous admin of a
development installation. A missing, unknown or revoked key is 401 `unauthorized`; a role
too low, or a `{db}` in the path outside the key's databases, is 403 `forbidden`.

Keys are looked up through a per-process cache (security/keys.py): a revoked key is refused
within `KEY_CACHE_SECONDS` (5 s) everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from spice_harvester.domain.errors import Forbidden, Unauthorized
from spice_harvester.ports.api_keys import ROLE_ORDER, ApiKey, Role, role_covers
from spice_harvester.services.bff.security.context import security_of

__all__ = ["ANONYMOUS", "ROLE_ORDER", "Caller", "Role", "requires"]

api_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="An API key from `spice apikey create` (required in production).",
    auto_error=False,
)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the actor recorded in OMS, the key's role and the databases it may use
    (None: all)."""

    actor: str
    role: Role
    databases: frozenset[str] | None = None
    key_id: str | None = None

    @classmethod
    def of(cls, key: ApiKey) -> Caller:
        return cls(key.name, key.role, key.databases, key.key_id)

    def may_use(self, db: str) -> bool:
        return self.databases is None or db in self.databases

    def require_database(self, db: str) -> None:
        """For routes that name a database elsewhere than in the `{db}` path parameter."""
        if not self.may_use(db):
            raise Forbidden(f"this API key may not use database '{db}'", field="db")

    def as_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "role": self.role,
            "databases": sorted(self.databases) if self.databases is not None else None,
            "key_id": self.key_id,
        }


ANONYMOUS = Caller("anonymous", "admin")


def requires(role: Role) -> Any:
    """A FastAPI dependency admitting callers with at least `role`."""

    async def check(request: Request, secret: str | None = Security(api_key_header)) -> Caller:
        caller = await authorize(request, role, secret)
        request.state.caller = caller
        return caller

    return Depends(check)


async def authorize(request: Request, role: Role, secret: str | None) -> Caller:
    security = security_of(request.app)
    if not security.keys_required:
        return ANONYMOUS
    if not secret:
        raise Unauthorized("an API key is required in the X-API-Key header", field="X-API-Key")
    verdict = await security.keys.verdict(secret)
    if not isinstance(verdict, ApiKey):
        raise Unauthorized(verdict, field="X-API-Key")
    caller = Caller.of(verdict)
    if not role_covers(caller.role, role):
        raise Forbidden(
            f"this route needs the {role} role; the API key '{caller.actor}' is {caller.role}",
            field="X-API-Key",
        )
    db = request.path_params.get("db")
    if isinstance(db, str):
        caller.require_database(db)
    return caller
