"""The EventLog port on the events table: committed events in an order consumers can trust."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Label, Row, Select, func, literal_column, select, text

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import events
from spice_harvester.ports.registry import LogCheckpoint, StoredEvent

_c = events.c
# The writer's transaction id as text, so it reaches Python as digits whatever the driver
# makes of xid8.
_TXID_TEXT: Final[Label[str]] = literal_column("CAST(events.txid AS text)").label("tx_order")
# Only transactions that can no longer commit: every transaction whose id is below the
# snapshot's xmin has ended, so its events are either visible in this snapshot or never will be.
_BELOW_RUNNING: Final = text("events.txid < pg_snapshot_xmin(pg_current_snapshot())")
# PostgreSQL has no cast from bigint to xid8, only xid8's text input.
_AFTER_CHECKPOINT: Final = (
    "(events.txid, events.position) > (CAST(CAST(:tx AS text) AS xid8), :pos)"
)


class SqlEventLog:
    """Reads the events table in an order no later commit can slip behind.

    SQLite serialises writers (BEGIN IMMEDIATE), so positions become visible in position
    order and the position alone is the checkpoint.

    PostgreSQL hands out positions from a sequence when a row is inserted but makes them
    visible when the transaction commits, so a transaction that took position 5 can commit
    after another one that took position 6. Reading by position would let a consumer pass 6
    and then never see 5. Instead the log is ordered by (txid, position) and each read stops
    below xmin, the oldest transaction still running when the read's snapshot was taken:

    - every transaction with txid < xmin has ended, so the read sees all of its events or
      (if it rolled back) none will ever exist: nothing can appear later at or below a
      returned (txid, position);
    - a late committer, one that took a lower position but was still running at read time,
      has txid >= xmin, so it is not returned now and sorts after the checkpoint;
    - every transaction that starts writing later gets a txid above every id assigned so far,
      so above each returned txid too.

    The cost: one long-running writing transaction (in any database of the cluster, since
    transaction ids are cluster-wide) holds every consumer back until it ends.
    """

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._postgres = db.engine_name == "postgresql"

    def read_after(self, checkpoint: LogCheckpoint, limit: int = 1000) -> list[StoredEvent]:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        query = _postgres_query(checkpoint) if self._postgres else _sqlite_query(checkpoint)
        # read() is a fresh transaction and this is its first query, so on PostgreSQL the
        # snapshot (and the xmin it reports) is taken right here, not earlier.
        with self._db.read() as connection:
            rows = connection.execute(query.limit(limit)).all()
        return [event_of(row) for row in rows]

    def read_events(self, db_id: int, event_ids: Sequence[str]) -> list[StoredEvent]:
        """The named events of one database, in log order (for a dead letter's retry)."""
        tx_order = _TXID_TEXT if self._postgres else literal_column("0").label("tx_order")
        found: list[StoredEvent] = []
        with self._db.read() as connection:
            for start in range(0, len(event_ids), 500):
                rows = connection.execute(
                    select(events, tx_order).where(
                        _c.db_id == db_id, _c.event_id.in_(event_ids[start : start + 500])
                    )
                )
                found += [event_of(row) for row in rows]
        found.sort(key=lambda event: event.checkpoint)
        return found

    def read_unit(self, first: LogCheckpoint, last: LogCheckpoint) -> list[StoredEvent]:
        """The events from `first` to `last` inclusive, both of one transaction (a unit as
        the relay published it), in log order."""
        if first.tx_order != last.tx_order or first.position > last.position:
            raise ValueError(f"not one transaction's span: {first} .. {last}")
        span = _c.position.between(first.position, last.position)
        if self._postgres:
            same_tx = text("events.txid = CAST(CAST(:tx AS text) AS xid8)").bindparams(
                tx=first.tx_order
            )
            query = select(events, _TXID_TEXT).where(same_tx, span)
        else:
            query = select(events, literal_column("0").label("tx_order")).where(span)
        with self._db.read() as connection:
            rows = connection.execute(query.order_by(_c.position)).all()
        return [event_of(row) for row in rows]

    def count_after(self, checkpoint: LogCheckpoint) -> int:
        """How many committed events lie after `checkpoint` (a consumer's lag)."""
        query = _postgres_query(checkpoint) if self._postgres else _sqlite_query(checkpoint)
        with self._db.read() as connection:
            counted = connection.execute(
                select(func.count()).select_from(query.order_by(None).subquery())
            ).scalar_one()
        return int(counted)

    def last_position(self) -> int:
        with self._db.read() as connection:
            found = connection.execute(select(func.max(_c.position))).scalar()
        return int(found) if found is not None else 0


def _postgres_query(checkpoint: LogCheckpoint) -> Select[Any]:
    after = text(_AFTER_CHECKPOINT).bindparams(tx=checkpoint.tx_order, pos=checkpoint.position)
    return (
        select(events, _TXID_TEXT)
        .where(_BELOW_RUNNING, after)
        .order_by(text("events.txid"), _c.position)
    )


def _sqlite_query(checkpoint: LogCheckpoint) -> Select[Any]:
    # tx_order is always 0 here; a checkpoint carried over from PostgreSQL would be
    # meaningless anyway, so only the position counts.
    return (
        select(events, literal_column("0").label("tx_order"))
        .where(_c.position > checkpoint.position)
        .order_by(_c.position)
    )


def event_of(row: Row[Any]) -> StoredEvent:
    """A StoredEvent from a row of `events` with a `tx_order` column."""
    return StoredEvent(
        checkpoint=LogCheckpoint(int(row.tx_order), int(row.position)),
        event_id=row.event_id,
        db_id=int(row.db_id),
        db_name=row.db_name,
        commit_id=row.commit_id,
        branch=row.branch,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        class_id=row.class_id,
        seq=int(row.seq),
        event_type=row.event_type,
        payload=row.payload,
        actor=row.actor,
        occurred_at=row.occurred_at,
    )
