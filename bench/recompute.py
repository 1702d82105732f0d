"""Recompute of the search projection from the log, against rebuilding the same rows from the
store at the head.

Run:
    .venv/bin/python bench/recompute.py --engine sqlite                  # 100k events
    .venv/bin/python bench/recompute.py --engine postgresql --events 1000000 --runs 1
    .venv/bin/python bench/recompute.py --quick                          # a smoke run

Each engine gets a scratch database (a temporary SQLite file, or `spice_bench_<hex>` on the
PostgreSQL server named by --postgres-url, dropped at the end) holding one database whose log
is --events instance creations in commits of --per-commit, projected by the serving search
version first (not timed). Then, --runs times:

- recompute: a job for that database with `promote`, run the way `spice serve worker` runs it
  (a Delivery round for every running version, then the job runner's tick) until the job is
  done: the replay of the whole log into a new version (reading --batch events at a time, a
  commit per transaction), the swap with the serving rows in one transaction, then the purge
  of the claims the replaced version no longer needs;
- baseline: the same search rows built from the store's documents at the head in one
  transaction (what the applier does for a new branch), rolled back.

Figures are medians with min and max; absolute times drift on the shared machines.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.read_models import MODELS, Scope
from spice_harvester.adapters.sql.projections.recompute import RecomputeRunner, SqlRecomputeJobs
from spice_harvester.adapters.sql.projections.store_view import StoreView
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.application.projections.delivery import Delivery
from spice_harvester.application.projections.recompute import RecomputeRequest
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.settings.model import DatabasePoolSettings

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "bench"
ONLY_SEARCH = {"search": MODELS["search"]}


@contextmanager
def scratch(engine: str, server_url: str) -> Iterator[SqlDatabase]:
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="spice_bench_") as folder:
            database = SqlDatabase(f"sqlite:///{Path(folder) / 'spice.sqlite3'}", POOL)
            try:
                yield database
            finally:
                database.close()
        return
    server = make_url(server_url)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"spice_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = server.set(drivername="postgresql", database=name)
        database = SqlDatabase(url.render_as_string(hide_password=False), POOL)
        try:
            yield database
        finally:
            database.close()
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


POOL = DatabasePoolSettings(pool_size=4, max_overflow=2)


def fill(database: SqlDatabase, events: int, per_commit: int) -> None:
    store = SqlVersionedStore(database)
    store.create_database(DB, actor="bench")
    label = Change(DocRef.of_class("Person"), ChangeKind.CREATE, {"label": "Person"})
    store.commit(DB, CommitRequest("main", "bench", "class", (label,)))
    for first in range(0, events, per_commit):
        changes = tuple(
            Change(
                DocRef.of_instance("Person", f"p{n:07}"),
                ChangeKind.CREATE,
                {"name": f"Person {n}", "city": "Seoul 서울", "tags": ["spice", f"t{n % 97}"]},
            )
            for n in range(first, min(events, first + per_commit))
        )
        store.commit(DB, CommitRequest("main", "bench", "bulk", changes))


def recompute(database: SqlDatabase, worker: Delivery) -> float:
    """Seconds from queueing one promoted recompute to its end, the purge included."""
    runner = RecomputeRunner(database, ONLY_SEARCH, every_seconds=0.25, purge_seconds=5)
    jobs = SqlRecomputeJobs(database)
    started = time.perf_counter()
    job = jobs.create(RecomputeRequest("search", DB, promote=True, requested_by="bench"))
    while True:
        report = worker.run_once()
        runner.tick()
        job = jobs.get(job.job_id)
        if job.finished:
            break
        if not (report.progressed or report.more):
            time.sleep(0.05)
    assert job.status == "done", job.as_dict()
    while True:  # the purge of the claims it left
        runner.tick(force=True)
        if runner.idle():
            break
    return time.perf_counter() - started


def baseline(database: SqlDatabase) -> float:
    started = time.perf_counter()
    with database.engine.connect() as connection, connection.begin() as transaction:
        view = StoreView(connection, TimelineCache(), 1)
        head = SqlVersionedStore(database).resolve(DB, "main").commit_id
        MODELS["search"].build(view, Scope(-1, 1, "main"), view.all_states(view.commit(head)))
        transaction.rollback()
    return time.perf_counter() - started


def seconds(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples):7.2f} s (min {min(samples):.2f}, "
        f"max {max(samples):.2f}, n={len(samples)})"
    )


def bench(engine: str, args: argparse.Namespace) -> list[str]:
    with scratch(engine, args.postgres_url) as database:
        database.migrate()
        started = time.perf_counter()
        fill(database, args.events, args.per_commit)
        events = SqlEventLog(database).last_position()
        filled = time.perf_counter() - started
        worker = Delivery(
            SqlApplier(database, "bench", ONLY_SEARCH), SqlEventLog(database), batch_size=args.batch
        )
        started = time.perf_counter()
        worker.drain(max_rounds=1_000_000)
        served = time.perf_counter() - started
        totals, floors = [], []
        for _ in range(args.runs):
            totals.append(recompute(database, worker))
            floors.append(baseline(database))
    rate = events / statistics.median(totals)
    return [
        f"log: {events} events in commits of {args.per_commit} (written in {filled:.1f} s; "
        f"the serving version followed it in {served:.1f} s)",
        f"recompute, whole job   {seconds(totals)}  ({rate:,.0f} events/s)",
        f"baseline, from store   {seconds(floors)}",
        f"recompute/baseline     {statistics.median(totals) / statistics.median(floors):.1f}x",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--per-commit", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500, help="the worker's batch_size")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 events, one run")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="server for scratch dbs")
    args = parser.parse_args()
    if args.quick:
        args.events, args.runs = 2000, 1
    if min(args.events, args.per_commit, args.batch, args.runs) < 1:
        parser.error("--events, --per-commit, --batch and --runs must be at least 1")
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    for engine in engines:
        lines = bench(engine, args)
        print(f"\n=== {engine} ===")
        for line in lines:
            print(line, flush=True)


if __name__ == "__main__":
    main()
