"""Projection bookkeeping in SQL: checkpoints, what each branch's model reflects, the
aggregates' applied seqs, and which versions run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)

from spice_harvester.adapters.sql.dialect import insert_for
from spice_harvester.adapters.sql.projections.tables import (
    projection_checkpoints,
    projection_state,
    projection_versions,
)
from spice_harvester.adapters.sql.tables import aggregate_versions
from spice_harvester.application.projections.delivery import Subscription
from spice_harvester.application.projections.recompute import VersionScope
from spice_harvester.ports.registry import LogCheckpoint

CHUNK = 500
RUNNING = ("building", "serving")
_s = projection_state.c
_k = projection_checkpoints.c
_a = aggregate_versions.c


@dataclass(frozen=True)
class BranchState:
    commit_id: str
    checkpoint: LogCheckpoint


def subscriptions(connection: Connection, projections: Iterable[str]) -> list[Subscription]:
    v = projection_versions.c
    rows = connection.execute(
        select(v.projection, v.version, v.status, _k.tx_order, _k.position)
        .add_columns(v.scope_db_id, v.scope_branch, v.until_tx_order, v.until_position)
        .select_from(
            projection_versions.join(
                projection_checkpoints,
                and_(_k.projection == v.projection, _k.version == v.version),
            )
        )
        .where(v.status.in_(RUNNING), v.projection.in_(list(projections)))
        .order_by(v.projection, v.version)
    )
    return [
        Subscription(
            row.projection,
            row.version,
            row.status,
            LogCheckpoint(row.tx_order, row.position),
            version_scope(row),
        )
        for row in rows
    ]


def version_scope(row: Any) -> VersionScope | None:
    """The scope a projection_versions row records; None for a version that follows it all."""
    until = None
    if row.until_position is not None:
        until = LogCheckpoint(int(row.until_tx_order or 0), int(row.until_position))
    if row.scope_db_id is None and row.scope_branch is None and until is None:
        return None
    db_id = None if row.scope_db_id is None else int(row.scope_db_id)
    return VersionScope(db_id, row.scope_branch, until)


def serving_version(connection: Connection, projection: str) -> int | None:
    v = projection_versions.c
    found = connection.execute(
        select(v.version).where(v.projection == projection, v.status == "serving")
    ).scalar()
    return None if found is None else int(found)


def ensure_serving(connection: Connection, projections: Iterable[str]) -> None:
    """A projection added by a later release starts serving its first version, empty."""
    now = datetime.now(UTC)
    for projection in projections:
        if connection.execute(
            select(projection_versions.c.version).where(
                projection_versions.c.projection == projection
            )
        ).first():
            continue
        connection.execute(
            insert(projection_versions).values(
                projection=projection, version=1, status="serving", created_at=now, promoted_at=now
            )
        )
        connection.execute(
            insert(projection_checkpoints).values(
                projection=projection, version=1, tx_order=0, position=0, updated_at=now
            )
        )


def advance(connection: Connection, subscription: Subscription, to: LogCheckpoint) -> None:
    """Moves the checkpoint forward to `to` (never back: two workers may race)."""
    behind = or_(
        _k.tx_order < to.tx_order, and_(_k.tx_order == to.tx_order, _k.position < to.position)
    )
    connection.execute(
        projection_checkpoints.update()
        .where(_k.projection == subscription.projection, _k.version == subscription.version, behind)
        .values(tx_order=to.tx_order, position=to.position, updated_at=datetime.now(UTC))
    )


def serialise_database(connection: Connection, subscription: Subscription, db_id: int) -> None:
    """Holds off every other unit of this projection version and database until this
    transaction ends. Workers sharing a NATS consumer apply units at once and in any order;
    a branch's state row alone cannot be locked before it exists, nor can a new branch's
    source while it is copied. SQLite serialises writers anyway."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"{subscription.handler}/{db_id}"},
    )


def _state_key(subscription: Subscription, db_id: int) -> ColumnElement[bool]:
    return and_(
        _s.projection == subscription.projection,
        _s.version == subscription.version,
        _s.db_id == db_id,
    )


def branch_state(
    connection: Connection, subscription: Subscription, db_id: int, branch: str, *, lock: bool
) -> BranchState | None:
    """What the branch's model reflects; with `lock`, held until the transaction ends so two
    workers never move one branch at once (SQLite's writers are serial anyway)."""
    query = select(_s.commit_id, _s.tx_order, _s.position).where(
        _state_key(subscription, db_id), _s.branch == branch
    )
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        return None
    return BranchState(row.commit_id, LogCheckpoint(row.tx_order, row.position))


def set_branch_state(
    connection: Connection,
    subscription: Subscription,
    db_id: int,
    branch: str,
    commit_id: str,
    checkpoint: LogCheckpoint,
) -> None:
    values: dict[str, Any] = {
        "commit_id": commit_id,
        "tx_order": checkpoint.tx_order,
        "position": checkpoint.position,
        "applied_at": datetime.now(UTC),
    }
    statement = insert_for(connection, projection_state).values(
        projection=subscription.projection,
        version=subscription.version,
        db_id=db_id,
        branch=branch,
        **values,
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[_s.projection, _s.version, _s.db_id, _s.branch], set_=values
        )
    )


def drop_branch_state(
    connection: Connection, subscription: Subscription, db_id: int, branch: str | None
) -> None:
    where = _state_key(subscription, db_id)
    if branch is not None:
        where = and_(where, _s.branch == branch)
    connection.execute(delete(projection_state).where(where))
    forget_seqs(connection, subscription.handler, _prefix(db_id, branch))


# -- the aggregates' applied seqs, keyed "<db_id>/<branch>/<doc_key>" ---------------------


def _prefix(db_id: int, branch: str | None) -> str:
    return f"{db_id}/" if branch is None else f"{db_id}/{branch}/"


def aggregate_key(db_id: int, branch: str, doc_key: str) -> str:
    return f"{_prefix(db_id, branch)}{doc_key}"


def _under(prefix: str) -> ColumnElement[bool]:
    # substr rather than LIKE: SQLite's LIKE ignores ASCII case, and branch names do not.
    return func.substr(_a.aggregate_key, 1, len(prefix)) == prefix


def last_seqs(connection: Connection, handler: str, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), CHUNK):
        rows = connection.execute(
            select(_a.aggregate_key, _a.last_seq).where(
                _a.handler == handler, _a.aggregate_key.in_(keys[start : start + CHUNK])
            )
        )
        found.update((row.aggregate_key, int(row.last_seq)) for row in rows)
    return found


def forget_seqs(connection: Connection, handler: str, prefix: str) -> None:
    connection.execute(delete(aggregate_versions).where(_a.handler == handler, _under(prefix)))


def copy_seqs(connection: Connection, handler: str, db_id: int, source: str, branch: str) -> None:
    old, new = _prefix(db_id, source), _prefix(db_id, branch)
    rows = select(
        _a.handler,
        (literal(new) + func.substr(_a.aggregate_key, len(old) + 1)).label("aggregate_key"),
        _a.last_seq,
        _a.updated_at,
    ).where(_a.handler == handler, _under(old))
    connection.execute(
        insert(aggregate_versions).from_select(
            ["handler", "aggregate_key", "last_seq", "updated_at"], rows
        )
    )


# -- recompute: moving a scope's bookkeeping between versions ----------------------------


def scope_prefix(db_id: int, branch: str | None) -> str:
    """What the scope's aggregate keys start with."""
    return _prefix(db_id, branch)


def relabel_state(
    connection: Connection,
    projection: str,
    version: int,
    to: int,
    db_id: int | None,
    branch: str | None,
) -> None:
    """Moves the projection_state rows of a scope from `version` to `to` (which has none)."""
    where = and_(_s.projection == projection, _s.version == version)
    if db_id is not None:
        where = and_(where, _s.db_id == db_id)
    if branch is not None:
        where = and_(where, _s.branch == branch)
    connection.execute(projection_state.update().where(where).values(version=to))


def lock_state(
    connection: Connection,
    projection: str,
    versions: Sequence[int],
    db_id: int | None,
    branch: str | None,
) -> None:
    """Holds the scope's projection_state rows of `versions` until the transaction ends (the
    lock each unit takes on its branch's row, so no unit of the scope runs meanwhile)."""
    where = and_(_s.projection == projection, _s.version.in_(list(versions)))
    if db_id is not None:
        where = and_(where, _s.db_id == db_id)
    if branch is not None:
        where = and_(where, _s.branch == branch)
    connection.execute(select(_s.version).where(where).with_for_update()).all()


def relabel_seqs(connection: Connection, handler: str, to: str, prefix: str | None) -> None:
    """Moves `handler`'s applied seqs (those under `prefix`, or all) to handler `to`."""
    where = _a.handler == handler
    if prefix is not None:
        where = and_(where, _under(prefix))
    connection.execute(aggregate_versions.update().where(where).values(handler=to))


def checkpoint_of(
    connection: Connection, projection: str, version: int, *, lock: bool = False
) -> LogCheckpoint | None:
    query = select(_k.tx_order, _k.position).where(
        _k.projection == projection, _k.version == version
    )
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).first()
    return None if row is None else LogCheckpoint(int(row.tx_order), int(row.position))
