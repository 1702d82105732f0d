"""The fast first phase of a recompute: replaying the log into a new version a batch at a time
(docs/design/0005, "Recompute (as built)").

Nobody reads a version being rebuilt, so it need not pass through every commit: a read model
can land on any commit from any other through the store's diff (that is how the applier
follows resets and pulls). Within a batch, a commit or head move on a branch that a later unit
of the same batch moves again is therefore passed over, unless the branch or its database is
deleted in between; the later unit then moves the branch from the commit it reflects, and a
run of one-document commits costs one diff instead of one transaction each. A branch's
creation is always applied (it copies its source's rows, cheaper than a build). Each batch is
one transaction that also moves the version's checkpoint; the version's checkpoint row is
locked first and must still be where the batch was read from, so two workers never replay
the same batch.

The version has status `replaying` meanwhile (not followed by the worker's delivery). Once a
batch reaches the end of the log it becomes `building`, and the worker applies the rest unit
by unit as for any version. A batch that fails rolls back and hands the version to the
delivery at once, whose retries and dead letters then decide (a parked unit fails the job).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.tables import projection_versions
from spice_harvester.application.projections.delivery import Subscription
from spice_harvester.application.projections.recompute import VersionScope, covers
from spice_harvester.application.projections.units import Unit, UnitKind, read_units
from spice_harvester.domain.errors import DependencyUnavailable
from spice_harvester.ports.registry import LogCheckpoint

log = logging.getLogger(__name__)

REPLAYING: Final = "replaying"
BATCH: Final = 5000
_v = projection_versions.c


@dataclass(frozen=True)
class ReplayStep:
    applied: int  # units written
    passed: int  # units passed over (out of scope, or moved again later in the batch)
    done: bool  # the version reached the log's end and is now followed unit by unit


def coalesced(units: list[Unit]) -> list[Unit]:
    """The units a batch must apply, in log order (see the module's note)."""
    moved_later: set[tuple[int, str]] = set()
    chosen: list[Unit] = []
    for unit in reversed(units):
        key = (unit.db_id, unit.branch or "")
        if unit.kind is UnitKind.DATABASE_DELETED:
            moved_later = {k for k in moved_later if k[0] != unit.db_id}
        elif unit.kind is UnitKind.BRANCH_DELETED:
            moved_later.discard(key)
        elif unit.kind in (UnitKind.COMMIT, UnitKind.HEAD_MOVED):
            creates = unit.event_type == "BranchCreated"
            if key in moved_later and not creates:
                continue
            moved_later.add(key)
        else:
            continue  # nothing a read model follows
        chosen.append(unit)
    chosen.reverse()
    return chosen


class Replayer:
    def __init__(self, database: SqlDatabase, applier: SqlApplier, *, batch: int = BATCH) -> None:
        self._db = database
        self._applier = applier
        self._log = SqlEventLog(database)
        self._batch = batch

    def step(self, projection: str, version: int, scope: VersionScope | None) -> ReplayStep:
        """Replays one batch after the version's checkpoint."""
        with self._db.read() as connection:
            start = books.checkpoint_of(connection, projection, version)
        if start is None:
            return ReplayStep(0, 0, True)
        units, full = self._read(start)
        subscription = Subscription(projection, version, REPLAYING, start, scope)
        wanted = coalesced([unit for unit in units if covers(scope, unit)])
        try:
            with self._db.transaction() as connection:
                held = books.checkpoint_of(connection, projection, version, lock=True)
                status = connection.execute(
                    select(_v.status).where(_v.projection == projection, _v.version == version)
                ).scalar()
                if held != start or status != REPLAYING:
                    return ReplayStep(0, 0, status != REPLAYING)  # another worker's batch
                for unit in wanted:
                    self._applier.effect(connection, subscription, unit, unit.events)
                if units:
                    books.advance(connection, subscription, units[-1].checkpoint)
                if not full:
                    self._follow_unit_by_unit(connection, projection, version)
        except DependencyUnavailable:
            raise
        except Exception as exc:
            log.warning(
                "replaying %s v%d from %s failed, going on unit by unit: %s",
                projection,
                version,
                start,
                exc,
            )
            with self._db.transaction() as connection:
                self._follow_unit_by_unit(connection, projection, version)
            return ReplayStep(0, 0, True)
        return ReplayStep(len(wanted), len(units) - len(wanted), not full)

    @staticmethod
    def _follow_unit_by_unit(connection: Connection, projection: str, version: int) -> None:
        connection.execute(
            update(projection_versions)
            .where(_v.projection == projection, _v.version == version, _v.status == REPLAYING)
            .values(status="building")
        )

    def _read(self, start: LogCheckpoint) -> tuple[list[Unit], bool]:
        return read_units(self._log, start, self._batch)
