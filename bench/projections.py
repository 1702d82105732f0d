"""Projection delivery: throughput embedded and over NATS against reading the raw log, and the
lag from commit to searchable under a sustained write load.

Run:
    .venv/bin/python bench/projections.py                     # both engines (~10 min here)
    .venv/bin/python bench/projections.py --engine sqlite --part throughput --consumers 2
    .venv/bin/python bench/projections.py --engine postgresql --part lag --rate 100
    .venv/bin/python bench/projections.py --quick             # a smoke run (~2 min)

Needs the PostgreSQL server named by --postgres-url (for that engine) and NATS with JetStream
at --nats-url. Scratch databases: temporary SQLite files, or `spice_bench_<hex>_<label>` on
the PostgreSQL server (dropped WITH (FORCE) at the end); JetStream streams `BENCH_<hex>` with
consumers of their own, deleted after each step.

1. Throughput, events per second. A log of --events document events in commits of
   --commit-size on `main` (every tenth commit updates and deletes earlier instances instead
   of creating new ones) is written once per engine through `SqlVersionedStore`; each step
   below then runs on a fresh copy of it (SQLite's backup API, PostgreSQL's CREATE DATABASE
   ... TEMPLATE), so every step starts from the same log and empty read models:
   - raw (the baseline): the whole log read with `SqlEventLog.read_after` in pages of 5000,
     median of 5 reads;
   - embedded: `ProjectionWorker.delivery` rounds (batches of --batch events) until nothing is
     left. Every event is applied by the three projections (search, counts, lineage), in
     batches of consecutive units (a unit is a commit's events) applied to all three in one
     transaction, with claims and done marks;
   - nats: `OutboxRelay` publishes the whole log first (batches of --batch events; the
     relay-only rate is printed too), then --consumers `NatsConsumer`s sharing one durable
     consumer apply every unit to the three projections; the rate is from the first publish
     to the last acknowledgement.
   After each step the read models must equal a rebuild at the head (`compare_with_rebuild`
   with require_fresh) and every followed event must be marked done once per projection.
   Embedded and nats take --runs samples (a fresh copy each); figures are medians with min
   and max, and "raw/x" is how many times faster the raw read is.
2. Lag from commit to searchable, per delivery (embedded; nats). A fresh database; the
   projection worker runs in this process (`ProjectionWorker.run` in a thread: embedded,
   woken by NOTIFY on PostgreSQL and by a --poll seconds poll on SQLite; or with NATS: relay
   and consumer on an asyncio loop in that thread). A writer process (--writers threads,
   `SqlVersionedStore` directly, as OMS would) commits one-document commits on an open-loop
   schedule of --rate commits per second for --seconds, recording `time.monotonic()` when
   each commit returns. "Searchable" is when the search projection's transaction for that
   commit has committed: the worker's applier records `time.monotonic()` when `apply` (or
   `apply_batch`, for every unit of the batch) returns for the commit's unit (both clocks
   are the machine's CLOCK_MONOTONIC). Printed: the achieved commit rate, lag p50, p99 and
   max, how many commits per second became searchable while the writer ran, the commits not
   yet searchable when it stopped, how fast that backlog was applied afterwards, and those
   still not searchable after --drain-seconds more (then the lag figures are lower bounds,
   marked '>'). When the projection cannot keep up, the lag grows with the length of the
   load: the figures then describe a backlog.
   The read models must equal a rebuild at the end (at the head when nothing is pending).

Recompute (a new version of a projection rebuilt from a log of up to 1M events) is measured
by bench/recompute.py (`--events 1000000`), not here.

The writer and the worker share the machine's cores (two here), so the achieved rate is the
machine's, not the target's, when they cannot keep up; the output says which. On SQLite the
writers and the worker also take turns at the one write lock, and a worker waiting in SQLite's
busy handler loses most turns to several busy writers.

On a PostgreSQL server whose autovacuum is off (as here), every database is ANALYZEd after it
is built and every 5 s while a step runs, on a connection of its own, as autovacuum would do
(--no-analyze to leave it out): without statistics the read models' tables, growing from
empty, get plans that make each unit slower as they grow.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import psycopg
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from spice_harvester.adapters.nats.consumer import ConsumeReport, NatsConsumer
from spice_harvester.adapters.nats.relay import OutboxRelay
from spice_harvester.adapters.nats.stream import ensure_stream
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.adapters.sql.projections.worker import ProjectionWorker
from spice_harvester.adapters.sql.tables import processed_events
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.projections.delivery import (
    Delivery,
    Subscription,
    UnitOutcome,
)
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.application.projections.units import Unit, UnitKind, kind_of
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.ports.registry import LogCheckpoint
from spice_harvester.settings.model import (
    DatabasePoolSettings,
    NatsDeliverySettings,
    WorkerSettings,
)

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NATS_URL = "nats://127.0.0.1:4222"
DB = "bench"
POOL = DatabasePoolSettings(pool_size=4, max_overflow=4, pool_timeout=60)
RAW_PAGE = 5000
RAW_RUNS = 5
PROGRESS_EVERY = 5.0  # seconds between progress lines of a long step
ANALYZE_EVERY = 5.0  # PostgreSQL with autovacuum off: seconds between ANALYZEs
CITIES = ("Seoul 서울", "Busan 부산", "Tokyo 東京", "Berlin", "São Paulo", "Lagos", "Lima")


# -- output -----------------------------------------------------------------------------


class Say:
    """Progress lines stamped with the engine and the time since it started."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{self.engine} {time.monotonic() - self.started:6.1f}s] {message}", flush=True)


class Ticker:
    """True at most every PROGRESS_EVERY seconds: when a long step says how far it is."""

    def __init__(self) -> None:
        self._last = time.monotonic()

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY:
            return False
        self._last = now
        return True


def rate_figure(events: int, samples: list[float]) -> str:
    median = statistics.median(samples)
    fastest, slowest = events / min(samples), events / max(samples)
    return (
        f"{events / median:9,.0f} events/s  ({median:.2f} s; min {slowest:,.0f}, "
        f"max {fastest:,.0f}, n={len(samples)})"
    )


def percentile(ordered: list[float], share: float) -> float:
    """Nearest rank over an ascending list."""
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


# -- scratch databases ------------------------------------------------------------------


class Scratch:
    """Empty databases and copies of them on one engine; every one is removed at the end."""

    def __init__(self, engine: str, server_url: str, folder: Path, *, analyze: bool) -> None:
        self.engine = engine
        self._folder = folder
        self._tag = uuid.uuid4().hex[:10]
        server = make_url(server_url)
        self._server = server
        self._admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
        self._made: list[str] = []
        self.analyze = False
        if engine == "postgresql" and analyze:
            with psycopg.connect(self._admin, autocommit=True) as admin:
                found = admin.execute("SHOW autovacuum").fetchone()
            self.analyze = found is not None and found[0] == "off"

    @contextmanager
    def analyzing(self, url: str) -> Iterator[None]:
        """With the server's autovacuum off: ANALYZE every ANALYZE_EVERY seconds meanwhile,
        on a connection of its own, as autovacuum would for tables growing from empty
        (without statistics the planner's choices for the read models degrade as they grow)."""
        if not self.analyze:
            yield
            return
        stop = threading.Event()
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

        def loop() -> None:
            with psycopg.connect(dsn, autocommit=True) as connection:
                while not stop.wait(ANALYZE_EVERY):
                    connection.execute("ANALYZE")

        thread = threading.Thread(target=loop, name="analyze", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def analyze_now(self, url: str) -> None:
        if self.analyze:
            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute("ANALYZE")

    def new(self, label: str) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self._folder / f'{label}.sqlite3'}"
        return self._postgres(label, "CREATE DATABASE {}", ())

    def copy(self, source_url: str, label: str) -> str:
        """A copy of a database nobody is connected to."""
        if self.engine == "sqlite":
            target = self.new(label)
            with (
                closing(sqlite3.connect(_sqlite_path(source_url))) as source,
                closing(sqlite3.connect(_sqlite_path(target))) as copied,
            ):
                source.backup(copied)
            return target
        template = make_url(source_url).database
        assert template is not None
        return self._postgres(label, "CREATE DATABASE {} TEMPLATE {}", (template,))

    def drop(self, url: str) -> None:
        if self.engine == "sqlite":
            path = _sqlite_path(url)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        name = make_url(url).database
        assert name is not None
        with psycopg.connect(self._admin, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))
        self._made.remove(name)

    def close(self) -> None:
        for name in list(self._made):
            self.drop(self._server.set(database=name).render_as_string(hide_password=False))

    def _postgres(self, label: str, statement: str, more: tuple[str, ...]) -> str:
        name = f"spice_bench_{self._tag}_{label}"
        identifiers = [sql.Identifier(name), *(sql.Identifier(other) for other in more)]
        with psycopg.connect(self._admin, autocommit=True) as admin:
            admin.execute(sql.SQL(statement).format(*identifiers))
        self._made.append(name)
        return self._server.set(database=name).render_as_string(hide_password=False)


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    assert path is not None
    return path


@contextmanager
def scratch(engine: str, server_url: str, *, analyze: bool) -> Iterator[Scratch]:
    with tempfile.TemporaryDirectory(prefix="spice_bench_") as folder:
        made = Scratch(engine, server_url, Path(folder), analyze=analyze)
        try:
            yield made
        finally:
            made.close()


@contextmanager
def opened(url: str) -> Iterator[SqlDatabase]:
    database = SqlDatabase(url, POOL)
    try:
        yield database
    finally:
        database.close()


# -- the log ----------------------------------------------------------------------------


def person(number: int) -> dict[str, Any]:
    return {
        "name": f"Person {number}",
        "email": f"person{number}@example.com",
        "city": CITIES[number % len(CITIES)],
        "score": number % 1000,
        "tags": ["spice", f"t{number % 97}"],
    }


def build_log(database: SqlDatabase, events: int, commit_size: int, say: Say) -> int:
    """Writes the log; returns the number of commits."""
    store = SqlVersionedStore(database)
    store.create_database(DB, actor="bench")
    label = Change(DocRef.of_class("Person"), ChangeKind.CREATE, {"label": "Person"})
    store.commit(DB, CommitRequest("main", "bench", "class", (label,)))
    rng = random.Random(7)
    live: list[int] = []
    created = written = commits = 0
    ticker = Ticker()
    while written < events:
        size = min(commit_size, events - written)
        changes: list[Change] = []
        if commits % 10 == 9 and len(live) >= 2 * size:
            # Updates and a few deletes of earlier instances, as a live database has them.
            picked = sorted(rng.sample(range(len(live)), size), reverse=True)
            for order, index in enumerate(picked):
                number = live[index]
                ref = DocRef.of_instance("Person", f"p{number:07}")
                if order % 5 == 4:
                    changes.append(Change(ref, ChangeKind.DELETE))
                    live.pop(index)
                else:
                    renamed = {**person(number), "name": f"Person {number} (renamed)"}
                    changes.append(Change(ref, ChangeKind.UPDATE, renamed))
        else:
            for number in range(created, created + size):
                ref = DocRef.of_instance("Person", f"p{number:07}")
                changes.append(Change(ref, ChangeKind.CREATE, person(number)))
                live.append(number)
            created += size
        store.commit(DB, CommitRequest("main", "bench", "bulk", tuple(changes)))
        written += size
        commits += 1
        if ticker.due():
            say(f"  ... log: {written:,}/{events:,} events")
    return commits + 1


def read_raw(database: SqlDatabase) -> tuple[int, int]:
    """Reads the whole log in pages; returns (events, events a projection follows)."""
    log = SqlEventLog(database)
    checkpoint = LogCheckpoint.start()
    total = followed = 0
    while True:
        page = log.read_after(checkpoint, RAW_PAGE)
        if not page:
            return total, followed
        total += len(page)
        followed += sum(kind_of(event) is not UnitKind.OTHER for event in page)
        checkpoint = page[-1].checkpoint


# -- checks -----------------------------------------------------------------------------


def done_marks(database: SqlDatabase) -> dict[str, int]:
    c = processed_events.c
    with database.read() as connection:
        rows = connection.execute(
            select(c.handler, func.count()).where(c.status == "done").group_by(c.handler)
        ).all()
    return {str(handler): int(count) for handler, count in rows}


def verified(database: SqlDatabase, followed: int | None, *, fresh: bool = True) -> str:
    """'ok', or what differs: the read models against a rebuild at the head, and (when
    `followed` is given) the done marks, one per followed event and projection."""
    problems = [str(problem) for problem in compare_with_rebuild(database, require_fresh=fresh)]
    if followed is not None:
        marks = done_marks(database)
        for subscription in SqlApplier(database, "bench-check").subscriptions():
            found = marks.get(subscription.handler, 0)
            if found != followed:
                problems.append(f"{subscription.handler}: {found} done marks, not {followed}")
    if not problems:
        return "ok"
    return "MISMATCH: " + "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")


# -- throughput -------------------------------------------------------------------------


def embedded_run(database: SqlDatabase, batch: int, events: int, say: Say) -> float:
    """Seconds for the worker's embedded delivery to apply the whole log."""
    worker = ProjectionWorker(database, WorkerSettings(batch_size=batch))
    with database.transaction() as connection:
        books.ensure_serving(connection, worker.applier.models)
    ticker = Ticker()
    applied = 0

    started = time.perf_counter()
    while True:
        report = worker.delivery.run_once()
        applied += report.applied
        if report.failed or report.parked:
            raise RuntimeError(f"embedded delivery failed: {report}")
        if not (report.progressed or report.more):
            return time.perf_counter() - started
        if ticker.due():
            behind = min(s.checkpoint.position for s in worker.applier.subscriptions())
            say(f"  ... embedded: {applied:,} units, log position {behind:,} of ~{events:,}")


@dataclass
class NatsTimes:
    relay: float
    total: float
    units: int


def nats_names() -> NatsDeliverySettings:
    tag = uuid.uuid4().hex[:10]
    return NatsDeliverySettings(
        stream=f"BENCH_{tag}", subject_prefix=f"bench.{tag}", durable=f"bench-{tag}"
    )


async def drop_stream(url: str, names: NatsDeliverySettings) -> None:
    client = await nats.connect(url)
    try:
        await client.jetstream().delete_stream(names.stream)
    finally:
        await client.close()


def nats_run(database: SqlDatabase, url: str, batch: int, consumers: int, say: Say) -> NatsTimes:
    """The relay publishes the whole log, then `consumers` apply it; both timed."""
    names = nats_names()
    defaults = WorkerSettings()
    retry = RetryPolicy(
        defaults.max_attempts, defaults.retry_base_seconds, defaults.retry_max_seconds
    )
    ticker = Ticker()

    async def scenario() -> NatsTimes:
        client = await nats.connect(url)
        try:
            js = client.jetstream()
            await ensure_stream(js, names)
            relay = OutboxRelay(database, js, names, batch_size=batch)
            started = time.perf_counter()
            published = 0
            while True:
                report = await relay.publish_batch()
                published += report.published
                if ticker.due():
                    say(f"  ... nats relay: {published:,} units published")
                if not report.more:
                    break
            relayed = time.perf_counter() - started
            stop = threading.Event()
            reports = [ConsumeReport() for _ in range(consumers)]
            workers = [
                NatsConsumer(
                    SqlApplier(database, f"bench-consumer-{number}"),
                    SqlEventLog(database),
                    js,
                    names,
                    retry,
                )
                for number in range(consumers)
            ]
            tasks = [
                asyncio.create_task(worker.run(stop, report))
                for worker, report in zip(workers, reports, strict=True)
            ]
            try:
                while sum(report.acked for report in reports) < published:
                    if any(report.parked for report in reports):
                        raise RuntimeError(f"nats delivery parked units: {reports}")
                    if any(task.done() for task in tasks):
                        break  # a consumer failed: its exception is raised below
                    await asyncio.sleep(0.02)
                    if ticker.due():
                        acked = sum(report.acked for report in reports)
                        say(f"  ... nats consumers: {acked:,}/{published:,} units acknowledged")
                total = time.perf_counter() - started
            finally:
                stop.set()
                await asyncio.gather(*tasks)
            return NatsTimes(relayed, total, published)
        finally:
            await client.close()

    try:
        return asyncio.run(scenario())
    finally:
        asyncio.run(drop_stream(url, names))


@dataclass
class Throughput:
    events: int = 0
    commits: int = 0
    built: float = 0.0
    raw: list[float] = field(default_factory=list)
    embedded: list[float] = field(default_factory=list)
    relay: list[float] = field(default_factory=list)
    nats: list[float] = field(default_factory=list)
    units: int = 0
    checks: list[str] = field(default_factory=list)


def throughput(made: Scratch, args: argparse.Namespace, say: Say) -> Throughput:
    result = Throughput()
    source = made.new("log")
    say(f"1. throughput: writing a log of {args.events:,} document events")
    with opened(source) as database:
        database.migrate()
        started = time.perf_counter()
        result.commits = build_log(database, args.events, args.commit_size, say)
        result.built = time.perf_counter() - started
    made.analyze_now(source)  # the copies inherit the statistics

    copy = made.copy(source, "raw")
    with opened(copy) as database:
        followed = 0
        for _ in range(RAW_RUNS):
            started = time.perf_counter()
            result.events, followed = read_raw(database)
            result.raw.append(time.perf_counter() - started)
    made.drop(copy)
    say(
        f"log: {result.events:,} events in {result.commits:,} commits (written in "
        f"{result.built:.1f} s); {followed:,} followed by the projections"
    )
    say(f"raw read            {rate_figure(result.events, result.raw)}")

    for run in range(args.runs):
        copy = made.copy(source, f"embedded{run}")
        with opened(copy) as database, made.analyzing(copy):
            result.embedded.append(embedded_run(database, args.batch, result.events, say))
            check = verified(database, followed)
        made.drop(copy)
        result.checks.append(f"embedded: {check}")
        say(f"embedded run {run + 1}/{args.runs}: {result.embedded[-1]:.1f} s; check {check}")

    for run in range(args.runs):
        copy = made.copy(source, f"nats{run}")
        with opened(copy) as database, made.analyzing(copy):
            times = nats_run(database, args.nats_url, args.batch, args.consumers, say)
            check = verified(database, followed)
        made.drop(copy)
        result.relay.append(times.relay)
        result.nats.append(times.total)
        result.units = times.units
        result.checks.append(f"nats: {check}")
        say(
            f"nats run {run + 1}/{args.runs}: relay {times.relay:.1f} s, to the last ack "
            f"{times.total:.1f} s ({times.units:,} units); check {check}"
        )
    made.drop(source)
    return result


# -- lag under load ---------------------------------------------------------------------


class SearchableTimes(SqlApplier):
    """The applier, noting when the search projection's transaction for a commit is done."""

    def __init__(
        self, database: SqlDatabase, owner: str, lease_seconds: float, seen: dict[str, float]
    ) -> None:
        super().__init__(database, owner, lease_seconds=lease_seconds)
        self.seen = seen

    def apply(self, subscription: Subscription, unit: Unit) -> UnitOutcome:
        outcome = super().apply(subscription, unit)
        if (
            outcome is not UnitOutcome.BUSY
            and subscription.projection == "search"
            and subscription.status == "serving"
            and unit.kind is UnitKind.COMMIT
            and unit.commit_id is not None
        ):
            self.seen.setdefault(unit.commit_id, time.monotonic())
        return outcome

    def apply_batch(self, subscriptions: Sequence[Subscription], units: Sequence[Unit]) -> int:
        done = super().apply_batch(subscriptions, units)
        if any(s.projection == "search" and s.status == "serving" for s in subscriptions):
            now = time.monotonic()
            for unit in units[:done]:
                if unit.kind is UnitKind.COMMIT and unit.commit_id is not None:
                    self.seen.setdefault(unit.commit_id, now)
        return done


class TimedWorker(ProjectionWorker):
    """`spice serve worker`'s loop (embedded, or relay and consumer with `nats_url`) with
    the applier above."""

    def __init__(
        self,
        database: SqlDatabase,
        settings: WorkerSettings,
        nats_url: str | None,
        seen: dict[str, float],
    ) -> None:
        super().__init__(database, settings, nats_url)
        self.applier = SearchableTimes(database, self.owner, settings.lease_seconds, seen)
        self.delivery = Delivery(
            self.applier,
            SqlEventLog(database),
            batch_size=settings.batch_size,
            retry=self.delivery.retry,
        )


def write_load(
    url: str, rate: float, seconds: float, writers: int
) -> tuple[float, float, list[tuple[str, float]], list[str]]:
    """In the writer process: one-document commits on a schedule of `rate` per second for
    `seconds`. Returns (start, end, [(commit_id, committed_at)], errors); monotonic times."""
    database = SqlDatabase(url, DatabasePoolSettings(pool_size=writers, max_overflow=0))
    store = SqlVersionedStore(database)
    store.get_branch(DB, "main")  # connected before the clock starts
    numbers = iter(range(10**9))
    records: list[tuple[str, float]] = []
    errors: list[str] = []
    start = time.monotonic() + 0.1
    end = start + seconds

    def loop() -> None:
        while True:
            number = next(numbers)  # one at a time: the GIL makes next() atomic
            due = start + number / rate
            if due >= end:
                return
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            elif time.monotonic() >= end:
                return
            change = Change(
                DocRef.of_instance("Person", f"load{number:07}"), ChangeKind.CREATE, person(number)
            )
            try:
                result = store.commit(DB, CommitRequest("main", "bench", "load", (change,)))
            except Exception as exc:  # counted, not fatal: the figures say how many
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            records.append((result.commit.commit_id, time.monotonic()))

    threads = [threading.Thread(target=loop) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.close()
    finished = max((at for _, at in records), default=end)
    return start, finished, records, errors


@dataclass
class Lag:
    delivery: str
    commits: int = 0
    achieved: float = 0.0
    # Seconds from each commit to searchable, ascending; a commit never searchable counts
    # up to the end of the wait (so with pending_at_end > 0 the figures are lower bounds).
    lags: list[float] = field(default_factory=list)
    pending_at_stop: int = 0
    pending_at_end: int = 0
    seconds: float = 0.0  # the writer's: first commit due to last commit returned
    after: float = 0.0  # from the writer's stop to the last commit searchable, or the wait's end
    errors: int = 0
    check: str = ""

    @property
    def kept_rate(self) -> float:
        """Commits that became searchable while the writer ran, per second of load."""
        return (self.commits - self.pending_at_stop) / self.seconds if self.seconds else 0.0

    @property
    def catch_rate(self) -> float:
        """The backlog left at the writer's stop, applied per second afterwards."""
        applied = self.pending_at_stop - self.pending_at_end
        return applied / self.after if self.after > 0 else math.nan

    def figures_ms(self) -> tuple[str, str, str]:
        """p50, p99 and max in ms, with '>' when they are lower bounds."""
        if not self.lags:
            return ("-", "-", "-")
        bound = ">" if self.pending_at_end else ""
        p50, p99, most = (
            f"{bound}{value * 1000:,.0f}"
            for value in (percentile(self.lags, 50), percentile(self.lags, 99), self.lags[-1])
        )
        return p50, p99, most


def lag_run(made: Scratch, delivery: str, args: argparse.Namespace, say: Say) -> Lag:
    result = Lag(delivery)
    url = made.new(f"lag_{delivery}")
    names = nats_names()
    nats_url = args.nats_url if delivery == "nats" else None
    settings = WorkerSettings(
        batch_size=args.batch, poll_seconds=args.poll, heartbeat_seconds=5, nats=names
    )
    seen: dict[str, float] = {}
    stop = threading.Event()
    with opened(url) as database, made.analyzing(url):
        database.migrate()
        store = SqlVersionedStore(database)
        store.create_database(DB, actor="bench")
        label = Change(DocRef.of_class("Person"), ChangeKind.CREATE, {"label": "Person"})
        first = store.commit(DB, CommitRequest("main", "bench", "class", (label,)))
        worker = TimedWorker(database, settings, nats_url, seen)
        thread = threading.Thread(target=worker.run, args=(stop,), name="projection-worker")
        thread.start()
        try:
            wait_for(lambda: first.commit.commit_id in seen, 30, "the worker to start")
            say(
                f"2. lag, {delivery}: writing at {args.rate:g} commits/s for {args.seconds:g} s "
                f"({args.writers} writer threads in another process)"
            )
            ticker = Ticker()
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                future = pool.submit(write_load, url, args.rate, args.seconds, args.writers)
                while not future.done():
                    time.sleep(0.1)
                    if ticker.due():
                        say(f"  ... lag, {delivery}: {len(seen) - 1:,} commits searchable")
                start, end, records, errors = future.result()
            result.errors = len(errors)
            if errors:
                say(f"writer errors: {len(errors)}, first: {errors[0]}")
            result.commits = len(records)
            result.seconds = max(end - start, 1e-9)
            result.achieved = len(records) / result.seconds
            result.pending_at_stop = sum(seen.get(c, math.inf) > end for c, _ in records)
            wanted = [commit for commit, _ in records]
            wait_for(lambda: all(c in seen for c in wanted), args.drain_seconds, None)
            waited = time.monotonic()
        finally:
            stop.set()
            thread.join()
        result.lags = sorted(seen.get(c, waited) - at for c, at in records)
        result.pending_at_end = sum(c not in seen for c, _ in records)
        last = max((seen[c] for c, _ in records if c in seen), default=end)
        result.after = (waited if result.pending_at_end else last) - end
        result.check = verified(database, None, fresh=not result.pending_at_end)
    made.drop(url)
    if nats_url is not None:
        asyncio.run(drop_stream(nats_url, names))
    say(lag_line(result))
    return result


def wait_for(condition: Callable[[], bool], timeout: float, what: str | None) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            if what is not None:
                raise TimeoutError(f"waited {timeout} s for {what}")
            return False
        time.sleep(0.02)
    return True


def lag_line(lag: Lag) -> str:
    p50, p99, most = lag.figures_ms()
    if lag.pending_at_end:
        after = f"{lag.pending_at_end:,} still pending {lag.after:.1f} s after it"
    else:
        after = f"all searchable {lag.after:.1f} s after it"
    return (
        f"lag, {lag.delivery}: {lag.commits:,} commits at {lag.achieved:,.0f}/s; lag p50 {p50} "
        f"ms, p99 {p99} ms, max {most} ms; searchable during the load {lag.kept_rate:,.0f} "
        f"commits/s; {lag.pending_at_stop:,} pending when the writer stopped, {after} "
        f"({lag.catch_rate:,.0f} commits/s); check {lag.check}"
    )


# -- summary ----------------------------------------------------------------------------


def summary(
    engine: str, made: Throughput | None, lags: list[Lag], args: argparse.Namespace
) -> list[str]:
    lines = [f"=== {engine} ==="]
    if made is not None:
        raw = made.events / statistics.median(made.raw)
        embedded = made.events / statistics.median(made.embedded)
        over_nats = made.events / statistics.median(made.nats)
        relay = made.events / statistics.median(made.relay)
        lines += [
            f"throughput: {made.events:,} events in {made.commits:,} commits of up to "
            f"{args.commit_size}; embedded and nats apply each event to 3 projections",
            f"  {'raw read (baseline)':<28}{rate_figure(made.events, made.raw)}",
            f"  {'embedded':<28}{rate_figure(made.events, made.embedded)}",
            f"  {f'nats, {args.consumers} consumer(s)':<28}{rate_figure(made.events, made.nats)}",
            f"  {'  of which relay only':<28}{rate_figure(made.events, made.relay)} "
            f"({made.units:,} units)",
            f"  raw/embedded {raw / embedded:.1f}x   raw/nats {raw / over_nats:.1f}x   "
            f"embedded/nats {embedded / over_nats:.2f}x   relay alone {relay / over_nats:.1f}x "
            f"nats end to end",
            f"  checks: {', '.join(made.checks)}",
        ]
    if lags:
        lines.append(
            f"lag, commit to searchable: target {args.rate:g} commits/s for {args.seconds:g} s, "
            f"{args.writers} writer threads, poll {args.poll:g} s (SQLite)"
        )
        lines.append(
            f"  {'delivery':<10}{'commits':>8}{'rate/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'max ms':>9}{'kept/s':>8}{'pend@stop':>10}{'catch/s':>8}{'pend@end':>9}"
            f"{'errors':>7}  check"
        )
        for lag in lags:
            p50, p99, most = lag.figures_ms()
            lines.append(
                f"  {lag.delivery:<10}{lag.commits:>8,}{lag.achieved:>8,.0f}{p50:>9}{p99:>9}"
                f"{most:>9}{lag.kept_rate:>8,.0f}{lag.pending_at_stop:>10,}"
                f"{lag.catch_rate:>8,.0f}{lag.pending_at_end:>9,}{lag.errors:>7}  {lag.check}"
            )
        lines.append(
            "  rate/s: commits written per second; kept/s: of those, searchable before the "
            "writer stopped, per second of load; catch/s: the backlog applied per second after"
        )
        if any(lag.pending_at_end for lag in lags):
            lines.append(
                f"  '>': lower bounds, some commits were not searchable {args.drain_seconds:g} s "
                "after the writer stopped (their lag is counted up to then)"
            )
        short = [lag.delivery for lag in lags if lag.achieved < 0.95 * args.rate]
        if short:
            lines.append(
                f"  the writer did NOT reach {args.rate:g} commits/s ({', '.join(short)}): "
                "the figures are at the achieved rate"
            )
        behind = [lag.delivery for lag in lags if lag.pending_at_stop > max(10, 0.05 * lag.commits)]
        if behind:
            lines.append(
                f"  the projection fell behind the writer ({', '.join(behind)}): the lag grows "
                "with the length of the load, so p50/p99 measure a backlog, not a steady state"
            )
    return lines


def bench(engine: str, args: argparse.Namespace) -> list[str]:
    say = Say(engine)
    made: Throughput | None = None
    lags: list[Lag] = []
    with scratch(engine, args.postgres_url, analyze=not args.no_analyze) as databases:
        if databases.analyze:
            say(f"autovacuum is off on this server: ANALYZE every {ANALYZE_EVERY:g} s instead")
        if args.part in ("all", "throughput"):
            made = throughput(databases, args, say)
        if args.part in ("all", "lag"):
            lags = [lag_run(databases, delivery, args, say) for delivery in ("embedded", "nats")]
    return summary(engine, made, lags, args)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--part", choices=("all", "throughput", "lag"), default="all")
    parser.add_argument("--events", type=int, default=50_000, help="document events in the log")
    parser.add_argument("--commit-size", type=int, default=50, help="documents per commit")
    parser.add_argument("--batch", type=int, default=500, help="worker and relay batch_size")
    parser.add_argument("--runs", type=int, default=1, help="samples of embedded and nats")
    parser.add_argument("--consumers", type=int, default=1, help="NATS consumers (workers)")
    parser.add_argument("--rate", type=float, default=500, help="target commits per second")
    parser.add_argument("--seconds", type=float, default=20, help="length of the write load")
    parser.add_argument("--writers", type=int, default=4, help="writer threads")
    parser.add_argument("--poll", type=float, default=0.05, help="SQLite worker poll, seconds")
    parser.add_argument("--drain-seconds", type=float, default=60, help="wait after the load")
    parser.add_argument("--quick", action="store_true", help="5,000 events, 5 s of load")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="server for scratch dbs")
    parser.add_argument("--nats-url", default=NATS_URL)
    parser.add_argument(
        "--no-analyze", action="store_true", help="PostgreSQL: no ANALYZE if autovacuum is off"
    )
    args = parser.parse_args()
    if args.quick:
        args.events, args.seconds, args.runs = 5000, 5, 1
        args.drain_seconds = min(args.drain_seconds, 30)
    if min(args.events, args.commit_size, args.batch, args.runs, args.consumers) < 1:
        parser.error("--events, --commit-size, --batch, --runs and --consumers must be >= 1")
    if min(args.rate, args.seconds, args.writers, args.poll) <= 0:
        parser.error("--rate, --seconds, --writers and --poll must be positive")
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    started = time.monotonic()
    printed: list[str] = []
    for engine in engines:
        printed += bench(engine, args)
    print(f"\nsummary ({time.monotonic() - started:.0f} s in all)")
    for line in printed:
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
