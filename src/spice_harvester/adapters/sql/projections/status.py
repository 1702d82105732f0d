"""Where each projection stands (`spice projection status`): its checkpoint, its lag in
events, each branch's reflected commit against its head, parked letters, live workers."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.tables import (
    dead_letters,
    projection_checkpoints,
    projection_state,
    projection_versions,
    projection_workers,
)
from spice_harvester.adapters.sql.tables import branches, spice_databases
from spice_harvester.ports.projections import Freshness
from spice_harvester.ports.registry import LogCheckpoint

FORGET_AFTER_DAYS = 7
# Versions the worker follows, and those a recompute built and kept without promoting.
SHOWN = ("replaying", "building", "serving", "built")


@dataclass(frozen=True)
class BranchStatus(Freshness):
    """How fresh one branch's read model is, and in which database."""

    db_name: str

    def as_dict(self) -> dict[str, Any]:
        return {"db_name": self.db_name, **super().as_dict()}


@dataclass(frozen=True)
class ProjectionStatus:
    projection: str
    version: int
    status: str
    checkpoint: LogCheckpoint
    lag: int  # events in the log after the checkpoint
    parked: int  # dead letters waiting for an operator
    branches: list[BranchStatus]

    def as_dict(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "version": self.version,
            "status": self.status,
            "checkpoint": {
                "tx_order": self.checkpoint.tx_order,
                "position": self.checkpoint.position,
            },
            "lag": self.lag,
            "parked": self.parked,
            "branches": [branch.as_dict() for branch in self.branches],
        }


@dataclass(frozen=True)
class WorkerStatus:
    owner: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    stopped_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at.isoformat(),
            "beat_at": self.beat_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
        }


def projection_status(db: SqlDatabase) -> list[ProjectionStatus]:
    log = SqlEventLog(db)
    v, k = projection_versions.c, projection_checkpoints.c
    with db.read() as connection:
        versions = connection.execute(
            select(v.projection, v.version, v.status, k.tx_order, k.position)
            .add_columns(v.scope_db_id, v.scope_branch)
            .join(
                projection_checkpoints,
                and_(k.projection == v.projection, k.version == v.version),
            )
            .where(v.status.in_(SHOWN))
            .order_by(v.projection, v.version)
        ).all()
        d = dead_letters.c
        parked = {
            (row.projection, int(row.version)): int(row.letters)
            for row in connection.execute(
                select(d.projection, d.version, func.count().label("letters"))
                .where(d.status == "parked")
                .group_by(d.projection, d.version)
            )
        }
        heads = connection.execute(
            select(spice_databases.c.db_id, spice_databases.c.name, branches.c.name.label("branch"))
            .add_columns(branches.c.head_commit)
            .join(branches, branches.c.db_id == spice_databases.c.db_id)
            .order_by(spice_databases.c.name, branches.c.name)
        ).all()
        s = projection_state.c
        states = connection.execute(
            select(s.projection, s.version, s.db_id, s.branch, s.commit_id, s.applied_at)
        ).all()
    reflected = {(r.projection, r.version, r.db_id, r.branch): r for r in states}
    found = []
    for row in versions:
        checkpoint = LogCheckpoint(int(row.tx_order), int(row.position))
        per_branch = []
        for head in heads:
            if not _in_scope(row, head):
                continue
            state = reflected.get((row.projection, row.version, head.db_id, head.branch))
            per_branch.append(
                BranchStatus(
                    branch=head.branch,
                    head_commit=head.head_commit,
                    commit_id=None if state is None else state.commit_id,
                    applied_at=None if state is None else state.applied_at,
                    db_name=head.name,
                )
            )
        found.append(
            ProjectionStatus(
                row.projection,
                int(row.version),
                row.status,
                checkpoint,
                log.count_after(checkpoint),
                parked.get((row.projection, int(row.version)), 0),
                per_branch,
            )
        )
    return found


def _in_scope(version: Any, head: Any) -> bool:
    """Whether a branch is in a version's scope (a recompute's may be one database or branch)."""
    if version.scope_db_id is not None and int(head.db_id) != int(version.scope_db_id):
        return False
    return version.scope_branch is None or head.branch == version.scope_branch


class WorkerRegistry:
    """projection_workers: which workers run, and when each last said so."""

    def __init__(self, db: SqlDatabase, owner: str) -> None:
        self._db = db
        self.owner = owner

    def started(self) -> None:
        now = datetime.now(UTC)
        with self._db.transaction() as connection:
            # Forget workers not heard of for a week.
            connection.execute(
                delete(projection_workers).where(
                    projection_workers.c.beat_at < now - timedelta(days=FORGET_AFTER_DAYS)
                )
            )
            connection.execute(
                insert(projection_workers).values(
                    owner=self.owner,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                    beat_at=now,
                    stopped_at=None,
                )
            )

    def beat(self) -> None:
        self._set(beat_at=datetime.now(UTC))

    def stopped(self) -> None:
        now = datetime.now(UTC)
        self._set(beat_at=now, stopped_at=now)

    def _set(self, **values: Any) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                update(projection_workers)
                .where(projection_workers.c.owner == self.owner)
                .values(**values)
            )


def workers(db: SqlDatabase, *, limit: int = 20) -> list[WorkerStatus]:
    w = projection_workers.c
    with db.read() as connection:
        query = select(projection_workers).order_by(w.beat_at.desc()).limit(limit)
        rows = connection.execute(query)
        return [
            WorkerStatus(
                row.owner, row.host, int(row.pid), row.started_at, row.beat_at, row.stopped_at
            )
            for row in rows
        ]
