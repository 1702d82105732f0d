"""Imports end to end against a bare bulk load of the same rows, on SQLite and PostgreSQL.

Run:
    .venv/bin/python bench/imports.py                   # both engines, a 1M-row CSV (long)
    .venv/bin/python bench/imports.py --quick           # 20,000 rows, one run of each
    .venv/bin/python bench/imports.py --engine sqlite --rows 200000 --runs 3

Two workloads, each into a scratch database of its own per run (a temporary SQLite file, or
`spice_bench_<hex>` on the PostgreSQL server named by --postgres-url, dropped at the end):

1. The 3PL sample folder (tests/data/3pl, 15 tables, about 35,000 rows) as `spice import
   folder` does it: read every CSV, suggest the ontology, create the classes, import every
   table (every row checked, then written in chunks of 5,000, each a commit).
2. A CSV of --rows rows of twelve mixed columns (Funnel's `generate_mixed_table`: ids,
   integers, decimals, ISO dates and datetimes, emails, phone numbers, money in five
   currencies, booleans, an enum, free text, zip codes) as `spice import csv --create-class`
   does it: read, profile every row, create the suggested class, import.

Ours is timed from the file's bytes to the last commit, in process (no HTTP): rows per
second over the whole. The baseline loads the same rows, parsed by Python's csv module, into
plain tables of TEXT columns with no index: COPY on PostgreSQL (psycopg `cursor.copy`), one
`executemany` INSERT transaction per table on SQLite (WAL, synchronous=FULL, as the store
runs). The ratio is ours over the baseline in time ("x slower"). Each figure is the median
of --runs runs with min and max; the phases of ours (read and profile, check, write) are
printed from the last run.

On PostgreSQL a thread runs ANALYZE every 20 s while ours runs, as autovacuum would: the
server here may have autovacuum off (it is printed), and with statistics from an empty
database the store's per-commit lookups read the whole timeline, so each chunk's commit
grows with the rows before it. --no-analyze leaves them stale to show that case.
"""

from __future__ import annotations

import argparse
import csv
import io
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from spice_harvester.adapters.sql.commands import SqlCommandStore
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.commands import CommandRunner
from spice_harvester.application.funnel.synthetic import generate_mixed_table
from spice_harvester.application.imports.folder import folder_identity, plan_folder
from spice_harvester.application.imports.plan import (
    import_command_id,
    new_class_plan,
    read_source,
)
from spice_harvester.application.imports.service import ImportOptions, ImportService
from spice_harvester.domain.ontology.schema import SchemaLimits
from spice_harvester.settings.model import DatabasePoolSettings

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ANALYZE_SECONDS = 20.0
THREE_PL = Path(__file__).resolve().parent.parent / "tests" / "data" / "3pl"
DB = "bench"


@dataclass
class Phases:
    """Seconds spent reading and profiling, checking and writing (the last run's)."""

    marks: dict[str, float] = field(default_factory=dict)

    def shown(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.marks.items())


@dataclass(frozen=True)
class Target:
    engine: str
    url: str


@contextmanager
def scratch(engine: str, server_url: str, folder: Path) -> Iterator[Target]:
    if engine == "sqlite":
        path = folder / f"spice_{uuid.uuid4().hex[:8]}.sqlite3"
        try:
            yield Target(engine, f"sqlite:///{path}")
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    server = make_url(server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"spice_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield Target(engine, server.set(database=name).render_as_string(hide_password=False))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def service_on(target: Target, spool: Path) -> Iterator[ImportService]:
    database = SqlDatabase(target.url, DatabasePoolSettings())
    database.migrate()
    try:
        store = SqlVersionedStore(database)
        runner = CommandRunner(SqlCommandStore(database))
        yield ImportService(store, runner, SchemaLimits(), spool, actor="bench")
    finally:
        database.close()


@contextmanager
def analyzed(target: Target, enabled: bool) -> Iterator[None]:
    """ANALYZE every ANALYZE_SECONDS on PostgreSQL while the block runs."""
    if target.engine != "postgresql" or not enabled:
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(ANALYZE_SECONDS):
            with psycopg.connect(target.url, autocommit=True) as connection:
                connection.execute("ANALYZE")

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def import_folder(target: Target, spool: Path, phases: Phases) -> int:
    with service_on(target, spool) as service:
        began = time.perf_counter()
        plan = plan_folder(THREE_PL)
        planned = time.perf_counter()
        report = service.folder(DB, plan, folder_identity(THREE_PL, DB, "main"), ImportOptions())
        phases.marks["read, suggest and profile"] = planned - began
        phases.marks["classes and rows"] = time.perf_counter() - planned
        return sum(int(t.get("rows_written", 0)) for t in report.tables.values())


def import_csv(target: Target, spool: Path, file: Path, phases: Phases) -> int:
    with service_on(target, spool) as service:
        began = time.perf_counter()
        content = file.read_bytes()
        source = read_source(file.name, content)
        definition, plan = new_class_plan(source, "Mixed")
        read = time.perf_counter()
        phases.marks["read and profile"] = read - began
        service.store.create_database(DB, actor="bench")
        command = import_command_id(content, {"db": DB, "class": definition})
        service.create_class(DB, "main", definition, f"{command}:class")
        checked: list[float] = []

        def progress(shown: dict[str, Any]) -> None:
            if shown.get("phase") == "writing" and not checked:
                checked.append(time.perf_counter())

        record = service.table(DB, plan, ImportOptions(), command, {"bench": command}, progress)
        done = time.perf_counter()
        phases.marks["check"] = (checked[0] if checked else done) - read
        phases.marks["write"] = done - (checked[0] if checked else done)
        written = int((record.result or {}).get("rows_written", 0))
        if written != plan.total:
            raise SystemExit(f"only {written} of {plan.total} rows were written: {record}")
        return written


def bare_tables(files: Sequence[Path]) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each file's header and rows as the baseline loads them."""
    loaded = []
    for file in files:
        with file.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            loaded.append((file.stem, header, list(reader)))
    return loaded


def bare_load(target: Target, files: Sequence[Path]) -> float:
    began = time.perf_counter()
    tables = bare_tables(files)
    if target.engine == "sqlite":
        _executemany(target, tables)
    else:
        _copy(target, tables)
    return time.perf_counter() - began


def _executemany(target: Target, tables: list[tuple[str, list[str], list[list[str]]]]) -> None:
    path = make_url(target.url).database
    assert path is not None
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        for name, header, rows in tables:
            columns = ", ".join(f'"{c}" TEXT' for c in header)
            connection.execute(f'CREATE TABLE "bare_{name}" ({columns})')
            marks = ", ".join("?" for _ in header)
            insert = f'INSERT INTO "bare_{name}" VALUES ({marks})'  # noqa: S608 - own names
            connection.execute("BEGIN")
            connection.executemany(insert, rows)
            connection.execute("COMMIT")
    finally:
        connection.close()


def _copy(target: Target, tables: list[tuple[str, list[str], list[list[str]]]]) -> None:
    with psycopg.connect(target.url, autocommit=True) as connection:
        for name, header, rows in tables:
            table = sql.Identifier(f"bare_{name}")
            columns = sql.SQL(", ").join(
                sql.SQL("{} TEXT").format(sql.Identifier(c)) for c in header
            )
            connection.execute(sql.SQL("CREATE TABLE {} ({})").format(table, columns))
            with connection.transaction(), connection.cursor() as cursor:
                statement = sql.SQL("COPY {} FROM STDIN").format(table)
                with cursor.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)


def spread(samples: Sequence[float], fmt: Callable[[float], str]) -> str:
    return (
        f"median {fmt(statistics.median(samples))} "
        f"(min {fmt(min(samples))}, max {fmt(max(samples))}, n={len(samples)})"
    )


def measure(
    name: str,
    engine: str,
    runs: int,
    server_url: str,
    ours: Callable[[Target, Path, Phases], int],
    files: Sequence[Path],
    *,
    analyze: bool,
) -> None:
    ours_s: list[float] = []
    bare_s: list[float] = []
    rows = 0
    phases = Phases()
    with tempfile.TemporaryDirectory(prefix="spice_bench_") as folder:
        scratch_dir = Path(folder)
        for _ in range(runs):
            with scratch(engine, server_url, scratch_dir) as target, analyzed(target, analyze):
                began = time.perf_counter()
                rows = ours(target, scratch_dir / "spool", phases)
                ours_s.append(time.perf_counter() - began)
            with scratch(engine, server_url, scratch_dir) as target:
                bare_s.append(bare_load(target, files))
    baseline = "COPY" if engine == "postgresql" else "executemany"
    ratio = statistics.median(ours_s) / statistics.median(bare_s)
    print(f"  {name}: {rows:,} rows")
    print(f"    import    {spread([rows / s for s in ours_s], _rate)}")
    print(f"    {baseline:9} {spread([rows / s for s in bare_s], _rate)}")
    print(f"    import/{baseline}: {ratio:.1f}x the time; phases (last run): {phases.shown()}")
    sys.stdout.flush()


def _server_note(engine: str, server_url: str, analyze: bool) -> str:
    if engine != "postgresql":
        return ""
    admin = make_url(server_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False)) as connection:
        row = connection.execute("SHOW autovacuum").fetchone()
    state = row[0] if row else "unknown"
    every = f"ANALYZE every {ANALYZE_SECONDS:.0f} s while importing" if analyze else "no ANALYZE"
    return f" (autovacuum {state}; {every})"


def _rate(value: float) -> str:
    return f"{value:,.0f} rows/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the mixed CSV")
    parser.add_argument("--runs", type=int, default=3, help="runs of each workload")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, one run each")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--no-analyze", action="store_true", help="no ANALYZE on PostgreSQL")
    args = parser.parse_args()
    rows = 20_000 if args.quick else args.rows
    runs = 1 if args.quick else args.runs
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    folder_files = sorted(THREE_PL.glob("*.csv"))
    with tempfile.TemporaryDirectory(prefix="spice_bench_csv_") as folder:
        mixed = Path(folder) / "mixed.csv"
        frame = generate_mixed_table(rows, seed=7)
        buffer = io.BytesIO()
        frame.write_csv(buffer)
        mixed.write_bytes(buffer.getvalue())
        del frame, buffer
        analyze = not args.no_analyze
        for engine in engines:
            print(f"{engine}:{_server_note(engine, args.postgres_url, analyze)}")
            measure(
                "3PL folder",
                engine,
                runs,
                args.postgres_url,
                import_folder,
                folder_files,
                analyze=analyze,
            )

            def ours(target: Target, spool: Path, phases: Phases) -> int:
                return import_csv(target, spool, mixed, phases)

            name = f"mixed CSV ({rows:,} rows)"
            measure(name, engine, runs, args.postgres_url, ours, [mixed], analyze=analyze)


if __name__ == "__main__":
    main()
