"""The versioned store against bare-table baselines, on SQLite and PostgreSQL, in one run.

Run:
    .venv/bin/python bench/store.py                  # both engines, default sizes (~11 min)
    .venv/bin/python bench/store.py --quick          # everything ~100x smaller: a smoke run
    .venv/bin/python bench/store.py --engine sqlite --scale 0.1 --runs 7

Every engine gets a scratch database: a temporary SQLite file, or `spice_bench_<hex>` on the
PostgreSQL server named by --postgres-url (dropped WITH (FORCE) at the end). The store is
`SqlVersionedStore` over `SqlDatabase` exactly as the services build it (migrated schema, pooled
engine, WAL + synchronous=FULL on SQLite). Baselines use the bare driver (sqlite3 / psycopg) on
the same database file or server, with the same SQLite pragmas.

Every figure is the median over samples with min and max (n = samples). Slow operations take
--runs samples; operations of a few milliseconds take 4x as many. Where a baseline applies the
two are measured interleaved in the same run, and the ratio is of the medians.

1. Appends, documents per second (N instances of one class with six fields each):
   - bulk: the store with one commit per 1000 changes, against the same rows (the columns of
     `doc_versions` plus the event payload, JSON-encoded and hashed in the timed part) written
     into a bare table (primary key only, no other index) as multi-row INSERTs of 1000 rows,
     one transaction each, and on PostgreSQL as COPY of 1000 rows per transaction;
   - per document: the store with one commit per document, against one INSERT per row in
     autocommit (one transaction per row).
   "store/baseline" is the store's throughput over the baseline's; "x time" its inverse.
2. Branch creation at 10k, 100k and 1M instances on main (main is built with bulk commits of
   10k; the build time is printed): `create_branch`, each sample a new name, against a bare
   one-row INSERT transaction. Target: flat in the size, median under 5 ms.
3. Diff: a branch with k instances updated in one commit, `diff(db, "main", branch)`, for
   k = 10, 100, 1000 on the 1M database and on the 10k one: it should grow with k and not with
   the database. Target: k = 1000 under 100 ms on the 1M database.
4. Merge: a branch with 10k instances updated, main moved by one unrelated commit (a real
   three-way merge, not a fast-forward), `merge(db, branch, "main")`. Shown beside it: the
   store commit that wrote those 10k updates on the branch, and the same 10k rows as
   multi-row INSERTs in one bare transaction. Target: under 2 s.
5. Reads five forks deep: on main at 100k instances, b1 forks from main with one change, b2
   from b1 with one change, ... b5 (each parent commits once more before its fork does, so
   every fork opens a timeline of its own: b5's chain is five levels longer than main's, and
   the output shows both). `get` of an instance none of them changed (so the read walks all
   levels), `list_docs` of a 100-item page (it counts too) and `count`, on b5 against main.
   Target: get on b5 under 2x get on main.
6. Replay of the whole log at the end (1M+ events): the events table read in keyset pages of
   5000 ordered by position, each event applied with `apply_event` into an in-memory dict
   keyed by (database, branch, document), against reading the same pages without applying.
   The replayed main must hold as many live instances as `count` says.

The appends start with one unrecorded warm-up round. On PostgreSQL the benchmark runs ANALYZE
before each measured append round and after each build step, as autovacuum would; the server
here may have autovacuum off (it is printed), and without statistics the planner may look
the changed keys up through the (timeline_id, pos) index and filter the whole timeline, a cost
that grows with the timeline. --no-analyze skips ANALYZE to show that case.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

import spice_harvester
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import events, timelines
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.versioning.changes import Change, ChangeKind, apply_event
from spice_harvester.domain.versioning.documents import Data, DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.settings.model import DatabasePoolSettings

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLASS_ID = "Person"
AUTHOR = "bench"
BIG = "big"
FAST_FACTOR = 4  # operations of a few milliseconds take this many times --runs samples
BARE_COLUMNS = (
    "db_id",
    "timeline_id",
    "pos",
    "doc_key",
    "doc_type",
    "class_id",
    "doc_id",
    "seq",
    "deleted",
    "data",
    "doc_hash",
    "commit_id",
    "valid_to",
    "payload",
)
Row = tuple[Any, ...]


# -- sizes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    bulk_docs: int
    single_docs: int
    batch: int
    build_batch: int
    checkpoints: tuple[int, int, int]
    diff_ks: tuple[int, ...]
    merge_docs: int
    depth: int = 5
    page: int = 100
    replay_page: int = 5000
    gets_per_sample: int = 50


def sizes_for(scale: float) -> Sizes:
    def scaled(count: int) -> int:
        return max(1, round(count * scale))

    return Sizes(
        bulk_docs=scaled(20_000),
        single_docs=scaled(2_000),
        batch=scaled(1_000),
        build_batch=scaled(10_000),
        checkpoints=(scaled(10_000), scaled(100_000), scaled(1_000_000)),
        diff_ks=tuple(sorted({scaled(10), scaled(100), scaled(1_000)})),
        merge_docs=scaled(10_000),
    )


# -- documents --------------------------------------------------------------------------


def doc_id(index: int) -> str:
    return f"p{index:07d}"


def doc_data(index: int) -> Data:
    return {
        "name": f"Person {index}",
        "age": index % 90,
        "email": f"person{index}@example.com",
        "city": f"City {index % 500}",
        "score": index * 0.5,
        "active": index % 3 == 0,
    }


def ref_of(index: int) -> DocRef:
    return DocRef.of_instance(CLASS_ID, doc_id(index))


def creates(indexes: range) -> tuple[Change, ...]:
    return tuple(Change(ref_of(i), ChangeKind.CREATE, doc_data(i)) for i in indexes)


def updates(indexes: Sequence[int], tag: str) -> tuple[Change, ...]:
    return tuple(
        Change(ref_of(i), ChangeKind.UPDATE, {"city": f"{tag} {i}", "score": -float(i)})
        for i in indexes
    )


def bare_rows(indexes: range) -> list[Row]:
    """The rows the store would write (document version + event payload), as a driver gets them."""
    rows = []
    for index in indexes:
        data = doc_data(index)
        key = f"instance:{CLASS_ID}/{doc_id(index)}"
        encoded = json.dumps(data, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{key}\n{encoded}".encode()).hexdigest()
        payload = json.dumps({"data": data})
        row = (1, 1, 1, key, "instance", CLASS_ID, doc_id(index), 1, False, encoded, digest)
        rows.append((*row, digest[:40], None, payload))
    return rows


# -- statistics and output --------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def med(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def ms(samples: Sequence[float]) -> str:
    return (
        f"{med(samples) * 1000:9.2f} ms (min {min(samples) * 1000:.2f}, "
        f"max {max(samples) * 1000:.2f}, n={len(samples)})"
    )


def rate(count: int, samples: Sequence[float], unit: str = "rows/s") -> str:
    return (
        f"{count / med(samples):11,.0f} {unit} (min {count / max(samples):,.0f}, "
        f"max {count / min(samples):,.0f}, n={len(samples)})"
    )


def seconds(samples: Sequence[float]) -> str:
    return (
        f"{med(samples):9.3f} s (min {min(samples):.3f}, max {max(samples):.3f}, n={len(samples)})"
    )


def versus(ours: Sequence[float], baseline: Sequence[float], name: str = "store") -> str:
    """Ratio of median times: how much longer our path takes than the baseline."""
    factor = med(ours) / med(baseline)
    return f"{name}/baseline throughput {1 / factor:.3f} ({factor:.2f}x time)"


@dataclass
class Report:
    engine: str
    started: float = field(default_factory=time.monotonic)
    finished: float = 0.0
    lines: list[str] = field(default_factory=list)
    targets: list[tuple[str, str, bool]] = field(default_factory=list)

    def progress(self, message: str) -> None:
        print(f"[{self.engine} {time.monotonic() - self.started:7.1f}s] {message}", flush=True)

    def result(self, line: str) -> None:
        self.lines.append(line)
        print(f"  {line}", flush=True)

    def target(self, name: str, value: str, met: bool) -> None:
        self.targets.append((name, value, met))
        self.result(f"target {name}: {value} -> {'met' if met else 'MISSED'}")


# -- bare baselines ---------------------------------------------------------------------


class Bare(ABC):
    """The floor: the same rows through the bare driver into tables with no secondary index."""

    param_marker = "?"

    @abstractmethod
    def create(self, table: str) -> None: ...

    @abstractmethod
    def execute(self, statement: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]: ...

    @abstractmethod
    def close(self) -> None: ...

    has_copy = False

    def copy(self, table: str, rows: Sequence[Row], batch: int) -> None:
        """COPY, where the engine has it (PostgreSQL); callers check `has_copy` first."""
        raise TypeError(f"{type(self).__name__} has no COPY")

    def _insert(self, table: str, count: int) -> str:
        row = "(" + ", ".join([self.param_marker] * len(BARE_COLUMNS)) + ")"
        columns = ", ".join(BARE_COLUMNS)
        values = ", ".join([row] * count)
        return f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608 (our own names)

    def per_row(self, table: str, rows: Sequence[Row]) -> None:
        """One INSERT per row, each its own transaction (autocommit)."""
        statement = self._insert(table, 1)
        for row in rows:
            self.execute(statement, row)

    def multi_row(self, table: str, rows: Sequence[Row], batch: int, *, one_tx: bool) -> None:
        """Multi-row INSERTs of `batch` rows: a transaction each, or all in one."""
        statements: dict[int, str] = {}
        with self.transaction() if one_tx else nullcontext():
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                statement = statements.get(len(chunk))
                if statement is None:
                    statement = statements[len(chunk)] = self._insert(table, len(chunk))
                params = [value for row in chunk for value in row]
                if one_tx:
                    self.execute(statement, params)
                else:
                    with self.transaction():
                        self.execute(statement, params)


class SqliteBare(Bare):
    def __init__(self, path: Path) -> None:
        # Autocommit (no implicit transactions) and the pragmas of the store's engine.
        self._conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = FULL"):
            self._conn.execute(f"PRAGMA {pragma}")

    def create(self, table: str) -> None:
        self._conn.execute(
            f"""CREATE TABLE {table} (
                row_id INTEGER PRIMARY KEY AUTOINCREMENT, db_id BIGINT NOT NULL,
                timeline_id BIGINT NOT NULL, pos INTEGER NOT NULL,
                doc_key VARCHAR(400) NOT NULL, doc_type VARCHAR(16) NOT NULL,
                class_id VARCHAR(100), doc_id VARCHAR(255) NOT NULL, seq INTEGER NOT NULL,
                deleted BOOLEAN NOT NULL, data JSON, doc_hash VARCHAR(64),
                commit_id VARCHAR(64) NOT NULL, valid_to INTEGER, payload JSON NOT NULL)"""
        )

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(statement, params)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()


class PostgresBare(Bare):
    param_marker = "%s"
    has_copy = True

    def __init__(self, dsn: str) -> None:
        self._conn = psycopg.connect(dsn, autocommit=True)

    def create(self, table: str) -> None:
        self.execute(
            f"""CREATE TABLE {table} (
                row_id BIGSERIAL PRIMARY KEY, db_id BIGINT NOT NULL,
                timeline_id BIGINT NOT NULL, pos INTEGER NOT NULL,
                doc_key VARCHAR(400) NOT NULL, doc_type VARCHAR(16) NOT NULL,
                class_id VARCHAR(100), doc_id VARCHAR(255) NOT NULL, seq INTEGER NOT NULL,
                deleted BOOLEAN NOT NULL, data JSONB, doc_hash VARCHAR(64),
                commit_id VARCHAR(64) NOT NULL, valid_to INTEGER, payload JSONB NOT NULL)"""
        )

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(statement, params)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._conn.transaction():
            yield

    def copy(self, table: str, rows: Sequence[Row], batch: int) -> None:
        """COPY of `batch` rows per transaction."""
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, BARE_COLUMNS))
        )
        for start in range(0, len(rows), batch):
            with (
                self._conn.transaction(),
                self._conn.cursor() as cursor,
                cursor.copy(statement) as copy,
            ):
                for row in rows[start : start + batch]:
                    copy.write_row(row)

    def close(self) -> None:
        self._conn.close()


# -- the engine under test --------------------------------------------------------------


@dataclass
class Target:
    engine: str
    database: SqlDatabase
    store: SqlVersionedStore
    bare: Bare


@contextmanager
def scratch(engine: str, server_url: str) -> Iterator[Target]:
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="spice_bench_") as folder:
            path = Path(folder) / "spice.sqlite3"
            with _opened(engine, f"sqlite:///{path}", lambda: SqliteBare(path)) as target:
                yield target
        return
    server = make_url(server_url)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"spice_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = server.set(drivername="postgresql", database=name)
        dsn = url.render_as_string(hide_password=False)
        with _opened(engine, dsn, lambda: PostgresBare(dsn)) as target:
            yield target
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def _opened(engine: str, url: str, make_bare: Callable[[], Bare]) -> Iterator[Target]:
    database = SqlDatabase(url, DatabasePoolSettings())
    try:
        database.migrate()
        bare = make_bare()
        try:
            yield Target(engine, database, SqlVersionedStore(database), bare)
        finally:
            bare.close()
    finally:
        database.close()


def depth_of(target: Target, ref: str) -> int:
    """How many timelines a read at `ref` overlays (its chain length)."""
    timeline_id = target.store.resolve(BIG, ref).timeline_id
    with target.database.read() as connection:
        query = select(timelines.c.depth).where(timelines.c.timeline_id == timeline_id)
        return int(connection.execute(query).scalar_one())


def analyze(target: Target, report: Report, enabled: bool) -> None:
    if target.engine != "postgresql" or not enabled:
        return
    took = timed(lambda: _run_analyze(target.database))
    report.progress(f"ANALYZE (as autovacuum would) took {took:.1f} s")


def _run_analyze(database: SqlDatabase) -> None:
    with database.transaction() as connection:
        connection.execute(text("ANALYZE"))


# -- 1. appends -------------------------------------------------------------------------


def bench_appends(
    target: Target, sizes: Sizes, runs: int, report: Report, do_analyze: bool
) -> None:
    store, bare = target.store, target.bare
    for table in ("bare_multi", "bare_copy", "bare_row"):
        bare.create(table)
    bulk, single = range(sizes.bulk_docs), range(sizes.single_docs)
    times: dict[str, list[float]] = {}
    counts = {
        "store bulk": sizes.bulk_docs,
        "multi-row INSERT": sizes.bulk_docs,
        "COPY": sizes.bulk_docs,
        "store per-doc": sizes.single_docs,
        "INSERT per row": sizes.single_docs,
    }

    def store_bulk(db: str) -> None:
        for start in range(0, len(bulk), sizes.batch):
            changes = creates(bulk[start : start + sizes.batch])
            store.commit(db, CommitRequest("main", AUTHOR, f"rows from {start}", changes))

    def store_single(db: str) -> None:
        for index in single:
            changes = creates(range(index, index + 1))
            store.commit(db, CommitRequest("main", AUTHOR, f"row {index}", changes))

    def multi_row() -> None:
        bare.multi_row("bare_multi", bare_rows(bulk), sizes.batch, one_tx=False)

    def copy() -> None:
        bare.copy("bare_copy", bare_rows(bulk), sizes.batch)

    def per_row() -> None:
        bare.per_row("bare_row", bare_rows(single))

    # Run 0 is an unrecorded warm-up, so that the measured runs meet tables that already
    # hold rows (and, on PostgreSQL, statistics), as a store in service does.
    for run in range(runs + 1):
        if run:
            analyze(target, report, do_analyze)
        store.create_database(f"bulk{run}")
        store.create_database(f"single{run}")
        steps: list[tuple[str, Callable[[], object]]] = [
            ("store bulk", functools.partial(store_bulk, f"bulk{run}")),
            ("multi-row INSERT", multi_row),
            ("store per-doc", functools.partial(store_single, f"single{run}")),
            ("INSERT per row", per_row),
        ]
        if bare.has_copy:
            steps.insert(2, ("COPY", copy))
        taken = {label: timed(step) for label, step in steps}
        shown = ", ".join(f"{label} {counts[label] / took:,.0f}/s" for label, took in taken.items())
        if not run:
            report.progress(f"appends warm-up (not counted): {shown}")
            continue
        for label, took in taken.items():
            times.setdefault(label, []).append(took)
        report.progress(f"appends run {run}/{runs}: {shown}")

    report.result(f"1a. appends, {sizes.batch} changes per commit, {sizes.bulk_docs:,} documents")
    report.result(f"    store              {rate(sizes.bulk_docs, times['store bulk'])}")
    for label in ("multi-row INSERT", "COPY"):
        if label in times:
            report.result(f"    {label:<18} {rate(sizes.bulk_docs, times[label])}")
            report.result(f"      {versus(times['store bulk'], times[label])}")
    report.result(f"1b. appends, one commit per document, {sizes.single_docs:,} documents")
    report.result(f"    store              {rate(sizes.single_docs, times['store per-doc'])}")
    report.result(f"    INSERT per row     {rate(sizes.single_docs, times['INSERT per row'])}")
    report.result(f"      {versus(times['store per-doc'], times['INSERT per row'])}")


# -- 2. building main and branch creation ----------------------------------------------


def build_to(target: Target, have: int, size: int, batch: int, report: Report) -> int:
    store = target.store
    started = time.perf_counter()
    commits = 0
    for start in range(have, size, batch):
        changes = creates(range(start, min(start + batch, size)))
        store.commit(BIG, CommitRequest("main", AUTHOR, f"build from {start}", changes))
        commits += 1
        if commits % 10 == 0:
            done = min(start + batch, size)
            elapsed = time.perf_counter() - started
            report.progress(
                f"building main: {done:,} instances, {(done - have) / elapsed:,.0f} rows/s"
            )
    took = time.perf_counter() - started
    report.result(
        f"build main {have:,} -> {size:,} instances: {commits} commits of {batch:,}, "
        f"{took:.1f} s, {(size - have) / took:,.0f} rows/s"
    )
    return size


def bench_branching(target: Target, size: int, samples: int, report: Report) -> list[float]:
    store, bare = target.store, target.bare
    ours: list[float] = []
    baseline: list[float] = []
    row = bare_rows(range(1))
    for index in range(samples):
        ours.append(timed(functools.partial(store.create_branch, BIG, f"branch{size}_{index}")))
        baseline.append(
            timed(functools.partial(bare.multi_row, "bare_branch", row, 1, one_tx=True))
        )
    report.result(f"2. create_branch at {size:,} instances: {ms(ours)}")
    report.result(f"   bare one-row INSERT transaction:     {ms(baseline)}")
    report.result(f"     {versus(ours, baseline)}")
    return ours


# -- 3. diff ----------------------------------------------------------------------------


def bench_diffs(
    target: Target, size: int, sizes: Sizes, samples: int, report: Report
) -> dict[int, list[float]]:
    store = target.store
    found: dict[int, list[float]] = {}
    for k in sizes.diff_ks:
        if k > size:
            continue
        branch = f"diff{size}_{k}"
        store.create_branch(BIG, branch)
        step = size // k
        changes = updates([i * step for i in range(k)], "diff")
        store.commit(BIG, CommitRequest(branch, AUTHOR, f"change {k}", changes))
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            result = store.diff(BIG, "main", branch)
            times.append(time.perf_counter() - started)
            assert len(result.changes) == k, (len(result.changes), k)
        found[k] = times
        report.result(f"3. diff main..branch, {k:>5,} changed, {size:>9,} instances: {ms(times)}")
    return found


# -- 4. merge ---------------------------------------------------------------------------


def bench_merge(target: Target, size: int, sizes: Sizes, runs: int, report: Report) -> None:
    store, bare = target.store, target.bare
    bare.create("bare_merge")
    count = min(sizes.merge_docs, size // (runs + 1))
    merges: list[float] = []
    commits: list[float] = []
    baseline: list[float] = []
    for run in range(runs):
        branch = f"merge{run}"
        store.create_branch(BIG, branch)
        window = range(size - (run + 1) * count, size - run * count)
        request = CommitRequest(branch, AUTHOR, "updates", updates(window, f"merge {run}"))
        commits.append(timed(functools.partial(store.commit, BIG, request)))
        # Main moves too (an instance outside the window), so the merge is three-way.
        store.commit(BIG, CommitRequest("main", AUTHOR, "main moves", updates([run], "main")))
        started = time.perf_counter()
        result = store.merge(BIG, branch, "main", author=AUTHOR)
        merges.append(time.perf_counter() - started)
        assert result.status == "merged", result
        assert result.changed == count, result
        rows = bare_rows(window)
        baseline.append(
            timed(functools.partial(bare.multi_row, "bare_merge", rows, 1000, one_tx=True))
        )
        report.progress(
            f"merge run {run + 1}/{runs}: merge {merges[-1]:.3f} s, branch commit "
            f"{commits[-1]:.3f} s, bare {baseline[-1]:.3f} s"
        )
    report.result(
        f"4. merge of {count:,} changed instances into main ({size:,} instances, "
        f"main now {depth_of(target, 'main')} chain levels)"
    )
    report.result(f"   merge                              {seconds(merges)}")
    report.result(f"   store commit of the same updates   {seconds(commits)}")
    report.result(f"     merge/commit {med(merges) / med(commits):.2f}x time")
    report.result(f"   bare multi-row INSERT, one tx      {seconds(baseline)}")
    report.result(f"     {versus(merges, baseline)}")
    report.target(f"merge of {count:,} < 2 s", f"{med(merges):.3f} s", med(merges) < 2)


# -- 5. reads through forks -------------------------------------------------------------


def bench_deep_reads(target: Target, size: int, sizes: Sizes, samples: int, report: Report) -> None:
    store = target.store
    parent = "main"
    for level in range(1, sizes.depth + 1):
        name = f"fork{level}"
        store.create_branch(BIG, name, parent)
        # The parent moves on first: otherwise the fork's commit would simply extend the
        # parent's timeline (its head is the tip) and the chain would not get any deeper.
        moved = updates([size - 2 * level], parent)
        store.commit(BIG, CommitRequest(parent, AUTHOR, "moves on", moved))
        changed = updates([size - 2 * level - 1], name)
        store.commit(BIG, CommitRequest(name, AUTHOR, f"fork {level}", changed))
        parent = name
    deep = parent
    levels = {ref: depth_of(target, ref) for ref in ("main", deep)}
    assert levels[deep] == levels["main"] + sizes.depth, levels
    rng = random.Random(7)
    times: dict[tuple[str, str], list[float]] = {}
    pages: dict[str, int] = {}
    counts: dict[str, int] = {}

    def gets(ref: str, picked: list[int]) -> None:
        for index in picked:
            assert store.get(BIG, ref, ref_of(index)) is not None

    def listing(ref: str) -> None:
        pages[ref] = len(store.list_docs(BIG, ref, "instance", CLASS_ID, limit=sizes.page).items)

    def counting(ref: str) -> None:
        counts[ref] = store.count(BIG, ref, "instance", CLASS_ID)

    for sample in range(samples):
        untouched = range(size - 2 * sizes.depth - 2)
        picked = rng.sample(untouched, min(sizes.gets_per_sample, len(untouched)))
        for ref in ("main", deep) if sample % 2 == 0 else (deep, "main"):
            took = timed(functools.partial(gets, ref, picked))
            times.setdefault(("get", ref), []).append(took / len(picked))
            times.setdefault(("list_docs", ref), []).append(timed(functools.partial(listing, ref)))
            times.setdefault(("count", ref), []).append(timed(functools.partial(counting, ref)))
    assert counts["main"] == counts[deep] == size, counts
    assert pages["main"] == pages[deep] == min(sizes.page, size), pages
    report.result(
        f"5. reads at {size:,} instances, {deep} ({sizes.depth} forks deep) vs main; chain "
        f"levels: main {levels['main']}, {deep} {levels[deep]}"
    )
    for operation in ("get", "list_docs", "count"):
        on_main, on_deep = times[(operation, "main")], times[(operation, deep)]
        report.result(f"   {operation:<9} main {ms(on_main)}")
        report.result(f"   {operation:<9} {deep:<4} {ms(on_deep)}")
        report.result(f"     {deep}/main {med(on_deep) / med(on_main):.2f}x time")
    ratio = med(times[("get", deep)]) / med(times[("get", "main")])
    report.target(f"get on {deep} < 2x main", f"{ratio:.2f}x", ratio < 2)


# -- 6. replay --------------------------------------------------------------------------


def replay(database: SqlDatabase, page: int, state: dict[tuple[int, str, str], Data] | None) -> int:
    """Reads the whole log in keyset pages; applies document events into `state` if given."""
    c = events.c
    query = select(
        c.position, c.db_id, c.branch, c.aggregate_type, c.aggregate_id, c.event_type, c.payload
    ).order_by(c.position)
    last, total = 0, 0
    while True:
        with database.read() as connection:
            rows = connection.execute(query.where(c.position > last).limit(page)).all()
        if not rows:
            return total
        total += len(rows)
        last = rows[-1].position
        if state is None:
            continue
        for row in rows:
            if row.aggregate_type not in ("class", "instance"):
                continue
            key = (row.db_id, row.branch, row.aggregate_id)
            after = apply_event(state.get(key), row.event_type, row.payload)
            if after is None:
                state.pop(key, None)
            else:
                state[key] = after


def bench_replay(target: Target, sizes: Sizes, runs: int, report: Report) -> None:
    db_id = target.store.get_database(BIG).db_id
    live = target.store.count(BIG, "main", "instance", CLASS_ID)
    applied: list[float] = []
    read_only: list[float] = []
    total = 0
    for run in range(1, runs + 1):
        started = time.perf_counter()
        total = replay(target.database, sizes.replay_page, None)
        read_only.append(time.perf_counter() - started)
        state: dict[tuple[int, str, str], Data] = {}
        started = time.perf_counter()
        replay(target.database, sizes.replay_page, state)
        applied.append(time.perf_counter() - started)
        on_main = sum(1 for key in state if key[0] == db_id and key[1] == "main")
        assert on_main == live, (on_main, live)
        del state
        report.progress(
            f"replay run {run}/{runs}: {total / applied[-1]:,.0f} events/s applied, "
            f"{total / read_only[-1]:,.0f} events/s read only"
        )
    report.result(f"6. replay of the whole log, {total:,} events, pages of {sizes.replay_page}")
    report.result(f"   read + apply_event   {rate(total, applied, 'events/s')}")
    report.result(f"   read only (baseline) {rate(total, read_only, 'events/s')}")
    report.result(f"     {versus(applied, read_only, 'replay')}")


# -- the run ----------------------------------------------------------------------------


def bench_engine(engine: str, sizes: Sizes, runs: int, server_url: str, do_analyze: bool) -> Report:
    report = Report(engine)
    fast = runs * FAST_FACTOR
    with scratch(engine, server_url) as target:
        if engine == "postgresql":
            with target.database.read() as connection:
                version = connection.execute(text("SHOW server_version")).scalar_one()
                vacuum = connection.execute(text("SHOW autovacuum")).scalar_one()
            report.progress(f"PostgreSQL {version}, autovacuum {vacuum}")
        else:
            report.progress(f"SQLite {sqlite3.sqlite_version}, WAL, synchronous=FULL")
        report.progress(f"store code: {Path(spice_harvester.__file__).parent}")
        report.progress("1. appends")
        bench_appends(target, sizes, runs, report, do_analyze)
        target.bare.create("bare_branch")
        target.store.create_database(BIG)
        small, middle, large = sizes.checkpoints
        branch_times: dict[int, list[float]] = {}
        small_diffs: dict[int, list[float]] = {}
        have = 0
        for size in (small, middle, large):
            report.progress(f"building main to {size:,} instances")
            have = build_to(target, have, size, sizes.build_batch, report)
            analyze(target, report, do_analyze)
            branch_times[size] = bench_branching(target, size, fast, report)
            if size == small:
                report.progress("3. diffs on the small database")
                small_diffs = bench_diffs(target, size, sizes, fast, report)
            if size == middle:
                report.progress("5. reads through forks")
                bench_deep_reads(target, size, sizes, fast, report)
        slowest = max(med(times) for times in branch_times.values())
        flat = med(branch_times[large]) / med(branch_times[small])
        report.result(f"   create_branch {large:,} / {small:,} instances: {flat:.2f}x time")
        report.target(
            "create_branch < 5 ms at every size", f"{slowest * 1000:.2f} ms", slowest < 0.005
        )
        report.progress("3. diffs on the large database")
        large_diffs = bench_diffs(target, large, sizes, fast, report)
        for k, times in large_diffs.items():
            if k in small_diffs:
                report.result(
                    f"   diff of {k:,}: {large:,} / {small:,} instances "
                    f"{med(times) / med(small_diffs[k]):.2f}x time"
                )
        top = max(large_diffs)
        report.target(
            f"diff of {top:,} at {large:,} < 100 ms",
            f"{med(large_diffs[top]) * 1000:.1f} ms",
            med(large_diffs[top]) < 0.1,
        )
        report.progress("4. merge")
        bench_merge(target, large, sizes, runs, report)
        report.progress("6. replay")
        bench_replay(target, sizes, runs, report)
    report.finished = time.monotonic()
    report.progress("done, scratch database dropped")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every size")
    parser.add_argument("--quick", action="store_true", help="same as --scale 0.01")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="server for scratch dbs")
    parser.add_argument("--no-analyze", action="store_true", help="no ANALYZE on PostgreSQL")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    sizes = sizes_for(0.01 if args.quick else args.scale)
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    print(f"sizes: {sizes}, runs: {args.runs}", flush=True)
    reports = [
        bench_engine(engine, sizes, args.runs, args.postgres_url, not args.no_analyze)
        for engine in engines
    ]
    for report in reports:
        print(f"\n=== {report.engine} ({report.finished - report.started:.0f} s) ===")
        for line in report.lines:
            print(line)
    print("\n=== targets ===")
    for report in reports:
        for name, value, met in report.targets:
            print(f"{report.engine:<10} {name:<40} {value:>12}  {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
