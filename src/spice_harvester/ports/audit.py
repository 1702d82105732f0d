"""A tamper-evident audit log: every entry carries the hash of the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class AuditEntry:
    entry_id: int
    at: datetime
    service: str
    actor: str
    action: str
    target: str | None
    outcome: str
    client: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry_id,
            "at": self.at.isoformat(),
            "service": self.service,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "client": self.client,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.entry_hash,
        }


class AuditLog(Protocol):
    def append(
        self,
        *,
        service: str,
        actor: str,
        action: str,
        outcome: str,
        target: str | None = None,
        client: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry: ...

    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]: ...

    def verify(self) -> list[int]:
        """Ids of entries whose hash or link to the previous entry does not hold."""
        ...
