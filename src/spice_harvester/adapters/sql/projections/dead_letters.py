"""Dead letters: units a projection gave up on, listed and retried by an operator.

A retry applies the unit now, in one transaction, exactly as the worker would have. Units
on a branch are applied in log order, so a letter is stale once its branch has applied a
later unit: that unit started from the commit before the parked one and moved to a later
commit through the store's diff, which covers what the parked unit would have done. Such a
letter is resolved as `superseded` without touching the read model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.tables import dead_letters
from spice_harvester.adapters.sql.registry import claim_many_on, mark_done_many_on, unpark_on
from spice_harvester.application.projections.delivery import Subscription
from spice_harvester.application.projections.units import Unit, group_units
from spice_harvester.domain.errors import Conflict, NotFound
from spice_harvester.ports.registry import ClaimOutcome, LogCheckpoint

PARKED = "parked"
RESOLVED = "resolved"
_l = dead_letters.c


@dataclass(frozen=True)
class DeadLetter:
    letter_id: int
    projection: str
    version: int
    db_name: str
    branch: str | None
    commit_id: str | None
    event_type: str
    events: int
    position: int
    attempts: int
    error: str
    status: str
    resolution: str | None
    parked_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.letter_id,
            "projection": self.projection,
            "version": self.version,
            "db_name": self.db_name,
            "branch": self.branch,
            "commit_id": self.commit_id,
            "event_type": self.event_type,
            "events": self.events,
            "position": self.position,
            "attempts": self.attempts,
            "error": self.error,
            "status": self.status,
            "resolution": self.resolution,
            "parked_at": self.parked_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


class RetryOutcome(StrEnum):
    APPLIED = "applied"
    SUPERSEDED = "superseded"  # a later unit on its branch already covers it
    FAILED = "failed"  # still failing: the letter stays parked with the new error


@dataclass(frozen=True)
class RetryResult:
    letter_id: int
    outcome: RetryOutcome
    error: str | None = None


class SqlDeadLetters:
    def __init__(self, db: SqlDatabase, applier: SqlApplier) -> None:
        self._db = db
        self._applier = applier
        self._log = SqlEventLog(db)

    def letters(self, *, status: str | None = PARKED, limit: int = 100) -> list[DeadLetter]:
        query = select(dead_letters).order_by(_l.letter_id).limit(limit)
        if status is not None:
            query = query.where(_l.status == status)
        with self._db.read() as connection:
            return [_letter(row) for row in connection.execute(query)]

    def get(self, letter_id: int) -> DeadLetter:
        with self._db.read() as connection:
            row = connection.execute(
                select(dead_letters).where(_l.letter_id == letter_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"dead letter {letter_id} does not exist", field="id")
        return _letter(row)

    def retry_all(self) -> list[RetryResult]:
        """Every parked letter, oldest first (a branch's letters in log order)."""
        with self._db.read() as connection:
            ids = connection.execute(
                select(_l.letter_id)
                .where(_l.status == PARKED)
                .order_by(_l.tx_order, _l.position, _l.letter_id)
            ).scalars()
            wanted = [int(letter_id) for letter_id in ids]
        return [self.retry(letter_id) for letter_id in wanted]

    def retry(self, letter_id: int) -> RetryResult:
        letter = self.get(letter_id)
        if letter.status != PARKED:
            raise Conflict(
                f"dead letter {letter_id} is already {letter.status} ({letter.resolution})",
                field="id",
            )
        with self._db.read() as connection:
            row = connection.execute(
                select(_l.db_id, _l.event_ids, _l.tx_order).where(_l.letter_id == letter_id)
            ).one()
        events = self._log.read_events(int(row.db_id), list(row.event_ids))
        units = group_units(events, complete=True)
        if len(units) != 1:
            raise Conflict(f"dead letter {letter_id} names events that are not one unit")
        subscription = Subscription(
            letter.projection,
            letter.version,
            "serving",
            LogCheckpoint(int(row.tx_order), letter.position),
        )
        try:
            with self._db.transaction() as connection:
                outcome = self._retry_on(connection, subscription, units[0])
                _resolve(connection, letter_id, outcome)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            with self._db.transaction() as connection:
                connection.execute(
                    update(dead_letters)
                    .where(_l.letter_id == letter_id)
                    .values(
                        attempts=_l.attempts + 1,
                        error=error[:4000],
                        updated_at=datetime.now(UTC),
                    )
                )
            return RetryResult(letter_id, RetryOutcome.FAILED, error)
        return RetryResult(letter_id, outcome)

    def _retry_on(
        self, connection: Connection, subscription: Subscription, unit: Unit
    ) -> RetryOutcome:
        handler, owner = subscription.handler, self._applier.owner
        unpark_on(connection, handler, unit.keys)
        claims = claim_many_on(connection, handler, unit.keys, owner, 60.0)
        if any(claim.outcome is ClaimOutcome.BUSY for claim in claims.values()):
            raise Conflict("another worker holds this letter's events: try again shortly")
        fresh = [e for e in unit.events if claims[e.key].outcome is ClaimOutcome.CLAIMED]
        outcome = RetryOutcome.APPLIED
        state = None
        if unit.branch is not None:
            state = books.branch_state(connection, subscription, unit.db_id, unit.branch, lock=True)
        if state is not None and state.checkpoint > unit.checkpoint:
            outcome = RetryOutcome.SUPERSEDED
        elif fresh:
            self._applier.effect(connection, subscription, unit, fresh)
        mark_done_many_on(connection, handler, [e.key for e in fresh], owner)
        return outcome


def _resolve(connection: Connection, letter_id: int, outcome: RetryOutcome) -> None:
    connection.execute(
        update(dead_letters)
        .where(_l.letter_id == letter_id)
        .values(status=RESOLVED, resolution=outcome.value, updated_at=datetime.now(UTC))
    )


def _letter(row: Any) -> DeadLetter:
    return DeadLetter(
        letter_id=int(row.letter_id),
        projection=row.projection,
        version=int(row.version),
        db_name=row.db_name,
        branch=row.branch,
        commit_id=row.commit_id,
        event_type=row.event_type,
        events=len(row.event_ids),
        position=int(row.position),
        attempts=int(row.attempts),
        error=row.error,
        status=row.status,
        resolution=row.resolution,
        parked_at=row.parked_at,
        updated_at=row.updated_at,
    )
