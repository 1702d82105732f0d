"""Units a version being rebuilt passes over (docs/design/0005, "Recompute (as built)").

A version rebuilt for one database or branch, or up to a point of the log, reads the whole
log like any other version but applies only the units of its scope (`covers`). Those outside
need no transaction of their own: the checkpoint of the furthest is remembered and written
at the start of the next round (a unit of the scope writes its own checkpoint anyway). A
crash before that only makes the version read those units again, and pass them over again.
"""

from __future__ import annotations

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.application.projections.delivery import Subscription
from spice_harvester.application.projections.recompute import covers
from spice_harvester.application.projections.units import Unit
from spice_harvester.ports.registry import LogCheckpoint


class PassedOver:
    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], tuple[Subscription, LogCheckpoint]] = {}

    def passes_over(self, subscription: Subscription, unit: Unit) -> bool:
        """True (and the unit's checkpoint remembered) when `subscription` does not apply it."""
        if covers(subscription.scope, unit):
            return False
        key = (subscription.projection, subscription.version)
        pending = self._pending.get(key)
        if pending is None or pending[1] < unit.checkpoint:
            self._pending[key] = (subscription, unit.checkpoint)
        return True

    def flush(self, database: SqlDatabase) -> None:
        """Writes the remembered checkpoints (never moving one back)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        with database.transaction() as connection:
            for subscription, checkpoint in pending.values():
                books.advance(connection, subscription, checkpoint)
