"""The projection worker: embedded delivery for every serving (and building) projection."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.status import WorkerRegistry
from spice_harvester.adapters.sql.projections.wakeup import PollWakeup, PostgresWakeup
from spice_harvester.application.projections.delivery import Delivery, RoundReport, Wakeup
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.settings.model import WorkerSettings

log = logging.getLogger(__name__)


def worker_owner() -> str:
    """Names this process in processed_events and projection_workers."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ProjectionWorker:
    def __init__(self, database: SqlDatabase, settings: WorkerSettings) -> None:
        self.database = database
        self.settings = settings
        self.owner = worker_owner()
        self.applier = SqlApplier(database, self.owner, lease_seconds=settings.lease_seconds)
        self.delivery = Delivery(
            self.applier,
            SqlEventLog(database),
            batch_size=settings.batch_size,
            retry=RetryPolicy(
                settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
            ),
        )
        self._registry = WorkerRegistry(database, self.owner)
        self._last_beat = 0.0

    def run(self, stop: threading.Event) -> None:
        """Applies the log until `stop` is set; the unit in hand is finished first."""
        with self.database.transaction() as connection:
            books.ensure_serving(connection, self.applier.models)
        self._registry.started()
        self._last_beat = time.monotonic()
        wakeup = self._wakeup(stop)
        postgres = self.database.engine_name == "postgresql"
        idle = self.settings.idle_seconds if postgres else self.settings.poll_seconds
        try:
            self.delivery.run_forever(
                stop,
                wakeup,
                idle_seconds=idle,
                retry_seconds=min(idle, self.settings.retry_base_seconds),
                on_round=self._round,
            )
        finally:
            wakeup.close()
            try:
                self._registry.stopped()
            except Exception as exc:  # stopping must not fail because the database did
                log.warning("could not record that worker %s stopped: %s", self.owner, exc)

    def _wakeup(self, stop: threading.Event) -> Wakeup:
        if self.database.engine_name == "postgresql":
            return PostgresWakeup(self.database, stop)
        return PollWakeup(stop)

    def _round(self, report: RoundReport) -> None:
        if report.applied or report.parked:
            log.debug(
                "applied %d unit(s), parked %d, %d failed",
                report.applied,
                report.parked,
                report.failed,
            )
        now = time.monotonic()
        if now - self._last_beat >= self.settings.heartbeat_seconds:
            self._registry.beat()
            self._last_beat = now
