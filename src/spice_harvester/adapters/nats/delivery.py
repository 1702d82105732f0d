"""Distributed delivery in one worker process: the outbox relay and the consumer, side by
side on one event loop (the database work runs in threads)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.errors import Error as NatsError

from spice_harvester.adapters.nats.consumer import ConsumeReport, NatsConsumer
from spice_harvester.adapters.nats.relay import OutboxRelay
from spice_harvester.adapters.nats.stream import connect, ensure_stream
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.application.projections.delivery import Wakeup
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.domain.errors import DependencyUnavailable
from spice_harvester.settings.model import WorkerSettings

log = logging.getLogger(__name__)
PAUSE = 0.5  # after NATS or the database failed: try again this soon


class NatsDelivery:
    def __init__(
        self,
        database: SqlDatabase,
        applier: SqlApplier,
        settings: WorkerSettings,
        nats_url: str,
        *,
        name: str,
    ) -> None:
        self._database = database
        self._applier = applier
        self._settings = settings
        self._url = nats_url
        self._name = name
        self.consumed = ConsumeReport()

    def run(
        self,
        stop: threading.Event,
        wakeup: Wakeup,
        *,
        idle_seconds: float,
        background: Callable[[], None] | None = None,
    ) -> None:
        """Relays and consumes until `stop` is set. `background` runs between waits (the
        worker's heartbeat and its log-reading versions)."""
        asyncio.run(self._main(stop, wakeup, idle_seconds, background))

    async def _main(
        self,
        stop: threading.Event,
        wakeup: Wakeup,
        idle: float,
        background: Callable[[], None] | None,
    ) -> None:
        client = await self._connected(stop)
        if client is None:
            return
        try:
            js = client.jetstream()
            settings = self._settings.nats
            await ensure_stream(js, settings)
            retry = RetryPolicy(
                self._settings.max_attempts,
                self._settings.retry_base_seconds,
                self._settings.retry_max_seconds,
            )
            relay = OutboxRelay(self._database, js, settings, batch_size=self._settings.batch_size)
            consumer = NatsConsumer(self._applier, SqlEventLog(self._database), js, settings, retry)
            await asyncio.gather(
                self._forever(stop, "relay", lambda: self._relay_round(relay, wakeup, idle)),
                self._forever(stop, "consumer", lambda: consumer.run(stop, self.consumed)),
                self._forever(stop, "background", lambda: self._background(background, stop)),
            )
        finally:
            await client.close()

    async def _connected(self, stop: threading.Event) -> Client | None:
        while not stop.is_set():
            try:
                return await connect(self._url, self._name)
            except DependencyUnavailable as exc:
                log.warning("%s; trying again", exc.message)
                await asyncio.to_thread(stop.wait, 2.0)
        return None

    @staticmethod
    async def _forever(
        stop: threading.Event, what: str, step: Callable[[], Awaitable[object]]
    ) -> None:
        """Runs `step` again until stopped; a failure is logged and retried after a pause."""
        while not stop.is_set():
            try:
                await step()
            except (NatsError, DependencyUnavailable, TimeoutError, OSError) as exc:
                log.warning("%s: %s; trying again", what, exc)
                await asyncio.to_thread(stop.wait, PAUSE)
            except Exception:
                log.exception("%s failed; trying again", what)
                await asyncio.to_thread(stop.wait, PAUSE)

    @staticmethod
    async def _relay_round(relay: OutboxRelay, wakeup: Wakeup, idle: float) -> None:
        report = await relay.publish_batch()
        if report.published:
            log.debug("relayed %d unit(s), %d duplicate(s)", report.published, report.duplicates)
        if not report.more:
            await asyncio.to_thread(wakeup.wait, idle)

    async def _background(
        self, background: Callable[[], None] | None, stop: threading.Event
    ) -> None:
        if background is not None:
            await asyncio.to_thread(background)
        await asyncio.to_thread(stop.wait, 1.0)
