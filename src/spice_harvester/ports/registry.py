"""What event consumers need: the ordered log, and a registry that makes effects exactly-once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


@dataclass(frozen=True, order=True)
class LogCheckpoint:
    """Where a consumer is in the log. Ordered: later checkpoints compare greater.

    `tx_order` is the writing transaction's id on PostgreSQL (0 on SQLite, whose writers are
    serialised); `position` is the event's global position.
    """

    tx_order: int
    position: int

    @classmethod
    def start(cls) -> LogCheckpoint:
        return cls(0, 0)


@dataclass(frozen=True)
class StoredEvent:
    checkpoint: LogCheckpoint
    event_id: str
    db_id: int
    db_name: str
    commit_id: str | None
    branch: str | None
    aggregate_type: str
    aggregate_id: str
    class_id: str | None
    seq: int
    event_type: str
    payload: dict[str, Any]
    actor: str
    occurred_at: datetime

    @property
    def position(self) -> int:
        return self.checkpoint.position

    @property
    def key(self) -> str:
        """What consumers claim the event by: event ids are unique per database only (a
        clone shares its origin's), so the key names the database too."""
        return f"{self.db_id}:{self.event_id}"


class EventLog(Protocol):
    def read_after(self, checkpoint: LogCheckpoint, limit: int = 1000) -> list[StoredEvent]:
        """Committed events after `checkpoint`, in an order no later commit can precede.

        Reading again from the last returned checkpoint never skips an event, even one whose
        position is lower because its transaction committed late.
        """
        ...

    def read_unit(self, first: LogCheckpoint, last: LogCheckpoint) -> list[StoredEvent]:
        """The events from `first` to `last` inclusive, both of one transaction, in order."""
        ...

    def last_position(self) -> int: ...


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # the caller now owns the event until its lease runs out
    DONE = "done"  # already applied by someone: skip it
    BUSY = "busy"  # another owner holds a live lease, or a failure waits for its retry time
    PARKED = "parked"  # given up after too many failures: only an operator's retry takes it


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    attempts: int
    owner: str | None
    lease_until: float | None


class ProcessedEventRegistry(Protocol):
    """processed_events keyed by (handler, event_id), and aggregate_versions per handler.

    Times are seconds since the epoch on the database's clock, so processes on several
    hosts agree about leases.
    """

    def claim(self, handler: str, event_id: str, owner: str, lease_seconds: float) -> Claim:
        """Takes the event for `owner`: new, failed and due for retry, or its lease expired."""
        ...

    def heartbeat(self, handler: str, event_id: str, owner: str, lease_seconds: float) -> float:
        """Extends the caller's lease; raises LeaseLost if it is no longer the owner."""
        ...

    def mark_done(
        self,
        handler: str,
        event_id: str,
        owner: str,
        *,
        aggregate_key: str | None = None,
        seq: int | None = None,
    ) -> None:
        """Records success (and the aggregate's applied seq) atomically; LeaseLost if not owner."""
        ...

    def mark_failed(
        self, handler: str, event_id: str, owner: str, error: str, retry_in: float
    ) -> int:
        """Records a failure; the event can be claimed again after `retry_in` seconds.

        Returns the number of attempts so far.
        """
        ...

    def status(self, handler: str, event_id: str) -> dict[str, Any] | None: ...

    def last_seq(self, handler: str, aggregate_key: str) -> int:
        """The highest seq applied for the aggregate (0 if none): lower ones are stale."""
        ...

    def is_stale(self, handler: str, aggregate_key: str, seq: int) -> bool: ...
