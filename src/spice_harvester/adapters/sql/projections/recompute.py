"""Recompute jobs on SQL (docs/design/0005, "Recompute (as built)").

`SqlRecomputeJobs` queues, reads and cancels jobs (BFF's admin routes, `spice projection
recompute|jobs|cancel`). `RecomputeRunner` runs them from the projection worker's rounds:

1. start: in one transaction, claim the job, add version N (status `building`, with the job's
   scope) and its checkpoint where the replay starts; with `from_ts`, build each branch of the
   scope from the store at its head at that moment (the applier's BUILD). The worker then
   applies the log to N like to any running version, passing over units outside its scope;
2. follow: count progress; a unit of N parked in dead_letters fails the job and drops N;
3. finish: once N's checkpoint has passed the target (the log at `to_ts`, or its end when the
   build started), an unpromoted N becomes `built` (kept, no longer followed); a promoted one
   swaps places with the serving version in one transaction (promotion.py);
4. purge: what no running version needs any more (a dropped version's rows; the claims and
   seqs of one that stopped running) is deleted a chunk at a time.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Select, delete, func, insert, or_, select, text, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections import log_window
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.promotion import promote
from spice_harvester.adapters.sql.projections.read_models import MODELS, ReadModel, Scope
from spice_harvester.adapters.sql.projections.replay import REPLAYING, Replayer
from spice_harvester.adapters.sql.projections.store_view import StoreView
from spice_harvester.adapters.sql.projections.tables import (
    dead_letters,
    projection_checkpoints,
    projection_jobs,
    projection_state,
    projection_versions,
)
from spice_harvester.adapters.sql.registry import database_now
from spice_harvester.adapters.sql.tables import (
    aggregate_versions,
    branches,
    processed_events,
    spice_databases,
)
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.application.projections.delivery import Subscription
from spice_harvester.application.projections.recompute import (
    ACTIVE,
    BUILDING,
    CANCELLED,
    DONE,
    FAILED,
    PROMOTING,
    QUEUED,
    JobProgress,
    RecomputeJob,
    RecomputeJobs,
    RecomputeRequest,
)
from spice_harvester.domain.errors import AlreadyExists, Conflict, DependencyUnavailable, NotFound
from spice_harvester.ports.registry import LogCheckpoint

log = logging.getLogger(__name__)

PURGE_CHUNK: Final = 5000
_j = projection_jobs.c
_v = projection_versions.c


def _utcnow(connection: Connection) -> datetime:
    """The database's clock: the log's `occurred_at` and the jobs' times agree with it."""
    return datetime.fromtimestamp(database_now(connection), UTC)


class SqlRecomputeJobs:
    """The RecomputeJobs port on SQL."""

    def __init__(self, database: SqlDatabase, projections: Collection[str] = tuple(MODELS)) -> None:
        self._db = database
        self._projections = tuple(projections)

    def create(self, request: RecomputeRequest) -> RecomputeJob:
        job_id = uuid.uuid4().hex
        try:
            with self._db.transaction() as connection:
                now = _utcnow(connection)
                checked = request.checked(self._projections, now)
                db_id = _scope_db(connection, checked.db_name, checked.branch)
                _refuse_second(connection, checked.projection)
                connection.execute(
                    insert(projection_jobs).values(
                        job_id=job_id,
                        projection=checked.projection,
                        version=None,
                        db_id=db_id,
                        db_name=checked.db_name,
                        branch=checked.branch,
                        from_ts=checked.from_ts,
                        to_ts=checked.to_ts,
                        promote=checked.promote,
                        allow_delete_base_index=checked.allow_delete_base_index,
                        status=QUEUED,
                        progress=JobProgress().as_dict(),
                        error=None,
                        requested_by=checked.requested_by[:255],
                        purge_version=None,
                        created_at=now,
                        updated_at=now,
                    )
                )
                if self._db.engine_name == "postgresql":
                    # Wake idle workers now rather than at their next look.
                    connection.execute(text("SELECT pg_notify('spice_events', '')"))
        except AlreadyExists as exc:
            # Another job of the projection was queued at the same moment.
            raise Conflict(
                f"a recompute of '{request.projection}' is already active", field="projection"
            ) from exc
        return self.get(job_id)

    def get(self, job_id: str) -> RecomputeJob:
        with self._db.read() as connection:
            row = connection.execute(
                select(projection_jobs).where(_j.job_id == job_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"recompute job '{job_id}' does not exist", field="job_id")
        return job_of(row)

    def jobs(self, *, limit: int = 20) -> list[RecomputeJob]:
        with self._db.read() as connection:
            rows = connection.execute(
                select(projection_jobs).order_by(_j.created_at.desc(), _j.job_id).limit(limit)
            ).all()
        return [job_of(row) for row in rows]

    def cancel(self, job_id: str) -> RecomputeJob:
        with self._db.transaction() as connection:
            row = connection.execute(
                select(projection_jobs).where(_j.job_id == job_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise NotFound(f"recompute job '{job_id}' does not exist", field="job_id")
            if row.status not in ACTIVE:
                raise Conflict(f"recompute job '{job_id}' has already {row.status}")
            end_job(connection, row, CANCELLED, None)
        return self.get(job_id)


def _scope_db(connection: Connection, db_name: str | None, branch: str | None) -> int | None:
    if db_name is None:
        return None
    db_id = connection.execute(
        select(spice_databases.c.db_id).where(spice_databases.c.name == db_name)
    ).scalar()
    if db_id is None:
        raise NotFound(f"database '{db_name}' does not exist", field="db_name")
    if branch is not None:
        found = connection.execute(
            select(branches.c.name).where(branches.c.db_id == db_id, branches.c.name == branch)
        ).first()
        if found is None:
            raise NotFound(f"branch '{branch}' does not exist in '{db_name}'", field="branch")
    return int(db_id)


def _refuse_second(connection: Connection, projection: str) -> None:
    active = connection.execute(
        select(_j.job_id).where(_j.projection == projection, _j.status.in_(ACTIVE))
    ).scalar()
    if active is not None:
        raise Conflict(
            f"recompute job '{active}' of '{projection}' is still active: wait for it or "
            f"cancel it (`spice projection cancel {active}`)",
            field="projection",
        )


def job_of(row: Any) -> RecomputeJob:
    return RecomputeJob(
        job_id=row.job_id,
        projection=row.projection,
        version=None if row.version is None else int(row.version),
        db_name=row.db_name,
        branch=row.branch,
        from_ts=row.from_ts,
        to_ts=row.to_ts,
        promote=bool(row.promote),
        allow_delete_base_index=bool(row.allow_delete_base_index),
        status=row.status,
        progress=JobProgress.from_dict(dict(row.progress or {})),
        error=row.error,
        requested_by=row.requested_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def end_job(connection: Connection, row: Any, status: str, error: str | None) -> None:
    """Fails or cancels an active job: its version (if started) is dropped, its parked units
    resolved, and what it built left for the purge. The serving version is not touched."""
    now = _utcnow(connection)
    version = None if row.version is None else int(row.version)
    if version is not None:
        connection.execute(
            update(projection_versions)
            .where(
                _v.projection == row.projection,
                _v.version == version,
                _v.status.in_((BUILDING, REPLAYING)),
            )
            .values(status="dropped")
        )
        d = dead_letters.c
        connection.execute(
            update(dead_letters)
            .where(d.projection == row.projection, d.version == version, d.status == "parked")
            .values(status="resolved", resolution="dropped", updated_at=now)
        )
    connection.execute(
        update(projection_jobs)
        .where(_j.job_id == row.job_id)
        .values(
            status=status,
            error=None if error is None else error[:4000],
            purge_version=version,
            updated_at=now,
            finished_at=now,
        )
    )


class RecomputeRunner:
    """Runs the queued and active jobs, a step each time `tick` is called (by the worker
    after each round; at most every `every_seconds` unless forced)."""

    def __init__(
        self,
        database: SqlDatabase,
        models: Mapping[str, ReadModel] = MODELS,
        *,
        every_seconds: float = 0.25,
        progress_seconds: float = 1.0,
        purge_seconds: float = 2.0,
        replay_seconds: float = 1.0,
        replay_batch: int = 5000,
    ) -> None:
        self._db = database
        self._models = dict(models)
        self._cache = TimelineCache()
        applier = SqlApplier(database, "recompute", self._models)
        self._replayer = Replayer(database, applier, batch=replay_batch)
        self._replay_budget = replay_seconds
        self._busy = False
        self._every = every_seconds
        self._progress_every = progress_seconds
        self._purge_budget = purge_seconds
        self._last_tick = float("-inf")
        self._counted: dict[str, float] = {}

    def idle(self) -> bool:
        """No job of its projections is active or has leftovers to purge."""
        with self._db.read() as connection:
            return not connection.execute(self._pending().limit(1)).first()

    def _pending(self) -> Select[Any]:
        return (
            select(projection_jobs)
            .where(
                _j.projection.in_(list(self._models)),
                or_(_j.status.in_(ACTIVE), _j.purge_version.is_not(None)),
            )
            .order_by(_j.created_at, _j.job_id)
        )

    def tick(self, *, force: bool = False) -> bool:
        """One step of every job; True when a replay has more to do at once (the worker
        should not wait for new events before the next round)."""
        now = time.monotonic()
        if not force and not self._busy and now - self._last_tick < self._every:
            return False
        self._last_tick = now
        self._busy = False
        with self._db.read() as connection:
            rows = connection.execute(self._pending()).all()
        for row in rows:
            try:
                self._step(row)
            except DependencyUnavailable:
                raise
            except Exception as exc:
                log.exception("recompute job %s failed", row.job_id)
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                self._fail(row.job_id, f"{type(exc).__name__}: {reason}")
        return self._busy

    # -- the steps ---------------------------------------------------------------------

    def _step(self, row: Any) -> None:
        if row.status == QUEUED:
            self._start(row)
        elif row.status in (BUILDING, PROMOTING):
            self._follow(row)
        current = self._job_row(row.job_id)
        if current is not None and current.purge_version is not None:
            self._purge(current)

    def _job_row(self, job_id: str) -> Any:
        with self._db.read() as connection:
            return connection.execute(
                select(projection_jobs).where(_j.job_id == job_id)
            ).one_or_none()

    def _start(self, row: Any) -> None:
        model = self._models[row.projection]
        with self._db.transaction() as connection:
            now = _utcnow(connection)
            if not row.promote and row.to_ts is not None and now <= row.to_ts:
                # An unpromoted build ends at to_ts: it replays a settled part of the log.
                note = f"starts once to_ts ({row.to_ts.isoformat()}) has passed"
                if (row.progress or {}).get("note") != note:
                    self._set_progress(connection, row.job_id, JobProgress(note=note), now)
                return
            claimed = connection.execute(
                update(projection_jobs)
                .where(_j.job_id == row.job_id, _j.status == QUEUED)
                .values(status=BUILDING, started_at=now, updated_at=now)
            )
            if claimed.rowcount != 1:
                return  # another worker started it
            if (
                row.db_id is not None
                and not StoreView(connection, self._cache, int(row.db_id)).database_exists()
            ):
                raise NotFound(f"database '{row.db_name}' no longer exists")
            version = self._next_version(connection, row.projection)
            start = LogCheckpoint.start()
            if row.from_ts is not None:
                start = log_window.edge_at(connection, row.from_ts)
            target = self._target(connection, row, now)
            until = None if row.promote else target
            connection.execute(
                insert(projection_versions).values(
                    projection=row.projection,
                    version=version,
                    status=REPLAYING,
                    created_at=now,
                    promoted_at=None,
                    scope_db_id=row.db_id,
                    scope_branch=row.branch,
                    until_tx_order=None if until is None else until.tx_order,
                    until_position=None if until is None else until.position,
                )
            )
            connection.execute(
                insert(projection_checkpoints).values(
                    projection=row.projection,
                    version=version,
                    tx_order=start.tx_order,
                    position=start.position,
                    updated_at=now,
                )
            )
            if row.from_ts is not None:
                self._seed(connection, model, row, version, start)
            total = None if target is None else log_window.count_between(connection, start, target)
            progress = JobProgress(0, total, start, target, start)
            connection.execute(
                update(projection_jobs)
                .where(_j.job_id == row.job_id)
                .values(version=version, progress=progress.as_dict(), updated_at=now)
            )
        self._busy = True  # the replay starts at the next tick
        log.info(
            "recompute job %s builds %s v%d from %s", row.job_id, row.projection, version, start
        )

    @staticmethod
    def _next_version(connection: Connection, projection: str) -> int:
        highest = connection.execute(
            select(func.max(_v.version)).where(_v.projection == projection)
        ).scalar()
        return int(highest or 0) + 1

    @staticmethod
    def _target(connection: Connection, row: Any, now: datetime) -> LogCheckpoint | None:
        """Where the build is complete: the log at to_ts, or its end now; None while to_ts
        is still ahead."""
        if row.to_ts is None:
            return log_window.settled_end(connection)
        if now <= row.to_ts:
            return None
        return log_window.edge_at(connection, row.to_ts)

    def _seed(
        self, connection: Connection, model: ReadModel, row: Any, version: int, start: LogCheckpoint
    ) -> None:
        """Each branch of the scope as it was at `start`, built from the store."""
        subscription = Subscription(row.projection, version, BUILDING, start)
        db_id = None if row.db_id is None else int(row.db_id)
        for head in log_window.heads_at(connection, start, db_id, row.branch):
            view = StoreView(connection, self._cache, head.db_id)
            if not view.database_exists():
                continue  # deleted since: its deletion, later in the log, drops it anyway
            try:
                commit = view.commit(head.commit_id)
            except NotFound:
                continue
            model.build(view, Scope(version, head.db_id, head.branch), view.all_states(commit))
            books.set_branch_state(
                connection, subscription, head.db_id, head.branch, head.commit_id, head.checkpoint
            )

    def _follow(self, row: Any) -> None:
        version = int(row.version)
        progress = JobProgress.from_dict(dict(row.progress or {}))
        with self._db.read() as connection:
            now = _utcnow(connection)
            status = connection.execute(
                select(_v.status).where(_v.projection == row.projection, _v.version == version)
            ).scalar()
            checkpoint = books.checkpoint_of(connection, row.projection, version)
            d = dead_letters.c
            letter = connection.execute(
                select(d.letter_id, d.error)
                .where(d.projection == row.projection, d.version == version, d.status == "parked")
                .order_by(d.letter_id)
                .limit(1)
            ).first()
            target = progress.target
            if target is None:
                target = self._target(connection, row, now)
        if status not in (BUILDING, REPLAYING) or checkpoint is None:
            self._fail(row.job_id, f"version {version} of {row.projection} is {status}")
            return
        if status == REPLAYING:
            checkpoint = self._replay(row, version)
            self._count(row, progress, checkpoint, target)
            return
        if letter is not None:
            self._fail(
                row.job_id,
                f"a unit of version {version} was parked as dead letter {letter.letter_id}: "
                f"{letter.error}",
            )
            return
        if target is None or checkpoint < target:
            self._count(row, progress, checkpoint, target)
            return
        if not row.promote:
            self._finish_built(row, progress, checkpoint, target)
            return
        started = time.monotonic()
        outcome = promote(self._db, self._models[row.projection], row.job_id)
        if outcome.promoted:
            log.info(
                "recompute job %s promoted %s in %.2f s: %s",
                row.job_id,
                row.projection,
                time.monotonic() - started,
                outcome.note,
            )
            return
        with self._db.transaction() as connection:
            connection.execute(
                update(projection_jobs)
                .where(_j.job_id == row.job_id, _j.status.in_((BUILDING, PROMOTING)))
                .values(
                    status=PROMOTING,
                    progress=JobProgress(
                        progress.events_total or 0,
                        progress.events_total,
                        checkpoint,
                        target,
                        progress.start,
                        outcome.note,
                    ).as_dict(),
                    updated_at=_utcnow(connection),
                )
            )

    def _replay(self, row: Any, version: int) -> LogCheckpoint:
        """Replay batches for up to `replay_seconds`; the version's checkpoint after them."""
        scope = None
        with self._db.read() as connection:
            found = connection.execute(
                select(projection_versions).where(
                    _v.projection == row.projection, _v.version == version
                )
            ).one()
            scope = books.version_scope(found)
        deadline = time.monotonic() + self._replay_budget
        while time.monotonic() < deadline:
            step = self._replayer.step(row.projection, version, scope)
            if step.done:
                break
        else:
            self._busy = True
        with self._db.read() as connection:
            checkpoint = books.checkpoint_of(connection, row.projection, version)
        return checkpoint or LogCheckpoint.start()

    def _count(
        self,
        row: Any,
        progress: JobProgress,
        checkpoint: LogCheckpoint,
        target: LogCheckpoint | None,
    ) -> None:
        now = time.monotonic()
        if now - self._counted.get(row.job_id, float("-inf")) < self._progress_every:
            return
        self._counted[row.job_id] = now
        start = progress.start or LogCheckpoint.start()
        with self._db.read() as connection:
            end = target if target is not None else log_window.settled_end(connection)
            done = log_window.count_between(connection, start, min(checkpoint, end))
            total = log_window.count_between(connection, start, end)
        note = None
        if target is None:
            note = f"the target is the log at to_ts ({row.to_ts.isoformat()}), still ahead"
        counted = JobProgress(done, total, checkpoint, target, start, note)
        with self._db.transaction() as connection:
            connection.execute(
                update(projection_jobs)
                .where(_j.job_id == row.job_id, _j.status == row.status)
                .values(progress=counted.as_dict(), updated_at=_utcnow(connection))
            )

    def _finish_built(
        self, row: Any, progress: JobProgress, checkpoint: LogCheckpoint, target: LogCheckpoint
    ) -> None:
        version = int(row.version)
        with self._db.transaction() as connection:
            now = _utcnow(connection)
            kept = connection.execute(
                update(projection_versions)
                .where(
                    _v.projection == row.projection, _v.version == version, _v.status == BUILDING
                )
                .values(status="built")
            )
            if kept.rowcount != 1:
                return
            done = JobProgress(
                progress.events_total or 0,
                progress.events_total,
                checkpoint,
                target,
                progress.start,
                f"built as version {version} (not promoted)",
            )
            connection.execute(
                update(projection_jobs)
                .where(_j.job_id == row.job_id)
                .values(
                    status=DONE,
                    progress=done.as_dict(),
                    purge_version=version,  # its claims and seqs: nothing follows it now
                    updated_at=now,
                    finished_at=now,
                )
            )
        log.info("recompute job %s built %s v%d", row.job_id, row.projection, version)

    def _fail(self, job_id: str, error: str) -> None:
        with self._db.transaction() as connection:
            row = connection.execute(
                select(projection_jobs).where(_j.job_id == job_id).with_for_update()
            ).one_or_none()
            if row is None or row.status not in ACTIVE:
                return
            end_job(connection, row, FAILED, error)
        log.error("recompute job %s failed: %s", job_id, error)

    @staticmethod
    def _set_progress(
        connection: Connection, job_id: str, progress: JobProgress, now: datetime
    ) -> None:
        connection.execute(
            update(projection_jobs)
            .where(_j.job_id == job_id)
            .values(progress=progress.as_dict(), updated_at=now)
        )

    # -- purge -------------------------------------------------------------------------

    def _purge(self, row: Any) -> None:
        """Deletes what version `purge_version` left, a chunk per transaction, for up to
        `purge_seconds`; clears `purge_version` once nothing is left."""
        version = int(row.purge_version)
        handler = Subscription(row.projection, version, "", LogCheckpoint.start()).handler
        model = self._models[row.projection]
        deadline = time.monotonic() + self._purge_budget
        while time.monotonic() < deadline:
            with self._db.transaction() as connection:
                status = connection.execute(
                    select(_v.status).where(_v.projection == row.projection, _v.version == version)
                ).scalar()
                if status in books.RUNNING:
                    left = 0  # serving again or still followed: nothing to delete
                else:
                    left = _purge_handler(connection, handler)
                    if status == "dropped":
                        left += model.purge(connection, version, PURGE_CHUNK)
                        left += _purge_state(connection, row.projection, version)
                if left == 0:
                    connection.execute(
                        update(projection_jobs)
                        .where(_j.job_id == row.job_id, _j.purge_version == version)
                        .values(purge_version=None)
                    )
                    return
        self._busy = True  # more to delete at the next tick


def _purge_handler(connection: Connection, handler: str) -> int:
    deleted = 0
    p, a = processed_events.c, aggregate_versions.c
    for table, key, owner in (
        (processed_events, p.event_id, p.handler),
        (aggregate_versions, a.aggregate_key, a.handler),
    ):
        chunk = list(
            connection.execute(select(key).where(owner == handler).limit(PURGE_CHUNK)).scalars()
        )
        for start in range(0, len(chunk), 500):
            connection.execute(
                delete(table).where(owner == handler, key.in_(chunk[start : start + 500]))
            )
        deleted += len(chunk)
    return deleted


def _purge_state(connection: Connection, projection: str, version: int) -> int:
    s = projection_state.c
    result = connection.execute(
        delete(projection_state).where(s.projection == projection, s.version == version)
    )
    return int(result.rowcount or 0)


def _conforms(jobs: SqlRecomputeJobs) -> RecomputeJobs:
    # mypy checks here that the adapter satisfies the port.
    return jobs
