"""Embedded delivery: read the log after each projection's checkpoint and apply it in units.

A unit that fails is retried with exponential back-off (its claim stays unclaimable until
the retry time) and holds its projection back meanwhile, so every branch still sees its
events in log order; after `max_attempts` it is parked in dead_letters and the projection
moves on. A database that cannot be reached is nobody's fault: nothing is counted and the
loop waits for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from spice_harvester.application.projections.recompute import VersionScope
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.application.projections.units import Unit, read_units
from spice_harvester.domain.errors import DependencyUnavailable
from spice_harvester.ports.registry import EventLog, LogCheckpoint

log = logging.getLogger(__name__)


def handler_name(projection: str, version: int) -> str:
    return f"projection:{projection}:{version}"


@dataclass(frozen=True)
class Subscription:
    """One version of one projection and where it stands in the log."""

    projection: str
    version: int
    status: str  # building | serving
    checkpoint: LogCheckpoint
    scope: VersionScope | None = None  # a version being rebuilt for part of the log

    @property
    def handler(self) -> str:
        """The name it claims events under in processed_events."""
        return handler_name(self.projection, self.version)


class UnitOutcome(StrEnum):
    APPLIED = "applied"  # the effect is written and the checkpoint moved past the unit
    ALREADY_DONE = "already_done"  # applied before (a redelivery): only the checkpoint moved
    BUSY = "busy"  # another owner holds it, or its retry is not due yet: try again later


@dataclass(frozen=True)
class Failure:
    attempts: int
    parked: bool
    letter_id: int | None = None


class Applier(Protocol):
    """Applies units for projections, each unit in one transaction with its claims."""

    def subscriptions(self) -> list[Subscription]:
        """The versions being served or built, with their checkpoints."""
        ...

    def apply(self, subscription: Subscription, unit: Unit) -> UnitOutcome: ...

    def apply_batch(self, subscriptions: Sequence[Subscription], units: Sequence[Unit]) -> int:
        """Applies a prefix of `units` to all of `subscriptions` (at one checkpoint) at once;
        how many units, or 0 when the first must go through `apply` on its own."""
        ...

    def fail(
        self, subscription: Subscription, unit: Unit, error: str, policy: RetryPolicy
    ) -> Failure | None:
        """Records a failed attempt, claimable again after the policy's delay, or parks the
        unit in dead_letters once the attempts are used up (the checkpoint then moves past
        it). None when another worker has meanwhile applied the unit."""
        ...


class Wakeup(Protocol):
    def wait(self, timeout: float) -> bool:
        """Blocks until new events may be in the log or `timeout` seconds pass; True when
        woken by a notification."""
        ...

    def close(self) -> None: ...


@dataclass
class RoundReport:
    """What one pass over the subscriptions did."""

    applied: int = 0
    failed: int = 0
    parked: int = 0
    blocked: bool = False  # some projection waits for a retry, another owner or the database
    more: bool = False  # some projection read a full batch: read again at once

    @property
    def progressed(self) -> bool:
        return self.applied > 0 or self.parked > 0

    def add(self, other: RoundReport) -> None:
        self.applied += other.applied
        self.failed += other.failed
        self.parked += other.parked
        self.blocked = other.blocked
        self.more = other.more


class Delivery:
    def __init__(
        self,
        applier: Applier,
        event_log: EventLog,
        *,
        batch_size: int = 500,
        retry: RetryPolicy | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._applier = applier
        self._log = event_log
        self._batch = batch_size
        self._retry = retry or RetryPolicy()

    @property
    def retry(self) -> RetryPolicy:
        return self._retry

    def run_once(self, stop: threading.Event | None = None) -> RoundReport:
        """One batch for every subscription. Those at one checkpoint share one read of the
        log and are applied together, many units per transaction (see `_run_group`)."""
        report = RoundReport()
        groups: dict[LogCheckpoint, list[Subscription]] = {}
        for subscription in self._applier.subscriptions():
            groups.setdefault(subscription.checkpoint, []).append(subscription)
        for checkpoint, group in groups.items():
            if stop is not None and stop.is_set():
                break
            units, full = self._read_units(checkpoint)
            self._run_group(group, units, report, stop)
            report.more = report.more or full
        return report

    def drain(self, max_rounds: int = 1000) -> RoundReport:
        """Rounds until nothing is left to apply now (retries not yet due may remain); for
        tests and one-off catch-up. Returns the totals."""
        total = RoundReport()
        for _ in range(max_rounds):
            report = self.run_once()
            total.add(report)
            if not (report.progressed or report.more):
                return total
        total.more = True
        return total

    def run_forever(
        self,
        stop: threading.Event,
        wakeup: Wakeup,
        *,
        idle_seconds: float,
        retry_seconds: float,
        on_round: Callable[[RoundReport], None] | None = None,
    ) -> None:
        """Until `stop` is set: a round, then wait for a notification when idle."""
        while not stop.is_set():
            try:
                report = self.run_once(stop)
                if on_round is not None:
                    on_round(report)
            except DependencyUnavailable as exc:
                log.warning("the database is unavailable, waiting: %s", exc)
                report = RoundReport(blocked=True)
            if report.progressed or report.more:
                continue
            wakeup.wait(retry_seconds if report.blocked else idle_seconds)

    def _run_group(
        self,
        group: list[Subscription],
        units: list[Unit],
        report: RoundReport,
        stop: threading.Event | None,
    ) -> None:
        """Applies units to the whole group in batches. A unit a batch cannot take goes to
        each subscription alone; if one of them is held back by it, the others go on alone."""
        start = 0
        while start < len(units):
            if stop is not None and stop.is_set():
                return
            done = self._applier.apply_batch(group, units[start:])
            if done:
                start += done
                report.applied += done * len(group)
                continue
            unit = units[start]
            held = [s for s in group if not self._apply(s, unit, report)]
            start += 1
            if held:
                report.blocked = True
                for subscription in group:
                    if subscription not in held:
                        self._run_subscription(subscription, units[start:], report, stop)
                return

    def _run_subscription(
        self,
        subscription: Subscription,
        units: list[Unit],
        report: RoundReport,
        stop: threading.Event | None,
    ) -> None:
        for unit in units:
            if stop is not None and stop.is_set():
                return
            if not self._apply(subscription, unit, report):
                report.blocked = True
                return

    def _read_units(self, checkpoint: LogCheckpoint) -> tuple[list[Unit], bool]:
        return read_units(self._log, checkpoint, self._batch)

    def _apply(self, subscription: Subscription, unit: Unit, report: RoundReport) -> bool:
        """True when the projection may go on to the next unit."""
        try:
            outcome = self._applier.apply(subscription, unit)
        except DependencyUnavailable:
            raise
        except Exception as exc:
            return self._failed(subscription, unit, exc, report)
        if outcome is UnitOutcome.BUSY:
            return False
        report.applied += 1
        return True

    def _failed(
        self, subscription: Subscription, unit: Unit, exc: Exception, report: RoundReport
    ) -> bool:
        error = f"{type(exc).__name__}: {exc}"
        failure = self._applier.fail(subscription, unit, error, self._retry)
        if failure is None:
            return False  # another worker applied it meanwhile: read again
        what = f"{unit.event_type} {unit.commit_id or unit.first.event_id} of {unit.db_name!r}"
        if failure.parked:
            report.parked += 1
            log.error(
                "projection %s parked %s as dead letter %s after %d attempts: %s",
                subscription.handler,
                what,
                failure.letter_id,
                failure.attempts,
                error,
                exc_info=exc,
            )
            return True
        report.failed += 1
        log.warning(
            "projection %s failed on %s (attempt %d), retrying in %.2f s: %s",
            subscription.handler,
            what,
            failure.attempts,
            self._retry.delay(failure.attempts),
            error,
        )
        return False
