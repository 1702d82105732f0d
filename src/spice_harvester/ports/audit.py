"""A tamper-evident audit log: every entry carries the hash of the one before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol


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


@dataclass(frozen=True)
class ChainProblem:
    """An entry where the chain breaks: `edited` when its own fields no longer hash to its
    recorded hash; `unlinked` when it does not record the hash of the entry before it (that
    one was removed, or rewritten with a fresh hash)."""

    entry_id: int
    kind: Literal["edited", "unlinked"]
    previous_id: int | None

    def describe(self) -> str:
        if self.kind == "edited":
            return f"audit entry {self.entry_id} does not hash to its recorded hash: it was edited"
        after = f"entry {self.previous_id}" if self.previous_id is not None else "the start"
        return (
            f"audit entry {self.entry_id} does not record the hash of {after} before it: "
            "an entry between them was removed or rewritten"
        )


@dataclass(frozen=True)
class AuditCheck:
    count: int
    problems: list[ChainProblem]

    @property
    def holds(self) -> bool:
        return not self.problems


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

    def count(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int: ...

    def verify(self) -> list[int]:
        """Ids of entries whose hash or link to the previous entry does not hold."""
        ...

    def check(self) -> AuditCheck:
        """The number of entries and where the chain breaks, oldest first."""
        ...
