"""The ProcessedEventRegistry port: leases on events and applied seqs per aggregate, in SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    or_,
    select,
    text,
    update,
)

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.dialect import insert_for
from spice_harvester.adapters.sql.tables import aggregate_versions, processed_events
from spice_harvester.domain.errors import LeaseLost
from spice_harvester.ports.registry import Claim, ClaimOutcome

MAX_ERROR_LENGTH: Final = 4000
PROCESSING: Final = "processing"
DONE: Final = "done"
FAILED: Final = "failed"
PARKED: Final = "parked"  # given up after too many failures: only an operator retries it
_CHUNK: Final = 500

_p = processed_events.c
_a = aggregate_versions.c
# Seconds since the epoch on the database server's clock: every process, on any host, then
# judges a lease against the same clock. SQLite's 'now' has millisecond resolution.
_NOW: Final = {
    "postgresql": text("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS double precision)"),
    "sqlite": text("SELECT (julianday('now') - 2440587.5) * 86400.0"),
}


class SqlRegistry:
    """Every decision is a single conditional statement inside a write transaction.

    A claim first tries INSERT ... ON CONFLICT DO NOTHING (only one inserter can win; on
    PostgreSQL a second one waits for the first to commit and then does nothing), then an
    UPDATE whose WHERE clause is the whole "may I take it" rule. PostgreSQL re-checks that
    WHERE clause against the newest row version after waiting for a concurrent updater, even
    under READ COMMITTED, so two claimers can never both match; SQLite runs the transactions
    one at a time (BEGIN IMMEDIATE). Heartbeat, done and failed are UPDATEs guarded by
    owner and status, so an owner whose lease was taken over changes nothing.
    """

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def claim(self, handler: str, event_id: str, owner: str, lease_seconds: float) -> Claim:
        with self._db.transaction() as connection:
            return claim_on(connection, handler, event_id, owner, lease_seconds)

    def heartbeat(self, handler: str, event_id: str, owner: str, lease_seconds: float) -> float:
        _check_positive("lease_seconds", lease_seconds)
        with self._db.transaction() as connection:
            now = _now(connection)
            lease_until = now + lease_seconds
            extended = connection.execute(
                update(processed_events)
                .where(_key(handler, event_id), _owned_by(owner))
                .values(lease_until=lease_until, updated_at=now)
            ).rowcount
            if extended != 1:
                raise _lease_lost(handler, event_id, owner)
        return lease_until

    def mark_done(
        self,
        handler: str,
        event_id: str,
        owner: str,
        *,
        aggregate_key: str | None = None,
        seq: int | None = None,
    ) -> None:
        with self._db.transaction() as connection:
            mark_done_on(connection, handler, event_id, owner, aggregate_key=aggregate_key, seq=seq)

    def mark_failed(
        self, handler: str, event_id: str, owner: str, error: str, retry_in: float
    ) -> int:
        with self._db.transaction() as connection:
            return mark_failed_on(connection, handler, event_id, owner, error, retry_in)

    def status(self, handler: str, event_id: str) -> dict[str, Any] | None:
        with self._db.read() as connection:
            row = connection.execute(
                select(processed_events).where(_key(handler, event_id))
            ).one_or_none()
        return None if row is None else dict(row._mapping)

    def last_seq(self, handler: str, aggregate_key: str) -> int:
        with self._db.read() as connection:
            return last_seq_on(connection, handler, aggregate_key)

    def is_stale(self, handler: str, aggregate_key: str, seq: int) -> bool:
        return seq <= self.last_seq(handler, aggregate_key)


# -- the same decisions inside a caller's transaction ---------------------------------
# A consumer whose effect lives in this database (a projection) claims, applies and marks
# done in one transaction, so the effect and the mark commit together or not at all.


def claim_on(
    connection: Connection, handler: str, event_id: str, owner: str, lease_seconds: float
) -> Claim:
    """Takes the event for `owner` in the caller's write transaction (see SqlRegistry.claim)."""
    _check_positive("lease_seconds", lease_seconds)
    now = _now(connection)
    lease_until = now + lease_seconds
    if _insert_new(connection, handler, event_id, owner, lease_until, now):
        return Claim(ClaimOutcome.CLAIMED, 1, owner, lease_until)
    taken = connection.execute(
        update(processed_events)
        .where(_key(handler, event_id), _claimable(owner, now))
        .values(
            status=PROCESSING,
            owner=owner,
            lease_until=lease_until,
            # Refreshing one's own live lease is the same attempt; anything else (a
            # take-over, a retry) is a new one.
            attempts=case((_live_lease_of(owner, now), _p.attempts), else_=_p.attempts + 1),
            retry_at=None,
            updated_at=now,
        )
        .returning(_p.attempts)
    ).first()
    if taken is not None:
        return Claim(ClaimOutcome.CLAIMED, int(taken.attempts), owner, lease_until)
    row = connection.execute(
        select(_p.status, _p.attempts, _p.owner, _p.lease_until).where(_key(handler, event_id))
    ).one()
    return Claim(_settled(row.status), int(row.attempts), row.owner, row.lease_until)


def claim_many_on(
    connection: Connection,
    handler: str,
    event_ids: Sequence[str],
    owner: str,
    lease_seconds: float,
    *,
    now: float | None = None,
) -> dict[str, Claim]:
    """`claim_on` for many events at once, a few statements per 500 events: new events are
    inserted together, the rest go through the same guarded UPDATE. `now` (from
    `database_now`) saves a round trip when the caller has it."""
    _check_positive("lease_seconds", lease_seconds)
    now = _now(connection) if now is None else now
    lease_until = now + lease_seconds
    claims: dict[str, Claim] = {}
    unique = list(dict.fromkeys(event_ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        # One prepared statement for every row (executemany with RETURNING), so SQLAlchemy
        # compiles it once rather than a statement with thousands of parameters each time.
        inserted = connection.execute(
            insert_for(connection, processed_events)
            .on_conflict_do_nothing(index_elements=[_p.handler, _p.event_id])
            .returning(_p.event_id),
            [
                {
                    "handler": handler,
                    "event_id": event_id,
                    "status": PROCESSING,
                    "owner": owner,
                    "lease_until": lease_until,
                    "attempts": 1,
                    "updated_at": now,
                }
                for event_id in chunk
            ],
        ).all()
        for row in inserted:
            claims[row.event_id] = Claim(ClaimOutcome.CLAIMED, 1, owner, lease_until)
        rest = [event_id for event_id in chunk if event_id not in claims]
        if not rest:
            continue
        taken = connection.execute(
            update(processed_events)
            .where(_p.handler == handler, _p.event_id.in_(rest), _claimable(owner, now))
            .values(
                status=PROCESSING,
                owner=owner,
                lease_until=lease_until,
                attempts=case((_live_lease_of(owner, now), _p.attempts), else_=_p.attempts + 1),
                retry_at=None,
                updated_at=now,
            )
            .returning(_p.event_id, _p.attempts)
        ).all()
        for row in taken:
            claims[row.event_id] = Claim(
                ClaimOutcome.CLAIMED, int(row.attempts), owner, lease_until
            )
        others = [event_id for event_id in rest if event_id not in claims]
        if not others:
            continue
        rows = connection.execute(
            select(_p.event_id, _p.status, _p.attempts, _p.owner, _p.lease_until).where(
                _p.handler == handler, _p.event_id.in_(others)
            )
        )
        for row in rows:
            claims[row.event_id] = Claim(
                _settled(row.status), int(row.attempts), row.owner, row.lease_until
            )
    return claims


def mark_done_many_on(
    connection: Connection,
    handler: str,
    event_ids: Sequence[str],
    owner: str,
    *,
    now: float | None = None,
) -> None:
    """`mark_done_on` for many events: LeaseLost unless `owner` holds every one of them."""
    now = _now(connection) if now is None else now
    unique = list(dict.fromkeys(event_ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        finished = connection.execute(
            update(processed_events)
            .where(_p.handler == handler, _p.event_id.in_(chunk), _owned_by(owner))
            .values(status=DONE, lease_until=None, retry_at=None, updated_at=now)
        ).rowcount
        if finished != len(chunk):
            raise _lease_lost(handler, chunk[0], owner)


def mark_done_on(
    connection: Connection,
    handler: str,
    event_id: str,
    owner: str,
    *,
    aggregate_key: str | None = None,
    seq: int | None = None,
) -> None:
    """Records success (and the aggregate's seq); LeaseLost, which the caller must let roll
    its transaction back, if `owner` no longer holds the event."""
    if (aggregate_key is None) != (seq is None):
        raise ValueError("aggregate_key and seq go together: give both or neither")
    now = _now(connection)
    finished = connection.execute(
        update(processed_events)
        .where(_key(handler, event_id), _owned_by(owner))
        .values(status=DONE, lease_until=None, retry_at=None, updated_at=now)
    ).rowcount
    if finished != 1:
        raise _lease_lost(handler, event_id, owner)
    if aggregate_key is not None and seq is not None:
        record_seq_on(connection, handler, aggregate_key, seq)


def mark_failed_on(
    connection: Connection, handler: str, event_id: str, owner: str, error: str, retry_in: float
) -> int:
    """Records a failure (claimable again after `retry_in` s); returns the attempts so far."""
    if retry_in < 0:
        raise ValueError(f"retry_in must be 0 or more, got {retry_in}")
    now = _now(connection)
    failed = connection.execute(
        update(processed_events)
        .where(_key(handler, event_id), _owned_by(owner))
        .values(
            status=FAILED,
            owner=None,
            lease_until=None,
            last_error=error[:MAX_ERROR_LENGTH],
            retry_at=now + retry_in,
            updated_at=now,
        )
        .returning(_p.attempts)
    ).first()
    if failed is None:
        raise _lease_lost(handler, event_id, owner)
    return int(failed.attempts)


def mark_failed_many_on(
    connection: Connection,
    handler: str,
    event_ids: Sequence[str],
    owner: str,
    error: str,
    retry_in: float,
) -> None:
    """`mark_failed_on` for many events (all held by `owner`)."""
    if retry_in < 0:
        raise ValueError(f"retry_in must be 0 or more, got {retry_in}")
    now = _now(connection)
    _settle_many(
        connection,
        handler,
        event_ids,
        owner,
        {
            "status": FAILED,
            "owner": None,
            "lease_until": None,
            "last_error": error[:MAX_ERROR_LENGTH],
            "retry_at": now + retry_in,
            "updated_at": now,
        },
    )


def park_many_on(
    connection: Connection, handler: str, event_ids: Sequence[str], owner: str, error: str
) -> None:
    """Gives the events up: no claim takes a parked event until `unpark_on` releases it."""
    _settle_many(
        connection,
        handler,
        event_ids,
        owner,
        {
            "status": PARKED,
            "owner": None,
            "lease_until": None,
            "last_error": error[:MAX_ERROR_LENGTH],
            "retry_at": None,
            "updated_at": _now(connection),
        },
    )


def _settle_many(
    connection: Connection,
    handler: str,
    event_ids: Sequence[str],
    owner: str,
    values: dict[str, Any],
) -> None:
    unique = list(dict.fromkeys(event_ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        changed = connection.execute(
            update(processed_events)
            .where(_p.handler == handler, _p.event_id.in_(chunk), _owned_by(owner))
            .values(values)
        ).rowcount
        if changed != len(chunk):
            raise _lease_lost(handler, chunk[0], owner)


def unpark_on(connection: Connection, handler: str, event_ids: Sequence[str]) -> None:
    """Makes parked events claimable at once (an operator's retry)."""
    now = _now(connection)
    for start in range(0, len(event_ids), _CHUNK):
        connection.execute(
            update(processed_events)
            .where(
                _p.handler == handler,
                _p.event_id.in_(event_ids[start : start + _CHUNK]),
                _p.status == PARKED,
            )
            .values(status=FAILED, retry_at=now, updated_at=now)
        )


def record_seq_on(
    connection: Connection, handler: str, aggregate_key: str, seq: int, *, exact: bool = False
) -> None:
    """Records the aggregate's applied seq: the highest seen, or exactly `seq` when the
    aggregate moved to another line of history (a branch reset makes seqs go down)."""
    record_seqs_on(connection, handler, {aggregate_key: seq}, exact=exact)


def record_seqs_on(
    connection: Connection,
    handler: str,
    seqs: Mapping[str, int],
    *,
    exact: bool = False,
    now: float | None = None,
) -> None:
    """`record_seq_on` for many aggregates, in one executemany."""
    if not seqs:
        return
    now = _now(connection) if now is None else now
    statement = insert_for(connection, aggregate_versions)
    # CASE rather than GREATEST/max(): the same expression works on both engines, and an
    # event applied out of order never moves the recorded seq backwards.
    highest = case(
        (statement.excluded.last_seq > _a.last_seq, statement.excluded.last_seq),
        else_=_a.last_seq,
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[_a.handler, _a.aggregate_key],
            set_={
                "last_seq": statement.excluded.last_seq if exact else highest,
                "updated_at": statement.excluded.updated_at,
            },
        ),
        [
            {"handler": handler, "aggregate_key": key, "last_seq": seq, "updated_at": now}
            for key, seq in sorted(seqs.items())
        ],
    )


def last_seq_on(connection: Connection, handler: str, aggregate_key: str) -> int:
    found = connection.execute(
        select(_a.last_seq).where(_a.handler == handler, _a.aggregate_key == aggregate_key)
    ).scalar()
    return int(found) if found is not None else 0


def database_now(connection: Connection) -> float:
    """Seconds since the epoch on the database's clock (what leases are judged by)."""
    return _now(connection)


def _settled(status: str) -> ClaimOutcome:
    """What an event that could not be claimed is."""
    if status == DONE:
        return ClaimOutcome.DONE
    return ClaimOutcome.PARKED if status == PARKED else ClaimOutcome.BUSY


def _now(connection: Connection) -> float:
    return float(connection.execute(_NOW[connection.dialect.name]).scalar_one())


def _key(handler: str, event_id: str) -> ColumnElement[bool]:
    return and_(_p.handler == handler, _p.event_id == event_id)


def _live_lease_of(owner: str, now: float) -> ColumnElement[bool]:
    return and_(_p.status == PROCESSING, _p.owner == owner, _p.lease_until > now)


def _claimable(owner: str, now: float) -> ColumnElement[bool]:
    return or_(
        and_(_p.status == PROCESSING, or_(_p.lease_until <= now, _p.owner == owner)),
        and_(_p.status == FAILED, _p.retry_at <= now),
    )


def _owned_by(owner: str) -> ColumnElement[bool]:
    # An expired lease nobody has taken over still belongs to its owner: only a take-over
    # (which changes `owner`) or a recorded outcome (which changes `status`) ends it.
    return and_(_p.owner == owner, _p.status == PROCESSING)


def _insert_new(
    connection: Connection,
    handler: str,
    event_id: str,
    owner: str,
    lease_until: float,
    now: float,
) -> bool:
    # ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a
    # failed INSERT poisons the transaction, and the UPDATE still has to run in it.
    statement = (
        insert_for(connection, processed_events)
        .values(
            handler=handler,
            event_id=event_id,
            status=PROCESSING,
            owner=owner,
            lease_until=lease_until,
            attempts=1,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[_p.handler, _p.event_id])
        .returning(_p.handler)
    )
    return connection.execute(statement).first() is not None


def _lease_lost(handler: str, event_id: str, owner: str) -> LeaseLost:
    return LeaseLost(
        f"{owner} no longer holds {event_id} for {handler}",
        data={"handler": handler, "event_id": event_id, "owner": owner},
    )


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be more than 0, got {value}")
