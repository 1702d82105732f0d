"""Promoting a rebuilt version (docs/design/0005, "Recompute (as built)"): one transaction.

Readers use the serving version only, so whatever one transaction changes they see whole or
not at all:

- a job for every database flips `projection_versions`: the rebuilt version serves, the old
  one is retired (its rows kept) or dropped (its rows purged afterwards);
- a job for one database or branch swaps the scope's rows, branch states and applied seqs
  between the two versions (through a temporary version number, as each table's keys hold
  the version), so the serving version's number stays and the old rows live on under the
  rebuilt version's number, which is retired or dropped.

The rebuilt version must have read at least as far as the serving one. When it has read
further, the serving version would meet the scope's units in between again after the swap
and apply them over rows that already hold them (taking a branch back and forth); so those
events are marked done for the serving version's handler in the same transaction, as if it
had applied them. The promotion first takes the locks each unit takes (the per-database lock
of both versions, then the scope's branch rows), so no unit of the scope is half-way
meanwhile and none starts until it commits (SQLite serialises writers anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.dialect import insert_for
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections import log_window
from spice_harvester.adapters.sql.projections.read_models import ReadModel
from spice_harvester.adapters.sql.projections.tables import projection_jobs, projection_versions
from spice_harvester.adapters.sql.registry import database_now
from spice_harvester.adapters.sql.tables import processed_events
from spice_harvester.application.projections.delivery import Subscription
from spice_harvester.application.projections.recompute import (
    BUILDING,
    DONE,
    PROMOTING,
    JobProgress,
)
from spice_harvester.ports.registry import LogCheckpoint

CHUNK = 500
_j = projection_jobs.c
_v = projection_versions.c
_p = processed_events.c


@dataclass(frozen=True)
class Promotion:
    promoted: bool
    note: str


def handler_of(projection: str, version: int) -> str:
    return Subscription(projection, version, "", LogCheckpoint.start()).handler


def promote(database: SqlDatabase, model: ReadModel, job_id: str) -> Promotion:
    """Promotes the job's version if it has caught up with the serving one (else says why
    not, changing nothing)."""
    with database.transaction() as connection:
        job = connection.execute(
            select(projection_jobs).where(_j.job_id == job_id).with_for_update()
        ).one_or_none()
        if job is None or job.status not in (BUILDING, PROMOTING) or job.version is None:
            return Promotion(False, "the job is no longer active")
        projection, rebuilt = job.projection, int(job.version)
        versions = {
            int(row.version): row.status
            for row in connection.execute(
                select(_v.version, _v.status)
                .where(
                    _v.projection == projection,
                    (_v.status == "serving") | (_v.version == rebuilt),
                )
                .with_for_update()
            )
        }
        serving = next((v for v, status in versions.items() if status == "serving"), None)
        if serving is None or versions.get(rebuilt) != BUILDING:
            return Promotion(False, f"{projection} has no serving version to replace")
        db_id = None if job.db_id is None else int(job.db_id)
        if db_id is not None:
            for version in (serving, rebuilt):
                # What every unit of a version and database takes first (PostgreSQL).
                subscription = Subscription(projection, version, "", LogCheckpoint.start())
                books.serialise_database(connection, subscription, db_id)
            books.lock_state(connection, projection, [serving, rebuilt], db_id, job.branch)
        served_at = books.checkpoint_of(connection, projection, serving, lock=True)
        built_at = books.checkpoint_of(connection, projection, rebuilt, lock=True)
        assert served_at is not None, "a serving version has a checkpoint"
        assert built_at is not None, "a building version has a checkpoint"
        if built_at < served_at:
            return Promotion(
                False,
                f"catching up with serving version {serving} (at {_at(served_at)}; "
                f"version {rebuilt} at {_at(built_at)})",
            )
        now = datetime.fromtimestamp(database_now(connection), UTC)
        kept = "dropped" if job.allow_delete_base_index else "retired"
        if db_id is None:
            _flip(connection, projection, serving, rebuilt, kept, now)
            old = serving
            note = f"version {rebuilt} serves; version {serving} is {kept}"
        else:
            swap(connection, model, projection, serving, rebuilt, db_id, job.branch)
            keys = log_window.scoped_event_keys(connection, served_at, built_at, db_id, job.branch)
            settle_for(connection, handler_of(projection, serving), keys)
            connection.execute(
                update(projection_versions)
                .where(_v.projection == projection, _v.version == rebuilt)
                .values(status=kept)
            )
            old = rebuilt
            where = f"'{job.db_name}'" + ("" if job.branch is None else f" branch '{job.branch}'")
            note = (
                f"{where} swapped into serving version {serving}; its old rows are version "
                f"{rebuilt} ({kept})"
            )
        progress = JobProgress.from_dict(dict(job.progress or {}))
        finished = JobProgress(
            progress.events_total or 0,
            progress.events_total,
            built_at,
            progress.target,
            progress.start,
            note,
        )
        connection.execute(
            update(projection_jobs)
            .where(_j.job_id == job_id)
            .values(
                status=DONE,
                progress=finished.as_dict(),
                purge_version=old,
                updated_at=now,
                finished_at=now,
            )
        )
        return Promotion(True, note)


def _at(checkpoint: LogCheckpoint) -> str:
    return f"{checkpoint.tx_order}/{checkpoint.position}"


def _flip(
    connection: Connection, projection: str, serving: int, rebuilt: int, kept: str, now: datetime
) -> None:
    connection.execute(
        update(projection_versions)
        .where(_v.projection == projection, _v.version == serving)
        .values(status=kept)
    )
    connection.execute(
        update(projection_versions)
        .where(_v.projection == projection, _v.version == rebuilt)
        .values(status="serving", promoted_at=now)
    )


def swap(
    connection: Connection,
    model: ReadModel,
    projection: str,
    serving: int,
    rebuilt: int,
    db_id: int,
    branch: str | None,
) -> None:
    """Exchanges the scope's rows, branch states and applied seqs between two versions."""
    parked = -rebuilt  # no version is negative: a free number for the moment
    for source, target in ((serving, parked), (rebuilt, serving), (parked, rebuilt)):
        model.relabel(connection, source, target, db_id, branch)
        books.relabel_state(connection, projection, source, target, db_id, branch)
        books.relabel_seqs(
            connection,
            handler_of(projection, source),
            handler_of(projection, target),
            books.scope_prefix(db_id, branch),
        )


def settle_for(connection: Connection, handler: str, keys: Sequence[str]) -> None:
    """Marks events done for `handler` (a parked one stays parked: it waits in
    dead_letters, and its retry is then resolved as superseded)."""
    if not keys:
        return
    now = database_now(connection)
    statement = insert_for(connection, processed_events)
    statement = statement.on_conflict_do_update(
        index_elements=[_p.handler, _p.event_id],
        set_={"status": "done", "lease_until": None, "retry_at": None, "updated_at": now},
        where=_p.status != "parked",
    )
    for start in range(0, len(keys), CHUNK):
        connection.execute(
            statement,
            [
                {
                    "handler": handler,
                    "event_id": key,
                    "status": "done",
                    "owner": "recompute",
                    "lease_until": None,
                    "attempts": 1,
                    "updated_at": now,
                }
                for key in keys[start : start + CHUNK]
            ],
        )
