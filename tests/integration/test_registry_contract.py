"""The ProcessedEventRegistry contract on every engine: claims, leases, failures, seqs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.registry import MAX_ERROR_LENGTH, SqlRegistry
from spice_harvester.adapters.sql.tables import aggregate_versions
from spice_harvester.domain.errors import LeaseLost
from spice_harvester.ports.registry import Claim, ClaimOutcome, ProcessedEventRegistry

HANDLER = "projector"
EVENT = "event-1"
LEASE = 30.0
SHORT_LEASE = 0.2
PAST_SHORT_LEASE = 0.3
THREADS = 8
# Races are won by timing: several rounds make a lucky pass of a racy claim unlikely.
ROUND_EVENTS = [f"race-{n}" for n in range(10)]
# The database's clock and this process's clock are the same host's clock here.
CLOCK_SLACK = 5.0

CLAIMED = ClaimOutcome.CLAIMED
BUSY = ClaimOutcome.BUSY
DONE = ClaimOutcome.DONE


@pytest.fixture
def registry(migrated: SqlDatabase) -> SqlRegistry:
    return SqlRegistry(migrated)


def _aggregate_rows(db: SqlDatabase) -> list[tuple[str, str, int]]:
    query = select(
        aggregate_versions.c.handler,
        aggregate_versions.c.aggregate_key,
        aggregate_versions.c.last_seq,
    )
    with db.read() as connection:
        return [
            tuple(row)
            for row in connection.execute(query.order_by(aggregate_versions.c.aggregate_key))
        ]


def test_the_adapter_satisfies_the_registry_port(registry: SqlRegistry) -> None:
    port: ProcessedEventRegistry = registry
    assert port.status(HANDLER, EVENT) is None
    assert port.last_seq(HANDLER, "Person/1") == 0


def test_claiming_a_new_event_takes_it_for_the_lease(registry: SqlRegistry) -> None:
    before = time.time()
    claim = registry.claim(HANDLER, EVENT, "a", LEASE)
    assert (claim.outcome, claim.attempts, claim.owner) == (CLAIMED, 1, "a")
    assert claim.lease_until is not None
    assert before + LEASE - CLOCK_SLACK < claim.lease_until < time.time() + LEASE + CLOCK_SLACK
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert (status["status"], status["owner"], status["attempts"]) == ("processing", "a", 1)
    assert status["lease_until"] == pytest.approx(claim.lease_until)


def test_another_owner_is_busy_while_the_lease_lives(registry: SqlRegistry) -> None:
    first = registry.claim(HANDLER, EVENT, "a", LEASE)
    second = registry.claim(HANDLER, EVENT, "b", LEASE)
    assert second == Claim(BUSY, 1, "a", second.lease_until)
    assert second.lease_until == pytest.approx(first.lease_until)
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert status["owner"] == "a"


def test_the_owner_claiming_again_refreshes_its_lease_in_the_same_attempt(
    registry: SqlRegistry,
) -> None:
    first = registry.claim(HANDLER, EVENT, "a", 10.0)
    again = registry.claim(HANDLER, EVENT, "a", LEASE)
    assert (again.outcome, again.attempts, again.owner) == (CLAIMED, 1, "a")
    assert first.lease_until is not None
    assert again.lease_until is not None
    assert again.lease_until > first.lease_until + 15


def test_a_done_event_is_done_for_everyone(registry: SqlRegistry) -> None:
    registry.claim(HANDLER, EVENT, "a", LEASE)
    registry.mark_done(HANDLER, EVENT, "a")
    for owner in ("a", "b"):
        claim = registry.claim(HANDLER, EVENT, owner, LEASE)
        assert (claim.outcome, claim.attempts, claim.owner) == (DONE, 1, "a")
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert (status["status"], status["lease_until"]) == ("done", None)


def test_handlers_keep_separate_claims_on_the_same_event(registry: SqlRegistry) -> None:
    assert registry.claim("projector", EVENT, "a", LEASE).outcome is CLAIMED
    assert registry.claim("indexer", EVENT, "b", LEASE).outcome is CLAIMED
    registry.mark_done("projector", EVENT, "a")
    assert registry.claim("indexer", EVENT, "c", LEASE).outcome is BUSY


def test_a_heartbeat_extends_the_owners_lease(registry: SqlRegistry) -> None:
    claim = registry.claim(HANDLER, EVENT, "a", 10.0)
    assert claim.lease_until is not None
    extended = registry.heartbeat(HANDLER, EVENT, "a", LEASE)
    assert extended > claim.lease_until + 15
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert status["lease_until"] == pytest.approx(extended)
    assert status["attempts"] == 1


def test_a_heartbeat_by_anyone_else_raises_lease_lost_and_changes_nothing(
    registry: SqlRegistry,
) -> None:
    registry.claim(HANDLER, EVENT, "a", LEASE)
    before = registry.status(HANDLER, EVENT)
    with pytest.raises(LeaseLost) as caught:
        registry.heartbeat(HANDLER, EVENT, "b", LEASE)
    assert caught.value.data == {"handler": HANDLER, "event_id": EVENT, "owner": "b"}
    with pytest.raises(LeaseLost):
        registry.heartbeat(HANDLER, "never-claimed", "a", LEASE)
    assert registry.status(HANDLER, EVENT) == before


def test_an_expired_lease_is_taken_over_and_the_old_owner_can_record_nothing(
    migrated: SqlDatabase, registry: SqlRegistry
) -> None:
    registry.claim(HANDLER, "earlier", "a", LEASE)
    registry.mark_done(HANDLER, "earlier", "a", aggregate_key="Person/1", seq=1)
    registry.claim(HANDLER, EVENT, "a", SHORT_LEASE)
    assert registry.claim(HANDLER, EVENT, "b", LEASE).outcome is BUSY
    time.sleep(PAST_SHORT_LEASE)
    taken = registry.claim(HANDLER, EVENT, "b", LEASE)
    assert (taken.outcome, taken.attempts, taken.owner) == (CLAIMED, 2, "b")
    held_by_b = registry.status(HANDLER, EVENT)

    with pytest.raises(LeaseLost):
        registry.mark_done(HANDLER, EVENT, "a", aggregate_key="Person/1", seq=2)
    with pytest.raises(LeaseLost):
        registry.heartbeat(HANDLER, EVENT, "a", LEASE)
    with pytest.raises(LeaseLost):
        registry.mark_failed(HANDLER, EVENT, "a", "too late", retry_in=0)
    assert registry.status(HANDLER, EVENT) == held_by_b
    assert _aggregate_rows(migrated) == [(HANDLER, "Person/1", 1)]

    registry.mark_done(HANDLER, EVENT, "b", aggregate_key="Person/1", seq=2)
    assert _aggregate_rows(migrated) == [(HANDLER, "Person/1", 2)]


def test_an_expired_lease_nobody_took_over_still_belongs_to_its_owner(
    registry: SqlRegistry,
) -> None:
    registry.claim(HANDLER, EVENT, "a", SHORT_LEASE)
    time.sleep(PAST_SHORT_LEASE)
    registry.heartbeat(HANDLER, EVENT, "a", LEASE)
    assert registry.claim(HANDLER, EVENT, "b", LEASE).outcome is BUSY
    registry.mark_done(HANDLER, EVENT, "a")
    assert registry.claim(HANDLER, EVENT, "b", LEASE).outcome is DONE


def test_marking_done_an_event_never_claimed_raises_lease_lost(
    migrated: SqlDatabase, registry: SqlRegistry
) -> None:
    with pytest.raises(LeaseLost):
        registry.mark_done(HANDLER, EVENT, "a", aggregate_key="Person/1", seq=5)
    assert registry.status(HANDLER, EVENT) is None
    assert _aggregate_rows(migrated) == []


def test_an_aggregate_key_without_a_seq_is_refused(registry: SqlRegistry) -> None:
    registry.claim(HANDLER, EVENT, "a", LEASE)
    with pytest.raises(ValueError, match="both"):
        registry.mark_done(HANDLER, EVENT, "a", aggregate_key="Person/1")
    with pytest.raises(ValueError, match="both"):
        registry.mark_done(HANDLER, EVENT, "a", seq=3)
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert status["status"] == "processing"


def test_a_failure_waits_for_its_retry_time_then_counts_another_attempt(
    registry: SqlRegistry,
) -> None:
    registry.claim(HANDLER, EVENT, "a", LEASE)
    attempts = registry.mark_failed(HANDLER, EVENT, "a", "boom: ünïcode ✗", retry_in=SHORT_LEASE)
    assert attempts == 1
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert (status["status"], status["owner"], status["lease_until"]) == ("failed", None, None)
    assert status["last_error"] == "boom: ünïcode ✗"
    for owner in ("a", "b"):
        waiting = registry.claim(HANDLER, EVENT, owner, LEASE)
        assert (waiting.outcome, waiting.attempts, waiting.owner) == (BUSY, 1, None)
    with pytest.raises(LeaseLost):
        registry.mark_done(HANDLER, EVENT, "a")

    time.sleep(PAST_SHORT_LEASE)
    retried = registry.claim(HANDLER, EVENT, "b", LEASE)
    assert (retried.outcome, retried.attempts, retried.owner) == (CLAIMED, 2, "b")
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert (status["status"], status["retry_at"]) == ("processing", None)
    assert status["last_error"] == "boom: ünïcode ✗"
    assert registry.mark_failed(HANDLER, EVENT, "b", "again", retry_in=0) == 2
    assert registry.claim(HANDLER, EVENT, "c", LEASE).attempts == 3


def test_a_long_error_is_cut_to_the_stored_limit(registry: SqlRegistry) -> None:
    registry.claim(HANDLER, EVENT, "a", LEASE)
    registry.mark_failed(HANDLER, EVENT, "a", "x" * (MAX_ERROR_LENGTH + 500), retry_in=60)
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert status["last_error"] == "x" * MAX_ERROR_LENGTH


def test_the_aggregate_keeps_its_highest_seq_and_lower_or_equal_ones_are_stale(
    migrated: SqlDatabase, registry: SqlRegistry
) -> None:
    for event_id, seq in (("e5", 5), ("e3", 3), ("e4", 4)):
        registry.claim(HANDLER, event_id, "a", LEASE)
        registry.mark_done(HANDLER, event_id, "a", aggregate_key="Person/1", seq=seq)
    assert registry.last_seq(HANDLER, "Person/1") == 5
    assert registry.is_stale(HANDLER, "Person/1", 4)
    assert registry.is_stale(HANDLER, "Person/1", 5)
    assert not registry.is_stale(HANDLER, "Person/1", 6)
    # Per handler and per aggregate: nothing else moved.
    assert registry.last_seq("indexer", "Person/1") == 0
    assert not registry.is_stale(HANDLER, "Person/2", 1)
    assert _aggregate_rows(migrated) == [(HANDLER, "Person/1", 5)]


def test_bad_lease_and_retry_times_are_refused(registry: SqlRegistry) -> None:
    with pytest.raises(ValueError, match="lease_seconds"):
        registry.claim(HANDLER, EVENT, "a", 0)
    assert registry.status(HANDLER, EVENT) is None
    registry.claim(HANDLER, EVENT, "a", LEASE)
    with pytest.raises(ValueError, match="lease_seconds"):
        registry.heartbeat(HANDLER, EVENT, "a", -1)
    with pytest.raises(ValueError, match="retry_in"):
        registry.mark_failed(HANDLER, EVENT, "a", "boom", retry_in=-1)


def _claim_at_once(registry: SqlRegistry, lease: float) -> dict[str, list[Claim]]:
    """Every thread claims each of the ROUNDS events, all threads at once per event."""
    start = Barrier(THREADS, timeout=10)

    def claim_each(owner: str) -> list[Claim]:
        claims = []
        for event_id in ROUND_EVENTS:
            start.wait()
            claims.append(registry.claim(HANDLER, event_id, owner, lease))
        return claims

    with ThreadPoolExecutor(THREADS) as pool:
        per_thread = list(pool.map(claim_each, [f"worker-{n}" for n in range(THREADS)]))
    return {
        event_id: [claims[n] for claims in per_thread] for n, event_id in enumerate(ROUND_EVENTS)
    }


def _the_one_winner(registry: SqlRegistry, event_id: str, claims: list[Claim]) -> Claim:
    winners = [claim for claim in claims if claim.outcome is CLAIMED]
    assert len(winners) == 1, f"{event_id}: {claims}"
    assert all(claim.outcome is BUSY for claim in claims if claim is not winners[0])
    status = registry.status(HANDLER, event_id)
    assert status is not None
    assert (status["owner"], status["attempts"]) == (winners[0].owner, winners[0].attempts)
    return winners[0]


def test_threads_claiming_a_new_event_at_once_give_it_to_exactly_one(
    registry: SqlRegistry,
) -> None:
    for event_id, claims in _claim_at_once(registry, LEASE).items():
        assert _the_one_winner(registry, event_id, claims).attempts == 1


def test_threads_taking_over_an_expired_lease_at_once_give_it_to_exactly_one(
    registry: SqlRegistry,
) -> None:
    for event_id in ROUND_EVENTS:
        registry.claim(HANDLER, event_id, "crashed", SHORT_LEASE)
    time.sleep(PAST_SHORT_LEASE)
    for event_id, claims in _claim_at_once(registry, LEASE).items():
        assert _the_one_winner(registry, event_id, claims).attempts == 2
