"""Maintenance mode: one switch every process of every service obeys.

While it is on, the services answer 503 to everything but their health and admin endpoints,
so an operator can migrate, restore or upgrade without clients writing in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

DEFAULT_MESSAGE: Final = "Spice Harvester is under maintenance"
# What Retry-After says unless the operator gives another estimate.
DEFAULT_RETRY_AFTER: Final = 300
MAX_MESSAGE: Final = 1000


@dataclass(frozen=True)
class MaintenanceState:
    """The switch as last set: by whom, when, and what clients are told meanwhile."""

    enabled: bool
    message: str | None = None
    retry_after: int = DEFAULT_RETRY_AFTER
    changed_at: datetime | None = None
    changed_by: str | None = None

    @property
    def notice(self) -> str:
        return self.message or DEFAULT_MESSAGE

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "message": self.notice if self.enabled else self.message,
            "retry_after": self.retry_after,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "changed_by": self.changed_by,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaintenanceState:
        """Reads `as_dict`'s shape (what OMS's admin endpoint answers)."""
        changed_at = data.get("changed_at")
        return cls(
            enabled=data.get("enabled") is True,
            message=data.get("message"),
            retry_after=int(data.get("retry_after") or DEFAULT_RETRY_AFTER),
            changed_at=datetime.fromisoformat(changed_at) if changed_at else None,
            changed_by=data.get("changed_by"),
        )


OFF: Final = MaintenanceState(False)


class MaintenanceStore(Protocol):
    """Where the switch lives (a row of the shared database)."""

    def read(self) -> MaintenanceState: ...

    def write(self, state: MaintenanceState) -> MaintenanceState: ...


class MaintenanceSource(Protocol):
    """How a running process learns the switch: from the database, or from OMS (Funnel)."""

    async def fetch(self) -> MaintenanceState: ...
