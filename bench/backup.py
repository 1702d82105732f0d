"""Backup and restore of a database of N instances and C commits, against the engine's own
tools on the same data, in one run.

Run:
    .venv/bin/python bench/backup.py             # both engines, 20k instances, 200 commits
    .venv/bin/python bench/backup.py --engine sqlite --instances 1000000 --commits 10000 --runs 1
    .venv/bin/python bench/backup.py --quick     # 2,000 instances, 20 commits, one run

Each engine gets a scratch database (a temporary SQLite file, or `spice_bench_<hex>` on the
PostgreSQL server named by --postgres-url, dropped at the end), filled through the versioned
store (not HTTP), with progress: C commits, each creating N/C instances and updating
--updates earlier ones; half-way a branch forks, takes five commits of updates and is merged
back (a three-way merge) at the end; plus a few API keys, a pull request and an audit entry
per ten commits. Then, --runs times:

- backup: `create_backup` of everything (what `spice backup create --no-config` does), its
  time and size, against the engine's own copy of the same database: `pg_dump -Fc` (custom
  format, compressed) on PostgreSQL; on SQLite the online backup API (`sqlite3` `.backup`,
  what `sqlite3 db .backup` runs), whose file is not compressed, so its gzip size is shown too;
- restore: `restore_backup` into a new, migrated, empty database of the same engine (every
  commit id and state hash checked, then the read models rebuilt), with its phases, against
  `pg_restore` into a new database / a copy of the backup file into place. The restored
  branch heads are checked against the source's (not timed);
- verify (unless --no-verify): the replay check of `spice verify` on the restored database.

Figures are medians with min and max over the runs; ratios are of medians. Absolute times
drift on the shared 2-core machines; ratios less so. The baselines restore bytes; ours
re-derives and checks every commit and rebuilds the read models, so it does more work by
design: the ratios say what that costs.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from spice_harvester.adapters.sql.api_keys import SqlApiKeys
from spice_harvester.adapters.sql.audit import SqlAuditLog
from spice_harvester.adapters.sql.backup import RestoreRequest, create_backup, restore_backup
from spice_harvester.adapters.sql.backup.integrity import verify_database
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.pull_requests import SqlPullRequests
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.settings.model import DatabasePoolSettings

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "bench"
POOL = DatabasePoolSettings(pool_size=4, max_overflow=2, pool_timeout=60)
FEATURE_COMMITS = 5


@dataclass
class Scratch:
    """A scratch database and, for the baselines, where it lives."""

    database: SqlDatabase
    url: str
    folder: Path


@contextmanager
def scratch(engine: str, server_url: str, folder: Path) -> Iterator[Scratch]:
    if engine == "sqlite":
        place = Path(tempfile.mkdtemp(prefix="spice_bench_", dir=folder))
        url = f"sqlite:///{place / 'spice.sqlite3'}"
        database = SqlDatabase(url, POOL)
        try:
            yield Scratch(database, url, place)
        finally:
            database.close()
            shutil.rmtree(place, ignore_errors=True)
        return
    server = make_url(server_url)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"spice_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    database = SqlDatabase(url, POOL)
    try:
        yield Scratch(database, url, folder)
    finally:
        database.close()
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# -- the data ---------------------------------------------------------------------------


def person(n: int) -> DocRef:
    return DocRef.of_instance("Person", f"p{n:08}")


def fill(database: SqlDatabase, instances: int, commits: int, updates: int) -> None:
    """C commits of N/C creations and `updates` updates each; a branch forked half-way with
    five commits of its own, merged at the end; keys, a pull request, audit entries."""
    store = SqlVersionedStore(database)
    store.create_database(DB, "backup benchmark", actor="bench")
    label = Change(DocRef.of_class("Person"), ChangeKind.CREATE, {"label": "Person"})
    store.commit(DB, CommitRequest("main", "bench", "class", (label,)))
    audit = SqlAuditLog(database)
    per_commit = max(1, instances // commits)
    created, started, shown = 0, time.perf_counter(), 0
    for number in range(commits):
        last = number == commits - 1
        count = instances - created if last else min(per_commit, instances - created)
        changes = [
            Change(
                person(n),
                ChangeKind.CREATE,
                {"name": f"Person {n}", "city": "서울", "age": n % 90, "tags": [f"t{n % 97}"]},
            )
            for n in range(created, created + count)
        ]
        if created:
            step = max(1, created // max(1, updates))
            changes += [
                Change(person(n), ChangeKind.UPDATE, {"age": number % 90, "seen": number})
                for n in range(0, created, step)
            ][:updates]
        store.commit(DB, CommitRequest("main", "bench", f"commit {number}", tuple(changes)))
        created += count
        if number == commits // 2:
            _feature(store, created)
        if number % 10 == 0:
            audit.append(service="oms", actor="bench", action="write", outcome="ok")
        percent = (number + 1) * 100 // commits
        if percent >= shown + 10:
            shown = percent - percent % 10
            analyze(database)
            elapsed = time.perf_counter() - started
            print(
                f"  filled {shown:3}%: {created:,} instances, {number + 1:,} commits "
                f"({elapsed:.0f} s, {created / elapsed:,.0f} instances/s)",
                flush=True,
            )
    store.merge(DB, "feature", "main", author="bench")
    keys = SqlApiKeys(database)
    for index in range(3):
        keys.create(name=f"key-{index}", role="viewer", databases=None, created_by="bench")
    SqlPullRequests(database).open(
        DB, source="feature", target="main", title="bench", description=None, author="bench"
    )


def analyze(database: SqlDatabase) -> None:
    """PostgreSQL: statistics, as autovacuum would gather them (the server here may run
    without it, and the store's key lookups need them once tables are large)."""
    if database.engine_name == "postgresql":
        with database.transaction() as connection:
            connection.execute(text("ANALYZE"))


def _feature(store: SqlVersionedStore, created: int) -> None:
    store.create_branch(DB, "feature", actor="bench")
    for number in range(FEATURE_COMMITS):
        changes = tuple(
            Change(person(n), ChangeKind.UPDATE, {"city": f"Busan {number}"})
            for n in range(number, created, max(1, created // 50))
        )
        store.commit(DB, CommitRequest("feature", "bench", f"feature {number}", changes))


# -- one run ----------------------------------------------------------------------------


@dataclass
class Samples:
    backup: list[float] = field(default_factory=list)
    backup_bytes: list[int] = field(default_factory=list)
    baseline_backup: list[float] = field(default_factory=list)
    baseline_bytes: list[int] = field(default_factory=list)
    baseline_gzip_bytes: list[int] = field(default_factory=list)
    restore: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    baseline_restore: list[float] = field(default_factory=list)
    verify: list[float] = field(default_factory=list)


class PhaseClock:
    """A reporter that notes when each step of a restore begins."""

    PHASES = (
        ("checking", "checksums"),
        ("restoring " + DB, "histories"),
        ("restoring API", "system tables"),
        ("rebuilding", "read models"),
    )

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def begin(self, description: str, total: int | None) -> None:
        for prefix, phase in self.PHASES:
            if description.startswith(prefix) and (not self.marks or self.marks[-1][0] != phase):
                self.marks.append((phase, time.perf_counter()))

    def advance(self, amount: int = 1) -> None:
        return None

    def durations(self, end: float) -> dict[str, float]:
        ends = [at for _, at in self.marks[1:]] + [end]
        return {phase: stop - at for (phase, at), stop in zip(self.marks, ends, strict=True)}


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def baseline_backup(engine: str, source: Scratch, target: Path) -> tuple[float, int, int]:
    """Seconds, bytes, and gzip bytes (SQLite; the same bytes for pg_dump's compressed file)."""
    started = time.perf_counter()
    if engine == "sqlite":
        database_file = source.url.removeprefix("sqlite:///")
        with sqlite3.connect(database_file) as live, sqlite3.connect(target) as copy:
            live.backup(copy)
        seconds = time.perf_counter() - started
        with target.open("rb") as raw, gzip.open(target.with_suffix(".gz"), "wb", 6) as packed:
            shutil.copyfileobj(raw, packed)
        return seconds, target.stat().st_size, target.with_suffix(".gz").stat().st_size
    subprocess.run(["pg_dump", "-Fc", "-f", str(target), "-d", source.url], check=True)
    seconds = time.perf_counter() - started
    return seconds, target.stat().st_size, target.stat().st_size


def baseline_restore(engine: str, dump: Path, target: Scratch) -> float:
    started = time.perf_counter()
    if engine == "sqlite":
        shutil.copyfile(dump, target.folder / "restored.sqlite3")
        with sqlite3.connect(target.folder / "restored.sqlite3") as opened:
            opened.execute("SELECT count(*) FROM commits").fetchone()
    else:
        subprocess.run(["pg_restore", "--no-owner", "-d", target.url, str(dump)], check=True)
    return time.perf_counter() - started


def one_run(engine: str, source: Scratch, args: argparse.Namespace, samples: Samples) -> None:
    work = Path(tempfile.mkdtemp(prefix="spice_bench_run_", dir=args.folder))
    try:
        started = time.perf_counter()
        metadata = create_backup(source.database, work / "backup")
        samples.backup.append(time.perf_counter() - started)
        samples.backup_bytes.append(folder_bytes(work / "backup"))
        seconds, size, packed = baseline_backup(engine, source, work / "baseline.dump")
        samples.baseline_backup.append(seconds)
        samples.baseline_bytes.append(size)
        samples.baseline_gzip_bytes.append(packed)
        with scratch(engine, args.postgres_url, args.folder) as target:
            target.database.migrate()
            clock = PhaseClock()
            started = time.perf_counter()
            restore_backup(target.database, RestoreRequest(work / "backup"), clock)
            ended = time.perf_counter()
            samples.restore.append(ended - started)
            for phase, spent in clock.durations(ended).items():
                samples.phases.setdefault(phase, []).append(spent)
            store = SqlVersionedStore(target.database)
            for branch, head in metadata.databases[DB].branch_heads.items():
                restored = store.resolve(DB, branch)
                assert (restored.commit_id, restored.state_hash) == (head.head, head.state_hash)
            if args.verify:
                started = time.perf_counter()
                problems = verify_database(target.database, DB, _quiet).problems
                samples.verify.append(time.perf_counter() - started)
                assert not problems, problems[:3]
        with scratch(engine, args.postgres_url, args.folder) as target:
            dump = work / "baseline.dump"
            samples.baseline_restore.append(baseline_restore(engine, dump, target))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _quiet(description: str, total: int | None) -> Callable[[int], None]:
    return lambda amount: None


# -- output -----------------------------------------------------------------------------


def seconds(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples):8.2f} s (min {min(samples):.2f}, "
        f"max {max(samples):.2f}, n={len(samples)})"
    )


def megabytes(samples: list[int]) -> str:
    return f"{statistics.median(samples) / 1_000_000:10.1f} MB"


def ratio(ours: list[float] | list[int], theirs: list[float] | list[int]) -> str:
    return f"{statistics.median(ours) / statistics.median(theirs):.1f}x"


def bench(engine: str, args: argparse.Namespace) -> list[str]:
    tool = "pg_dump -Fc" if engine == "postgresql" else "sqlite3 .backup"
    back = "pg_restore" if engine == "postgresql" else "file copy"
    with scratch(engine, args.postgres_url, args.folder) as source:
        source.database.migrate()
        print(f"--- {engine}: filling {args.instances:,} instances in {args.commits:,} commits")
        started = time.perf_counter()
        fill(source.database, args.instances, args.commits, args.updates)
        filled = time.perf_counter() - started
        samples = Samples()
        for run in range(args.runs):
            print(f"  run {run + 1} of {args.runs}", flush=True)
            one_run(engine, source, args, samples)
    lines = [
        f"data: {args.instances:,} instances, {args.commits:,} commits on main + "
        f"{FEATURE_COMMITS} on a branch + a merge, filled in {filled:.0f} s",
        f"backup, spice           {seconds(samples.backup)}  {megabytes(samples.backup_bytes)}",
        f"backup, {tool:15} {seconds(samples.baseline_backup)}  "
        f"{megabytes(samples.baseline_bytes)}",
    ]
    if engine == "sqlite":
        lines.append(f"  (the .backup file gzipped: {megabytes(samples.baseline_gzip_bytes)})")
    lines += [
        f"restore, spice          {seconds(samples.restore)}",
        *(f"  {phase:21} {seconds(spent)}" for phase, spent in samples.phases.items()),
        f"restore, {back:14} {seconds(samples.baseline_restore)}",
    ]
    if samples.verify:
        lines.append(f"verify (replay check)   {seconds(samples.verify)}")
    smaller = samples.baseline_gzip_bytes if engine == "sqlite" else samples.baseline_bytes
    lines += [
        f"backup time  spice/{tool}: {ratio(samples.backup, samples.baseline_backup)}",
        f"backup size  spice/{tool}{' gzipped' if engine == 'sqlite' else ''}: "
        f"{ratio(samples.backup_bytes, smaller)}",
        f"restore time spice/{back}: {ratio(samples.restore, samples.baseline_restore)}",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--instances", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--updates", type=int, default=10, help="updates per commit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--quick", action="store_true", help="2,000 instances, 20 commits, 1 run")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="server for scratch dbs")
    parser.add_argument(
        "--folder", type=Path, default=None, help="for scratch files (default: the temp folder)"
    )
    args = parser.parse_args()
    if args.quick:
        args.instances, args.commits, args.runs = 2000, 20, 1
    if min(args.instances, args.commits, args.runs) < 1 or args.updates < 0:
        parser.error("--instances, --commits and --runs must be at least 1, --updates 0 or more")
    if args.commits > args.instances:
        parser.error("--commits cannot exceed --instances (each commit creates instances)")
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    for engine in engines:
        lines = bench(engine, args)
        print(f"\n=== {engine} ===")
        for line in lines:
            print(line, flush=True)


if __name__ == "__main__":
    main()
