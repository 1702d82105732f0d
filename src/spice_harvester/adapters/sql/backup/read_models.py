"""After a restore: the read models of the restored databases, built now from the store.

Read models are not in a backup: they are rebuilt from the restored histories. The worker
would get there by itself (the import's `BranchImported` events make it build each branch),
but the restore does it at once so that it ends with read models that equal a rebuild
(`spice projection verify`), with or without a worker running.

For each restored branch, in one transaction, and for every serving projection version,
what the applier does for a `BranchImported` unit: drop the branch's rows, forget its seqs,
build it from every document at the imported head, and record that state at the checkpoint
of that event. The documents are read once for all the models: a build is each document's
creation applied to the empty scope, through the models' `apply`.

The worker then finds every event of the import at or below the branch's checkpoint and
leaves it alone, and applies whatever was committed after the import on top. Each branch is
serialised against the worker as the applier serialises units (the per-database lock on
PostgreSQL, the row lock on the branch's state; SQLite has one writer), and one the worker
already brought past that event is left as it is. A replaced database's rows are dropped as
its `DatabaseDeleted` event would drop them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Label, literal_column, select

from spice_harvester.adapters.sql.backup.reporting import Reporter, Silent
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.read_models import MODELS, Scope
from spice_harvester.adapters.sql.projections.store_view import StoreView
from spice_harvester.adapters.sql.tables import events
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.application.projections.changes import DocChange
from spice_harvester.application.projections.delivery import Subscription
from spice_harvester.domain.versioning.documents import DocState
from spice_harvester.ports.registry import LogCheckpoint

IMPORTED = "BranchImported"
CHUNK = 2000


@dataclass(frozen=True)
class RestoredDatabase:
    name: str
    db_id: int
    replaced_db_id: int | None
    documents: dict[str, int]  # branch -> live documents at its head


@dataclass(frozen=True)
class ImportedHead:
    branch: str
    commit_id: str
    checkpoint: LogCheckpoint


def rebuild_read_models(
    database: SqlDatabase, restored: Sequence[RestoredDatabase], reporter: Reporter | None = None
) -> int:
    """Builds the serving read models of every restored branch; returns documents built."""
    report = reporter or Silent()
    cache = TimelineCache()
    with database.transaction() as connection:
        books.ensure_serving(connection, MODELS)
    built = 0
    for item in restored:
        with database.read() as connection:
            serving = _serving(connection)
            heads = imported_heads(connection, item.db_id)
        if item.replaced_db_id is not None:
            with database.transaction() as connection:
                for subscription in serving:
                    _forget_database(connection, subscription, item.replaced_db_id)
        total = sum(item.documents.get(head.branch, 0) for head in heads)
        report.begin(f"rebuilding read models of {item.name}", total)
        for head in heads:
            with database.transaction() as connection:
                built += _build_branch(connection, cache, serving, item.db_id, head, report)
    return built


def imported_heads(connection: Connection, db_id: int) -> list[ImportedHead]:
    """Each branch's head as the import announced it, with that event's checkpoint."""
    e = events.c
    postgres = connection.dialect.name == "postgresql"
    expression = "CAST(events.txid AS text)" if postgres else "0"
    tx: Label[Any] = literal_column(expression).label("tx_order")
    rows = connection.execute(
        select(e.branch, e.commit_id, e.position, tx)
        .where(e.db_id == db_id, e.event_type == IMPORTED)
        .order_by(e.position)
    ).all()
    return [
        ImportedHead(row.branch, row.commit_id, LogCheckpoint(int(row.tx_order), row.position))
        for row in rows
    ]


def _serving(connection: Connection) -> list[Subscription]:
    return [s for s in books.subscriptions(connection, MODELS) if s.status == "serving"]


def _forget_database(connection: Connection, subscription: Subscription, db_id: int) -> None:
    books.serialise_database(connection, subscription, db_id)
    MODELS[subscription.projection].drop(connection, subscription.version, db_id, None)
    books.drop_branch_state(connection, subscription, db_id, None)


def _build_branch(
    connection: Connection,
    cache: TimelineCache,
    serving: Sequence[Subscription],
    db_id: int,
    head: ImportedHead,
    report: Reporter,
) -> int:
    """Builds one branch into every serving version that has not got past the import, in
    one pass over its documents: each document's creation applied to an empty scope (what
    a build is), a chunk at a time for all the models together."""
    stale = []
    for subscription in serving:
        books.serialise_database(connection, subscription, db_id)
        state = books.branch_state(connection, subscription, db_id, head.branch, lock=True)
        if state is None or state.checkpoint < head.checkpoint:
            stale.append(subscription)  # otherwise the worker got here first, or further
    if not stale:
        return 0
    scopes = [(MODELS[s.projection], Scope(s.version, db_id, head.branch)) for s in stale]
    for subscription, (model, scope) in zip(stale, scopes, strict=True):
        model.drop(connection, scope.version, db_id, head.branch)
        books.forget_seqs(connection, subscription.handler, books.scope_prefix(db_id, head.branch))
    view = StoreView(connection, cache, db_id)
    built = 0
    for chunk in _chunks(view.all_states(view.commit(head.commit_id))):
        created = [DocChange(state.ref.key, None, state) for state in chunk]
        for model, scope in scopes:
            model.apply(view, scope, created)
        built += len(chunk)
        report.advance(len(chunk))
    for subscription in stale:
        books.set_branch_state(
            connection, subscription, db_id, head.branch, head.commit_id, head.checkpoint
        )
    return built


def _chunks(states: Iterable[DocState]) -> Iterator[list[DocState]]:
    iterator = iter(states)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk
