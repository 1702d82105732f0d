"""OMS instance writes over HTTP, against a bare FastAPI app and bare-driver inserts.

Run: .venv/bin/python bench/oms.py [--engine sqlite|postgresql|both] [--runs 5] [--quick]

1. Create-instance latency (p50, p99) and throughput with 1 and with 16 concurrent clients,
   each client a thread with its own keep-alive httpx.Client. The baseline is a bare FastAPI
   app in its own uvicorn process with one POST route on the same path that parses and
   validates the same JSON body with a pydantic model and answers 202: the floor any Python
   HTTP stack pays here. Same client code, same concurrency.
2. Bulk create rows/s: 10k rows in one request (and 100k unless --quick; the OMS refuses more
   than 10k instances per request, so 100k is ten 10k requests in a row). The baseline writes
   the same rows, as JSON text beside their key, into a bare table in one transaction: COPY
   (psycopg `cursor.copy`) on PostgreSQL, sqlite3 `executemany` on SQLite (WAL).

A fresh OMS database (a `database/create`) per run. PostgreSQL runs use a scratch database
`spice_bench_<hex>` on --postgres-url, dropped WITH (FORCE) at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.processes import free_port, stop, wait_healthy

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLASS = "Item"
ITEM_CLASS: dict[str, Any] = {
    "id": CLASS,
    "label": "Item",
    "key": ["item_id"],
    "properties": [
        {"name": "item_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
        {"name": "quantity", "type": "integer"},
        {"name": "price", "type": "decimal"},
        {"name": "received_on", "type": "date"},
        {"name": "active", "type": "boolean"},
    ],
}

BARE_APP = """
import datetime
import decimal

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Item(BaseModel):
    item_id: str
    name: str | None = None
    quantity: int | None = None
    price: decimal.Decimal | None = None
    received_on: datetime.date | None = None
    active: bool | None = None


class Create(BaseModel):
    data: Item


app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/api/v1/instances/{db}/async/{class_id}/create", status_code=202)
async def create(db: str, class_id: str, body: Create):
    return JSONResponse({"data": {"aggregate_id": body.data.item_id}}, status_code=202)
"""

Row = dict[str, Any]


def item(index: int, tag: str) -> Row:
    return {
        "item_id": f"{tag}-{index:07d}",
        "name": f"item number {index}",
        "quantity": index % 1000,
        "price": f"{index % 10000}.{index % 100:02d}",
        "received_on": f"2026-{1 + index % 12:02d}-{1 + index % 28:02d}",
        "active": index % 2 == 0,
    }


@contextmanager
def serving(
    command: Callable[[int], list[str]], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[str]:
    """Starts a server on a free port; yields its base URL; stops it."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, *command(port)],
            cwd=cwd,
            env={**env, "OMS_PORT": str(port), "OMS_HOST": "127.0.0.1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_healthy(f"http://127.0.0.1:{port}/health", process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n{log.read_text()}") from None
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def oms_server(root: Path, database_url: str | None) -> AbstractContextManager[str]:
    config = root / "config"
    config.mkdir(exist_ok=True)
    env = {**os.environ, "SPICE_CONFIG_DIR": str(config)}
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    command = ["-m", "spice_harvester", "serve", "oms"]
    return serving(lambda _port: command, env, root, root / "oms.log")


def bare_server(root: Path) -> AbstractContextManager[str]:
    (root / "bare_app.py").write_text(BARE_APP)
    return serving(
        lambda port: [
            "-m",
            "uvicorn",
            "--app-dir",
            str(root),
            "bare_app:app",
            "--log-level",
            "warning",
            "--no-access-log",
            "--port",
            str(port),
        ],
        dict(os.environ),
        root,
        root / "bare.log",
    )


def check(response: httpx.Response, status: int = 202) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")


def new_database(base: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=base, timeout=60) as client:
        check(client.post("/api/v1/database/create", json={"name": name}))
        check(client.post(f"/api/v1/database/{name}/ontology", json=ITEM_CLASS))
    return name


@dataclass
class Load:
    latencies: list[float]
    wall: float

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def drive(base: str, db: str, requests: int, clients: int, tag: str) -> Load:
    """`requests` create-instance calls spread over `clients` threads; each times its calls."""
    path = f"/api/v1/instances/{db}/async/{CLASS}/create"
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client_loop(worker: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/health")  # open the connection before the clock starts
            start.wait()
            for index in range(worker, requests, clients):
                body = {"data": item(index, tag)}
                began = time.perf_counter()
                response = client.post(path, json=body)
                mine.append(time.perf_counter() - began)
                if response.status_code != 202:
                    errors.append(f"{response.status_code} {response.text}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(w,)) for w in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return Load(latencies, wall)


def bulk_oms(base: str, db: str, rows: Sequence[Row]) -> float:
    path = f"/api/v1/instances/{db}/async/{CLASS}/bulk-create"
    batches = [rows[i : i + 10_000] for i in range(0, len(rows), 10_000)]
    with httpx.Client(base_url=base, timeout=600) as client:
        client.get("/health")
        began = time.perf_counter()
        for batch in batches:
            check(client.post(path, json={"instances": list(batch)}))
        return time.perf_counter() - began


def bulk_sqlite(folder: Path, rows: Sequence[Row]) -> float:
    path = folder / f"bare_{uuid.uuid4().hex[:8]}.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE item (item_id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        began = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO item (item_id, data) VALUES (?, ?)",
            ((row["item_id"], json.dumps(row)) for row in rows),
        )
        conn.execute("COMMIT")
        return time.perf_counter() - began
    finally:
        conn.close()
        path.unlink(missing_ok=True)


def bulk_postgres(dsn: str, rows: Sequence[Row]) -> float:
    table = f"bare_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {} (item_id TEXT PRIMARY KEY, data JSONB NOT NULL)").format(
                sql.Identifier(table)
            )
        )
        began = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            statement = sql.SQL("COPY {} (item_id, data) FROM STDIN").format(sql.Identifier(table))
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row((row["item_id"], json.dumps(row)))
        elapsed = time.perf_counter() - began
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
    return elapsed


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    server = make_url(server_url)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"spice_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def spread(samples: Sequence[float], fmt: Callable[[float], str]) -> str:
    return (
        f"median {fmt(statistics.median(samples))} "
        f"(min {fmt(min(samples))}, max {fmt(max(samples))}, n={len(samples)})"
    )


def as_ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def as_rate(value: float) -> str:
    return f"{value:,.0f}/s"


def report(
    name: str, ours: Sequence[float], base: Sequence[float], fmt: Callable[[float], str]
) -> None:
    ratio = statistics.median(ours) / statistics.median(base)
    print(f"  {name}")
    print(f"    oms      : {spread(ours, fmt)}")
    print(f"    baseline : {spread(base, fmt)}")
    print(f"    ratio oms/baseline (medians): {ratio:.3f}x", flush=True)


def bench_engine(engine: str, runs: int, quick: bool, server_url: str) -> None:
    loads = [(1, 100 if quick else 300), (16, 320 if quick else 1600)]
    sizes = [10_000] if quick else [10_000, 100_000]
    print(f"== engine {engine} ({runs} runs) ==", flush=True)
    scratch: AbstractContextManager[str | None] = (
        nullcontext(None) if engine == "sqlite" else scratch_postgres(server_url)
    )
    with tempfile.TemporaryDirectory(prefix="spice_bench_oms_") as folder, scratch as dsn:
        root = Path(folder)
        with oms_server(root, dsn) as oms, bare_server(root) as bare:
            p50: dict[tuple[str, int], list[float]] = {}
            p99: dict[tuple[str, int], list[float]] = {}
            tput: dict[tuple[str, int], list[float]] = {}
            bulk: dict[tuple[str, int], list[float]] = {}
            for run in range(1, runs + 1):
                db = new_database(oms)
                tag = f"r{run}"
                # Warm both servers the same way before timing.
                drive(oms, db, 20, 1, f"{tag}w")
                drive(bare, db, 20, 1, f"{tag}w")
                for clients, requests in loads:
                    for who, base in (("oms", oms), ("bare", bare)):
                        load = drive(base, db, requests, clients, f"{tag}c{clients}")
                        p50.setdefault((who, clients), []).append(load.percentile(0.50))
                        p99.setdefault((who, clients), []).append(load.percentile(0.99))
                        tput.setdefault((who, clients), []).append(load.throughput)
                    print(
                        f"run {run}/{runs} create x{clients}: oms "
                        f"{tput[('oms', clients)][-1]:,.0f} req/s "
                        f"p50 {as_ms(p50[('oms', clients)][-1])}, bare "
                        f"{tput[('bare', clients)][-1]:,.0f} req/s "
                        f"p50 {as_ms(p50[('bare', clients)][-1])}",
                        flush=True,
                    )
                for size in sizes:
                    rows = [item(i, f"{tag}b{size}") for i in range(size)]
                    ours = bulk_oms(oms, db, rows)
                    theirs = bulk_sqlite(root, rows) if dsn is None else bulk_postgres(dsn, rows)
                    bulk.setdefault(("oms", size), []).append(size / ours)
                    bulk.setdefault(("bare", size), []).append(size / theirs)
                    print(
                        f"run {run}/{runs} bulk {size:,}: oms {size / ours:,.0f} rows/s, "
                        f"bare {size / theirs:,.0f} rows/s",
                        flush=True,
                    )
    baseline = "COPY" if engine == "postgresql" else "sqlite3 executemany, one transaction"
    print(f"== results, engine {engine} ==")
    for clients, requests in loads:
        label = f"create instance, {clients} client(s), {requests} requests/run"
        report(f"{label}: p50", p50[("oms", clients)], p50[("bare", clients)], as_ms)
        report(f"{label}: p99", p99[("oms", clients)], p99[("bare", clients)], as_ms)
        report(
            f"{label}: throughput (req)",
            tput[("oms", clients)],
            tput[("bare", clients)],
            as_rate,
        )
    for size in sizes:
        report(
            f"bulk create {size:,} rows, baseline {baseline} (rows)",
            bulk[("oms", size)],
            bulk[("bare", size)],
            as_rate,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer requests, 10k bulk only")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    for engine in engines:
        bench_engine(engine, args.runs, args.quick, args.postgres_url)


if __name__ == "__main__":
    main()
