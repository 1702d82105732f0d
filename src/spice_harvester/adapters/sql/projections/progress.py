"""How far the projections have got with one commit: the question behind COMPLETED.

A unit is applied in one transaction that marks all of its events done, so a commit is
applied by a projection version exactly when its last event is marked done (or parked) for
that version's handler. One indexed row per serving version answers it.
"""

from __future__ import annotations

from sqlalchemy import literal_column, select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import event_of
from spice_harvester.adapters.sql.projections.tables import projection_versions
from spice_harvester.adapters.sql.tables import events, processed_events, spice_databases
from spice_harvester.application.projections.delivery import handler_name
from spice_harvester.application.projections.units import UnitKind, kind_of

_e = events.c
_p = processed_events.c


class SqlProjectionProgress:
    def __init__(self, database: SqlDatabase) -> None:
        self._db = database

    def progress(self, db_name: str, commit_id: str) -> dict[str, str]:
        """projection -> applied | pending | parked, for each serving projection; empty when
        the commit left nothing for a projection to apply (or its database is gone)."""
        with self._db.read() as connection:
            db_id = connection.execute(
                select(spice_databases.c.db_id).where(spice_databases.c.name == db_name)
            ).scalar()
            if db_id is None:
                return {}
            last = connection.execute(
                select(events, literal_column("0").label("tx_order"))
                .where(_e.db_id == db_id, _e.commit_id == commit_id)
                .order_by(_e.position.desc())
                .limit(1)
            ).first()
            if last is None:
                return {}
            event = event_of(last)
            if kind_of(event) is UnitKind.OTHER:
                return {}
            v = projection_versions.c
            serving = connection.execute(
                select(v.projection, v.version).where(v.status == "serving")
            ).all()
            handlers = {
                handler_name(row.projection, row.version): row.projection for row in serving
            }
            rows = connection.execute(
                select(_p.handler, _p.status).where(
                    _p.handler.in_(list(handlers)), _p.event_id == event.key
                )
            )
            marks = {row.handler: row.status for row in rows}
        return {projection: _state(marks.get(handler)) for handler, projection in handlers.items()}


def _state(mark: str | None) -> str:
    if mark == "done":
        return "applied"
    if mark == "parked":
        return "parked"
    return "pending"
