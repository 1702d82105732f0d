"""Workers sharing one durable pull consumer: each delivered unit is applied to every serving
projection version and acknowledged after its transactions commit.

Delivery is at least once: a worker killed before its ack has the unit delivered again
(after `ack_wait`), to it or another worker, and the claims in processed_events make the
second application a no-op. Units may arrive out of order or at two workers at once: the
applier serialises units of one database per projection version and skips a unit its
branch's read model has already passed (docs/design/0005).

A fetched batch of messages is applied as few transactions (`SqlApplier.apply_batch`), in log
order, and acknowledged once they commit; a unit the batch cannot take is handled on its own
(`handle`), where failures are retried and parked.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from spice_harvester.adapters.nats.messages import UnitMessage
from spice_harvester.adapters.nats.stream import consumer_config
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.application.projections.delivery import Subscription, UnitOutcome
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.application.projections.units import Unit, group_units
from spice_harvester.domain.errors import DependencyUnavailable
from spice_harvester.settings.model import NatsDeliverySettings

log = logging.getLogger(__name__)
BUSY_DELAY = 0.2  # another worker holds the unit's claims: look again shortly


@dataclass
class ConsumeReport:
    acked: int = 0
    redelivered_later: int = 0  # nak'ed: busy elsewhere, failing, or the database is down
    parked: int = 0


class Settled(Exception):
    """Internal: the message is answered (nak'ed) and the rest of its handling is skipped."""


class NatsConsumer:
    def __init__(
        self,
        applier: SqlApplier,
        event_log: SqlEventLog,
        js: JetStreamContext,
        settings: NatsDeliverySettings,
        retry: RetryPolicy,
        *,
        on_applied: Callable[[Unit], None] | None = None,
    ) -> None:
        self._applier = applier
        self._log = event_log
        self._js = js
        self._settings = settings
        self._retry = retry
        self._on_applied = on_applied

    async def run(self, stop: threading.Event, report: ConsumeReport | None = None) -> None:
        report = report if report is not None else ConsumeReport()
        subscription = await self._js.pull_subscribe(
            f"{self._settings.subject_prefix}.>",
            durable=self._settings.durable,
            stream=self._settings.stream,
            config=consumer_config(self._settings),
        )
        try:
            while not stop.is_set():
                try:
                    messages = await subscription.fetch(self._settings.fetch_batch, timeout=1.0)
                except TimeoutError:
                    # nats' own TimeoutError, or the bare one its fetch raises when the
                    # deadline passes between its two pull requests: nothing came.
                    continue
                # Read once per batch: which versions serve does not change between messages.
                serving = await asyncio.to_thread(self._serving)
                await self.handle_batch(messages, report, serving, stop)
        finally:
            await subscription.unsubscribe()

    async def handle_batch(
        self,
        messages: list[Msg],
        report: ConsumeReport,
        serving: list[Subscription],
        stop: threading.Event,
    ) -> None:
        """Applies the messages' units together where it can, each on its own otherwise."""
        readable: list[tuple[Msg, UnitMessage]] = []
        for message in messages:
            try:
                readable.append((message, UnitMessage.decode(message.data)))
            except ValueError as exc:
                log.error("dropping a message that is not a unit: %s", exc)
                await message.term()
        units = await asyncio.to_thread(self._read_all, [p for _, p in readable])
        pending: list[tuple[Msg, UnitMessage, Unit]] = []
        for (message, published), unit in zip(readable, units, strict=True):
            if isinstance(unit, Unit):
                pending.append((message, published, unit))
            else:
                # Its database is gone, the database is down, or the log disagrees: the
                # message's own handling acks, naks or reports it.
                await self.handle(message, report, serving)
        # Log order: a unit's branch may have later units in the same batch.
        pending.sort(key=lambda item: (item[1].first.tx_order, item[1].first.position))
        while pending and serving and not stop.is_set():
            try:
                taken = await asyncio.to_thread(
                    self._applier.apply_batch, serving, [unit for _, _, unit in pending]
                )
            except DependencyUnavailable:
                taken = 0
            if taken == 0:
                await self.handle(pending.pop(0)[0], report, serving)
                continue
            for message, _, unit in pending[:taken]:
                if self._on_applied is not None:
                    self._on_applied(unit)
                await message.ack()
                report.acked += 1
            pending = pending[taken:]
        for message, _, _ in pending if not serving else ():
            await self.handle(message, report, serving)

    def _read_all(self, published: list[UnitMessage]) -> list[Unit | Exception | None]:
        found: list[Unit | Exception | None] = []
        for one in published:
            try:
                found.append(self._read(one))
            except Exception as exc:
                found.append(exc)
        return found

    async def handle(
        self, message: Msg, report: ConsumeReport, serving: list[Subscription]
    ) -> None:
        try:
            published = UnitMessage.decode(message.data)
        except ValueError as exc:
            log.error("dropping a message that is not a unit: %s", exc)
            await message.term()
            return
        try:
            unit = await asyncio.to_thread(self._read, published)
            if unit is not None:
                for subscription in serving:
                    await self._apply(message, subscription, unit, report)
                if self._on_applied is not None:
                    self._on_applied(unit)
        except Settled:
            report.redelivered_later += 1
            return
        except DependencyUnavailable as exc:
            log.warning("the database is unavailable, the unit comes back later: %s", exc)
            await message.nak(delay=self._retry.delay(1))
            report.redelivered_later += 1
            return
        await message.ack()
        report.acked += 1

    def _serving(self) -> list[Subscription]:
        # A version being rebuilt reads the log from its own checkpoint (the worker's log
        # delivery): a unit applied here would move that checkpoint past units it has not
        # read yet.
        return [s for s in self._applier.subscriptions() if s.status == "serving"]

    def _read(self, published: UnitMessage) -> Unit | None:
        events = self._log.read_unit(published.first, published.last)
        if not events:
            # Its database was deleted since (and its events with it): nothing to apply.
            return None
        units = group_units(events, complete=True)
        if len(units) != 1 or len(events) != published.count:
            raise ValueError(
                f"unit {published.msg_id}: the log holds {len(events)} event(s) in "
                f"{len(units)} unit(s) where {published.count} in one were published"
            )
        return units[0]

    async def _apply(
        self, message: Msg, subscription: Subscription, unit: Unit, report: ConsumeReport
    ) -> None:
        try:
            outcome = await asyncio.to_thread(self._applier.apply, subscription, unit)
        except DependencyUnavailable:
            raise
        except Exception as exc:
            await self._failed(message, subscription, unit, exc, report)
            return
        if outcome is UnitOutcome.BUSY:
            await message.nak(delay=BUSY_DELAY)
            raise Settled

    async def _failed(
        self,
        message: Msg,
        subscription: Subscription,
        unit: Unit,
        exc: Exception,
        report: ConsumeReport,
    ) -> None:
        error = f"{type(exc).__name__}: {exc}"
        failure = await asyncio.to_thread(
            self._applier.fail, subscription, unit, error, self._retry
        )
        if failure is None:
            await message.nak(delay=BUSY_DELAY)  # someone else holds or settled it
            raise Settled
        if failure.parked:
            report.parked += 1
            log.error(
                "projection %s parked unit %s as dead letter %s after %d attempts: %s",
                subscription.handler,
                unit.commit_id or unit.first.event_id,
                failure.letter_id,
                failure.attempts,
                error,
            )
            return  # the other projections still get the unit; then it is acknowledged
        log.warning(
            "projection %s failed on %s (attempt %d): %s",
            subscription.handler,
            unit.commit_id or unit.first.event_id,
            failure.attempts,
            error,
        )
        await message.nak(delay=self._retry.delay(failure.attempts))
        raise Settled
