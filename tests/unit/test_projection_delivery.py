"""The delivery loop's decisions, over an in-memory log and applier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from spice_harvester.application.projections.delivery import (
    Delivery,
    Failure,
    Subscription,
    UnitOutcome,
)
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.application.projections.units import Unit
from spice_harvester.domain.errors import DependencyUnavailable
from spice_harvester.ports.registry import LogCheckpoint, StoredEvent
from tests.unit.test_projection_units import event


class ListLog:
    def __init__(self, events: list[StoredEvent]) -> None:
        self.events = events
        self.reads: list[int] = []

    def read_after(self, checkpoint: LogCheckpoint, limit: int = 1000) -> list[StoredEvent]:
        self.reads.append(checkpoint.position)
        return [e for e in self.events if e.checkpoint > checkpoint][:limit]

    def read_unit(self, first: LogCheckpoint, last: LogCheckpoint) -> list[StoredEvent]:
        return [e for e in self.events if first <= e.checkpoint <= last]

    def last_position(self) -> int:
        return len(self.events)


@dataclass
class Recorder:
    """Applies by moving its checkpoint; scripted outcomes per commit id."""

    script: dict[str, list[UnitOutcome | Exception]] = field(default_factory=dict)
    checkpoint: LogCheckpoint = field(default_factory=LogCheckpoint.start)
    applied: list[list[int]] = field(default_factory=list)
    failures: list[tuple[str, int]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    batches: list[list[str]] = field(default_factory=list)
    batching: bool = False

    def subscriptions(self) -> list[Subscription]:
        return [Subscription("search", 1, "serving", self.checkpoint)]

    def apply(self, subscription: Subscription, unit: Unit) -> UnitOutcome:
        steps = self.script.get(unit.commit_id or "", [])
        step = steps.pop(0) if steps else UnitOutcome.APPLIED
        if isinstance(step, Exception):
            raise step
        if step is not UnitOutcome.BUSY:
            self.applied.append([e.position for e in unit.events])
            self.checkpoint = unit.checkpoint
        return step

    def apply_batch(self, subscriptions: Sequence[Subscription], units: Sequence[Unit]) -> int:
        """With `batching`, takes units up to the first that has a scripted outcome."""
        taken: list[Unit] = []
        for unit in units if self.batching else ():
            if self.script.get(unit.commit_id or ""):
                break
            taken.append(unit)
        if taken:
            self.batches.append([unit.commit_id or "" for unit in taken])
            self.applied.extend([e.position for e in unit.events] for unit in taken)
            self.checkpoint = taken[-1].checkpoint
        return len(taken)

    def fail(
        self, subscription: Subscription, unit: Unit, error: str, policy: RetryPolicy
    ) -> Failure | None:
        key = unit.commit_id or ""
        self.attempts[key] = self.attempts.get(key, 0) + 1
        self.failures.append((error, self.attempts[key]))
        if policy.exhausted(self.attempts[key]):
            self.checkpoint = unit.checkpoint
            return Failure(self.attempts[key], parked=True, letter_id=1)
        return Failure(self.attempts[key], parked=False)


def test_units_are_applied_in_log_order_and_a_split_commit_waits_for_its_rest() -> None:
    log = ListLog([event(1, commit="a"), event(2, commit="b"), event(3, commit="b")])
    applier = Recorder()
    worker = Delivery(applier, log, batch_size=2)
    first = worker.run_once()
    assert (applier.applied, first.more) == ([[1]], True)
    worker.drain()
    assert applier.applied == [[1], [2, 3]]


def test_units_go_in_batches_and_one_that_cannot_goes_alone_between_them() -> None:
    log = ListLog([event(n, commit=name) for n, name in enumerate("abcde", start=1)])
    applier = Recorder(script={"c": [UnitOutcome.BUSY, UnitOutcome.APPLIED]}, batching=True)
    worker = Delivery(applier, log)
    first = worker.run_once()
    assert (first.blocked, applier.batches, applier.applied) == (True, [["a", "b"]], [[1], [2]])
    worker.drain()
    # `c` went alone once its turn came, then the rest went in a batch again.
    assert applier.batches == [["a", "b"], ["d", "e"]]
    assert applier.applied == [[1], [2], [3], [4], [5]]


def test_a_commit_larger_than_a_batch_is_read_whole() -> None:
    log = ListLog([event(n, commit="big") for n in range(1, 6)])
    applier = Recorder()
    Delivery(applier, log, batch_size=2).drain()
    assert applier.applied == [[1, 2, 3, 4, 5]]
    assert log.reads[:3] == [0, 2, 4]  # each read goes on from where the last one ended


def test_a_busy_unit_holds_its_projection_back_until_a_later_round() -> None:
    log = ListLog([event(1, commit="a"), event(2, commit="b")])
    applier = Recorder(script={"a": [UnitOutcome.BUSY]})
    worker = Delivery(applier, log)
    report = worker.run_once()
    assert (report.blocked, applier.applied) == (True, [])
    worker.drain()
    assert applier.applied == [[1], [2]]


def test_a_failing_unit_is_retried_then_parked_and_the_projection_moves_on() -> None:
    log = ListLog([event(1, commit="a"), event(2, commit="b")])
    applier = Recorder(script={"a": [ValueError("bad"), ValueError("bad"), ValueError("bad")]})
    worker = Delivery(applier, log, retry=RetryPolicy(max_attempts=3))
    reports = [worker.run_once() for _ in range(3)]
    assert [(r.failed, r.parked, r.applied) for r in reports] == [(1, 0, 0), (1, 0, 0), (0, 1, 1)]
    assert applier.failures[0] == ("ValueError: bad", 1)
    assert applier.applied == [[2]]


def test_an_unreachable_database_counts_no_attempt() -> None:
    log = ListLog([event(1, commit="a")])
    applier = Recorder(script={"a": [DependencyUnavailable("database", "down")]})
    worker = Delivery(applier, log)
    with pytest.raises(DependencyUnavailable):
        worker.run_once()
    assert applier.failures == []
    worker.drain()
    assert applier.applied == [[1]]
