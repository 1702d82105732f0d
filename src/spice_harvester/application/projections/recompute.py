"""Recompute jobs (docs/design/0005, "Recompute (as built)"): what an operator asks for, what
a job reports, and which units a version being rebuilt follows.

A job builds version N+1 of one projection for a scope (every database, one database, or one
branch of one database) by replaying the log, optionally from the state at `from_ts`, and
either keeps it as a snapshot or promotes it: the scope's rows swap places with the serving
version's in one transaction. This module is pure; the SQL lives in
adapters/sql/projections/recompute.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from spice_harvester.application.projections.units import Unit, UnitKind
from spice_harvester.domain.errors import MalformedInput
from spice_harvester.ports.registry import LogCheckpoint

QUEUED: Final = "queued"  # waiting for a worker (or, without `promote`, for `to_ts` to pass)
BUILDING: Final = "building"  # the new version replays the log
PROMOTING: Final = "promoting"  # built; catching up with the serving version, then the swap
DONE: Final = "done"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
ACTIVE: Final = (QUEUED, BUILDING, PROMOTING)
FINISHED: Final = (DONE, FAILED, CANCELLED)


@dataclass(frozen=True)
class VersionScope:
    """What a version being rebuilt follows: one database (or all), one branch of it (or
    all), and the log up to `until` (or all of it). Units outside only move its checkpoint."""

    db_id: int | None = None
    branch: str | None = None
    until: LogCheckpoint | None = None


def covers(scope: VersionScope | None, unit: Unit) -> bool:
    """Whether a version with `scope` applies `unit` (None: a version that follows it all)."""
    if scope is None:
        return True
    if scope.until is not None and unit.checkpoint > scope.until:
        return False
    if unit.kind is UnitKind.OTHER:
        return False  # nothing to write: passing it over saves a transaction
    if scope.db_id is not None and unit.db_id != scope.db_id:
        return False
    if scope.branch is not None and unit.kind is not UnitKind.DATABASE_DELETED:
        return unit.branch == scope.branch
    return True


def as_utc(moment: datetime | None) -> datetime | None:
    """A time without an offset is read as UTC, the log's own zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RecomputeRequest:
    projection: str
    db_name: str | None = None  # None: every database
    branch: str | None = None  # None: every branch (of `db_name`, or of every database)
    from_ts: datetime | None = None  # None: from the start of the log
    to_ts: datetime | None = None  # None: up to the log's end when the build starts
    promote: bool = False
    allow_delete_base_index: bool = False
    requested_by: str = "anonymous"

    def checked(self, projections: Collection[str], now: datetime) -> RecomputeRequest:
        """The request with its times in UTC; MalformedInput naming the first problem (a
        database or branch that does not exist is the store's to say)."""
        if self.projection not in projections:
            known = ", ".join(sorted(projections))
            raise MalformedInput(
                f"unknown projection '{self.projection}' (known: {known})", field="projection"
            )
        if self.branch is not None and self.db_name is None:
            raise MalformedInput("a branch needs its database (db_name)", field="branch")
        if self.allow_delete_base_index and not self.promote:
            raise MalformedInput(
                "allow_delete_base_index applies only with promote: an unpromoted build "
                "replaces nothing",
                field="allow_delete_base_index",
            )
        from_ts, to_ts = as_utc(self.from_ts), as_utc(self.to_ts)
        if from_ts is not None and to_ts is not None and from_ts > to_ts:
            raise MalformedInput(
                f"from_ts ({from_ts.isoformat()}) is after to_ts ({to_ts.isoformat()})",
                field="from_ts",
            )
        if from_ts is not None and from_ts > now:
            raise MalformedInput(
                f"from_ts ({from_ts.isoformat()}) is in the future", field="from_ts"
            )
        return RecomputeRequest(
            self.projection,
            self.db_name,
            self.branch,
            from_ts,
            to_ts,
            self.promote,
            self.allow_delete_base_index,
            self.requested_by,
        )


@dataclass(frozen=True)
class JobProgress:
    """Where a job's build stands, counted in log events from where it started."""

    events_done: int = 0
    events_total: int | None = None  # None until the target is known (a future to_ts)
    checkpoint: LogCheckpoint | None = None  # the new version's
    target: LogCheckpoint | None = None  # the build is complete once past it
    start: LogCheckpoint | None = None
    note: str | None = None

    @property
    def percent(self) -> float | None:
        if self.events_total is None:
            return None
        if self.events_total == 0:
            return 100.0
        return round(min(100.0, 100.0 * self.events_done / self.events_total), 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events_done": self.events_done,
            "events_total": self.events_total,
            "percent": self.percent,
            "checkpoint": _checkpoint_dict(self.checkpoint),
            "target": _checkpoint_dict(self.target),
            "start": _checkpoint_dict(self.start),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobProgress:
        total = data.get("events_total")
        return cls(
            int(data.get("events_done") or 0),
            None if total is None else int(total),
            _checkpoint_of(data.get("checkpoint")),
            _checkpoint_of(data.get("target")),
            _checkpoint_of(data.get("start")),
            data.get("note"),
        )


def _checkpoint_dict(checkpoint: LogCheckpoint | None) -> dict[str, int] | None:
    if checkpoint is None:
        return None
    return {"tx_order": checkpoint.tx_order, "position": checkpoint.position}


def _checkpoint_of(data: Any) -> LogCheckpoint | None:
    if not isinstance(data, dict):
        return None
    return LogCheckpoint(int(data["tx_order"]), int(data["position"]))


@dataclass(frozen=True)
class RecomputeJob:
    job_id: str
    projection: str
    version: int | None  # the version it builds, once started
    db_name: str | None
    branch: str | None
    from_ts: datetime | None
    to_ts: datetime | None
    promote: bool
    allow_delete_base_index: bool
    status: str
    progress: JobProgress
    error: str | None
    requested_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "projection": self.projection,
            "version": self.version,
            "db_name": self.db_name,
            "branch": self.branch,
            "from_ts": _iso(self.from_ts),
            "to_ts": _iso(self.to_ts),
            "promote": self.promote,
            "allow_delete_base_index": self.allow_delete_base_index,
            "status": self.status,
            "progress": self.progress.as_dict(),
            "error": self.error,
            "requested_by": self.requested_by,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


class RecomputeJobs(Protocol):
    """Creating and reading recompute jobs; a projection worker runs them."""

    def create(self, request: RecomputeRequest) -> RecomputeJob:
        """Queues a job. MalformedInput for a bad request, NotFound for a database or branch
        that does not exist, Conflict while another job of the projection is active."""
        ...

    def get(self, job_id: str) -> RecomputeJob:
        """NotFound for an unknown id."""
        ...

    def jobs(self, *, limit: int = 20) -> list[RecomputeJob]:
        """The newest first."""
        ...

    def cancel(self, job_id: str) -> RecomputeJob:
        """Stops an active job before its promotion and drops what it built; Conflict once
        it has finished."""
        ...
