"""The maintenance switch as a row of the shared database, so every process sees one value."""

from __future__ import annotations

import anyio.to_thread
from sqlalchemy import select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import maintenance_mode
from spice_harvester.domain.errors import ConfigurationError
from spice_harvester.ports.maintenance import OFF, MaintenanceState

_m = maintenance_mode.c
ROW = 1


class SqlMaintenance:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def read(self) -> MaintenanceState:
        with self._db.read() as connection:
            row = connection.execute(select(maintenance_mode).where(_m.id == ROW)).one_or_none()
        if row is None:
            return OFF
        return MaintenanceState(
            bool(row.enabled), row.message, int(row.retry_after), row.changed_at, row.changed_by
        )

    async def fetch(self) -> MaintenanceState:
        """`read` off the event loop (a running service's MaintenanceSource)."""
        return await anyio.to_thread.run_sync(self.read, abandon_on_cancel=True)

    def write(self, state: MaintenanceState) -> MaintenanceState:
        with self._db.transaction() as connection:
            changed = connection.execute(
                update(maintenance_mode)
                .where(_m.id == ROW)
                .values(
                    enabled=state.enabled,
                    message=state.message,
                    retry_after=state.retry_after,
                    changed_at=state.changed_at,
                    changed_by=state.changed_by,
                )
            )
            if changed.rowcount != 1:
                # Migration 0009 creates the row; without it the schema is not this version's.
                raise ConfigurationError(
                    "the maintenance_mode row is missing: run `spice db migrate`"
                )
        return state
