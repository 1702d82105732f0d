"""The log between two points, for recompute jobs: where a moment falls in the log, what each
branch's head was there, and how many events lie between two checkpoints.

The log's order is SqlEventLog's: position on SQLite, (txid, position) on PostgreSQL, where
only events below the oldest running transaction (xmin) are settled, so every answer here is
about those. A moment is a log checkpoint through the events' `occurred_at`: the log up to a
moment is its longest prefix whose events all occurred at or before it (an import keeps its
origin's times, so `occurred_at` alone is not monotonic along the log), cut back to the start
of a commit so a commit is never split.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Select,
    TextClause,
    func,
    literal_column,
    or_,
    select,
    text,
)

from spice_harvester.adapters.sql.tables import events
from spice_harvester.application.projections.units import DOC_TYPES, HEAD_MOVES
from spice_harvester.ports.registry import LogCheckpoint

_e = events.c
_TXID: Final[ColumnClause[Any]] = literal_column("events.txid")
_TXID_TEXT: Final[ColumnClause[Any]] = literal_column("CAST(events.txid AS text)")
_SETTLED: Final = text("events.txid < pg_snapshot_xmin(pg_current_snapshot())")
BRANCH_DELETED: Final = "BranchDeleted"


@dataclass(frozen=True)
class BranchHead:
    """A branch's head at a point of the log, from the last event that moved it."""

    db_id: int
    branch: str
    commit_id: str
    checkpoint: LogCheckpoint


def _postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _compare(connection: Connection, op: str, checkpoint: LogCheckpoint, name: str) -> Any:
    """events (op) checkpoint in log order; `name` keeps bind parameters apart."""
    if not _postgres(connection):
        return text(f"events.position {op} :{name}_pos").bindparams(
            **{f"{name}_pos": checkpoint.position}
        )
    clause: TextClause = text(
        f"(events.txid, events.position) {op} (CAST(CAST(:{name}_tx AS text) AS xid8), :{name}_pos)"
    )
    return clause.bindparams(
        **{f"{name}_tx": checkpoint.tx_order, f"{name}_pos": checkpoint.position}
    )


def _columns(connection: Connection) -> list[Any]:
    tx = _TXID_TEXT if _postgres(connection) else literal_column("0")
    return [tx.label("tx_order"), _e.position]


def _ordered(connection: Connection, query: Select[Any], *, descending: bool = False) -> Any:
    postgres = _postgres(connection)
    keys: list[Any] = [_TXID, _e.position] if postgres else [_e.position]
    if descending:
        keys = [key.desc() for key in keys]
    if postgres:
        query = query.where(_SETTLED)
    return query.order_by(*keys)


def _checkpoint(row: Any) -> LogCheckpoint:
    return LogCheckpoint(int(row.tx_order), int(row.position))


def settled_end(connection: Connection) -> LogCheckpoint:
    """The last settled event's checkpoint (the start when the log is empty)."""
    row = connection.execute(
        _ordered(connection, select(*_columns(connection)), descending=True).limit(1)
    ).first()
    return LogCheckpoint.start() if row is None else _checkpoint(row)


def edge_at(connection: Connection, moment: datetime) -> LogCheckpoint:
    """The end of the log up to `moment`: the checkpoint of its last event, the start when
    none is that early. Settled once a later event exists; otherwise the log's end now."""
    first_after = connection.execute(
        _ordered(
            connection,
            select(*_columns(connection), _e.db_id, _e.commit_id, _e.aggregate_type).where(
                _e.occurred_at > moment
            ),
        ).limit(1)
    ).first()
    if first_after is None:
        return settled_end(connection)
    boundary = _checkpoint(first_after)
    if first_after.aggregate_type in DOC_TYPES and first_after.commit_id is not None:
        # Never split a commit: cut before its first document event.
        commit_start = connection.execute(
            _ordered(
                connection,
                select(*_columns(connection)).where(
                    _e.db_id == first_after.db_id,
                    _e.commit_id == first_after.commit_id,
                    _e.aggregate_type.in_(sorted(DOC_TYPES)),
                ),
            ).limit(1)
        ).first()
        if commit_start is not None:
            boundary = min(boundary, _checkpoint(commit_start))
    before = connection.execute(
        _ordered(
            connection,
            select(*_columns(connection)).where(_compare(connection, "<", boundary, "edge")),
            descending=True,
        ).limit(1)
    ).first()
    return LogCheckpoint.start() if before is None else _checkpoint(before)


def count_between(connection: Connection, after: LogCheckpoint, upto: LogCheckpoint) -> int:
    """Events in (after, upto]."""
    if upto <= after:
        return 0
    counted = connection.execute(
        select(func.count())
        .select_from(events)
        .where(_compare(connection, ">", after, "low"), _compare(connection, "<=", upto, "high"))
    ).scalar_one()
    return int(counted)


def _in_scope(db_id: int | None, branch: str | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if db_id is not None:
        where.append(_e.db_id == db_id)
    if branch is not None:
        where.append(or_(_e.branch == branch, _e.event_type == "DatabaseDeleted"))
    return where


def heads_at(
    connection: Connection, edge: LogCheckpoint, db_id: int | None, branch: str | None
) -> list[BranchHead]:
    """Each branch of the scope alive at `edge`, with the commit of the last event up to
    `edge` that moved it (a commit's document events or a head move)."""
    moves = or_(
        (_e.aggregate_type.in_(sorted(DOC_TYPES))) & _e.commit_id.is_not(None),
        _e.event_type.in_(sorted(HEAD_MOVES | {BRANCH_DELETED})),
    )
    postgres = _postgres(connection)
    order = [_TXID.desc(), _e.position.desc()] if postgres else [_e.position.desc()]
    ranked = (
        select(
            *_columns(connection),
            _e.db_id,
            _e.branch,
            _e.commit_id,
            _e.event_type,
            func.row_number()
            .over(partition_by=[_e.db_id, _e.branch], order_by=order)
            .label("newest"),
        )
        .where(
            _compare(connection, "<=", edge, "edge"),
            _e.branch.is_not(None),
            moves,
            *_in_scope(db_id, branch),
        )
        .subquery("ranked")
    )
    rows = connection.execute(
        select(ranked).where(ranked.c.newest == 1).order_by(ranked.c.db_id, ranked.c.branch)
    ).all()
    return [
        BranchHead(int(row.db_id), row.branch, row.commit_id, _checkpoint(row))
        for row in rows
        if row.event_type != BRANCH_DELETED and row.commit_id is not None
    ]


def scoped_event_keys(
    connection: Connection,
    after: LogCheckpoint,
    upto: LogCheckpoint,
    db_id: int | None,
    branch: str | None,
) -> list[str]:
    """The keys (as claimed in processed_events) of the scope's events in (after, upto]."""
    if upto <= after:
        return []
    rows = connection.execute(
        select(_e.db_id, _e.event_id).where(
            _compare(connection, ">", after, "low"),
            _compare(connection, "<=", upto, "high"),
            *_in_scope(db_id, branch),
        )
    )
    return [f"{int(row.db_id)}:{row.event_id}" for row in rows]
