"""API keys: who may call BFF, with which role, on which databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol

Role = Literal["viewer", "editor", "admin"]
ROLES: Final[tuple[Role, ...]] = ("viewer", "editor", "admin")
# viewer < editor < admin: a key may do what any lower role may.
ROLE_ORDER: Final[dict[str, int]] = {role: rank for rank, role in enumerate(ROLES)}
KEY_PREFIX: Final = "sh_"


def role_covers(held: Role, needed: Role) -> bool:
    return ROLE_ORDER[held] >= ROLE_ORDER[needed]


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without the secret: only its first characters (`prefix`) for display."""

    key_id: str
    name: str
    prefix: str
    role: Role
    databases: frozenset[str] | None  # None: every database
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "prefix": self.prefix,
            "role": self.role,
            "databases": sorted(self.databases) if self.databases is not None else None,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: the only time the whole secret exists outside its holder."""

    key: ApiKey
    secret: str


class ApiKeyStore(Protocol):
    def create(
        self, *, name: str, role: Role, databases: list[str] | None, created_by: str
    ) -> IssuedKey: ...

    def list_keys(self) -> list[ApiKey]:
        """Every key, newest first, revoked ones included."""
        ...

    def revoke(self, key_id: str) -> ApiKey:
        """Revokes at once; revoking a revoked key changes nothing. NotFound if unknown."""
        ...

    def authenticate(self, secret: str) -> ApiKey:
        """The key this secret belongs to; Unauthorized when unknown or revoked."""
        ...
