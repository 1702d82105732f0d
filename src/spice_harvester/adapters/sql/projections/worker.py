"""The projection worker: embedded delivery for every serving (and building) projection."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.recompute import RecomputeRunner
from spice_harvester.adapters.sql.projections.status import WorkerRegistry
from spice_harvester.adapters.sql.projections.wakeup import PollWakeup, PostgresWakeup
from spice_harvester.application.projections.delivery import (
    Delivery,
    Failure,
    RoundReport,
    Subscription,
    UnitOutcome,
    Wakeup,
)
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.application.projections.units import Unit
from spice_harvester.domain.errors import DependencyUnavailable
from spice_harvester.settings.model import WorkerSettings

log = logging.getLogger(__name__)


def worker_owner() -> str:
    """Names this process in processed_events and projection_workers."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Building:
    """The applier as the log delivery sees it when NATS carries the serving versions: only
    versions being rebuilt read the log from their own checkpoints."""

    def __init__(self, applier: SqlApplier) -> None:
        self._applier = applier

    def subscriptions(self) -> list[Subscription]:
        return [s for s in self._applier.subscriptions() if s.status == "building"]

    def apply(self, subscription: Subscription, unit: Unit) -> UnitOutcome:
        return self._applier.apply(subscription, unit)

    def apply_batch(self, subscriptions: Sequence[Subscription], units: Sequence[Unit]) -> int:
        return self._applier.apply_batch(subscriptions, units)

    def fail(
        self, subscription: Subscription, unit: Unit, error: str, policy: RetryPolicy
    ) -> Failure | None:
        return self._applier.fail(subscription, unit, error, policy)


class ProjectionWorker:
    """Embedded delivery (the log read in order, woken by NOTIFY or a poll), or with
    `nats_url` distributed delivery: the outbox relay and a share of the durable consumer
    for serving versions, the log for versions being rebuilt."""

    def __init__(
        self, database: SqlDatabase, settings: WorkerSettings, nats_url: str | None = None
    ) -> None:
        self.database = database
        self.settings = settings
        self.nats_url = nats_url
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
        self._recompute = RecomputeRunner(database, self.applier.models)

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
            if self.nats_url is not None:
                self._run_distributed(stop, wakeup, idle, self.nats_url)
            else:
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

    def _run_distributed(
        self, stop: threading.Event, wakeup: Wakeup, idle: float, nats_url: str
    ) -> None:
        from spice_harvester.adapters.nats.delivery import NatsDelivery

        building = Delivery(
            _Building(self.applier),
            SqlEventLog(self.database),
            batch_size=self.settings.batch_size,
            retry=self.delivery.retry,
        )

        def between_fetches() -> None:
            # Versions being rebuilt, recompute jobs and the heartbeat, while NATS delivers.
            while not stop.is_set():
                try:
                    report = building.run_once(stop)
                except DependencyUnavailable as exc:
                    log.warning("the database is unavailable, waiting: %s", exc)
                    return
                self._round(report)
                if not (report.progressed or report.more):
                    return

        delivery = NatsDelivery(
            self.database, self.applier, self.settings, nats_url, name=self.owner
        )
        delivery.run(stop, wakeup, idle_seconds=idle, background=between_fetches)

    def _wakeup(self, stop: threading.Event) -> Wakeup:
        if self.database.engine_name == "postgresql":
            return PostgresWakeup(self.database, stop)
        return PollWakeup(stop)

    def _round(self, report: RoundReport) -> None:
        # Recompute jobs: start, replay, progress, promotion; a replay with more to do
        # makes the next round come at once.
        report.more = self._recompute.tick() or report.more
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
