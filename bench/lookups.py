"""Unique-value and referrer checks by value lookup, against the scan they replaced.

Run: .venv/bin/python bench/lookups.py [--engine sqlite|postgresql|both] [--instances 10000]
                                       [--runs 7] [--quick]

A scratch database per engine (a temporary SQLite file, or `spice_bench_<hex>` on the
PostgreSQL server named by --postgres-url, dropped WITH (FORCE) at the end) holds N customers
(with a unique `email`) and N orders (each pointing at a customer), written in commits of
2000 through `SqlVersionedStore` as the services build it. Measured at the head of main, the
application's own checks (`application/instance_links.py`), each against a baseline giving the
same answer the way those checks worked before `VersionedStore.find_docs`: every instance of
the class read through `list_docs` pages and compared in Python.

1. Unique check, one value (a single create): `taken_values` for one email, against the scan of
   the customers building value -> holder.
2. Unique check, 1000 values (a bulk create of 1000 rows): `taken_values` for 1000 emails, half
   of them taken, against the same scan (its cost does not depend on the number of values).
3. Referrers of one customer (a delete): `find_referrers`, against the scan of the orders.

Each figure is the median of --runs samples with min and max; the two sides are measured
interleaved, and "lookup/scan" is the ratio of the medians. Both sides' answers are compared
once before timing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.instance_links import (
    InstanceKey,
    find_referrers,
    iter_instances,
    taken_values,
    value_key,
)
from spice_harvester.application.ontology import load_schema
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.settings.model import DatabasePoolSettings

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "lookups"
BATCH = 2000
CUSTOMER = ClassDef.from_api(
    {
        "id": "Customer",
        "label": "Customer",
        "properties": [
            {"name": "email", "type": "email", "unique": True},
            {"name": "name", "type": "string"},
        ],
    }
)
ORDER = ClassDef.from_api(
    {
        "id": "Order",
        "label": "Order",
        "properties": [{"name": "total", "type": "integer"}],
        "relationships": [{"predicate": "customer", "target": "Customer", "cardinality": "n:1"}],
    }
)


def email(index: int) -> str:
    return f"customer{index}@example.com"


def build(store: SqlVersionedStore, count: int) -> None:
    store.create_database(DB)

    def commit(changes: list[Change]) -> None:
        store.commit(DB, CommitRequest("main", "bench", "build", tuple(changes)))

    commit(
        [Change(DocRef.of_class(c.id), ChangeKind.CREATE, c.to_api()) for c in (CUSTOMER, ORDER)]
    )
    for start in range(0, count, BATCH):
        indexes = range(start, min(count, start + BATCH))
        commit(
            [
                Change(
                    DocRef.of_instance("Customer", f"c{i}"),
                    ChangeKind.CREATE,
                    {"email": email(i), "name": f"Customer {i}"},
                )
                for i in indexes
            ]
        )
        commit(
            [
                Change(
                    DocRef.of_instance("Order", f"o{i}"),
                    ChangeKind.CREATE,
                    {"total": i, "customer": f"c{(i * 7) % count}"},
                )
                for i in indexes
            ]
        )


# -- the baselines: the scans the checks used to do -------------------------------------


def scanned_holders(
    store: SqlVersionedStore, ref: str, values: Sequence[str]
) -> dict[str, InstanceKey]:
    taken: dict[str, InstanceKey] = {}
    for state in iter_instances(store, DB, ref, "Customer"):
        value = (state.data or {}).get("email")
        if value is not None:
            taken.setdefault(value_key(value), ("Customer", state.ref.doc_id))
    return {key: taken[key] for key in map(value_key, values) if key in taken}


def scanned_referrers(store: SqlVersionedStore, ref: str, target: str) -> list[str]:
    return [
        state.ref.doc_id
        for state in iter_instances(store, DB, ref, "Order")
        if (state.data or {}).get("customer") == target
    ]


# -- measuring ----------------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def figure(samples: Sequence[float]) -> str:
    return (
        f"{statistics.median(samples) * 1000:8.2f} ms (min {min(samples) * 1000:.2f}, "
        f"max {max(samples) * 1000:.2f}, n={len(samples)})"
    )


def compare(name: str, ours: Callable[[], object], scan: Callable[[], object], runs: int) -> None:
    ours(), scan()  # warm-up: caches, the first connection
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        mine.append(timed(ours))
        theirs.append(timed(scan))
    factor = statistics.median(mine) / statistics.median(theirs)
    print(f"{name}")
    print(f"    lookup {figure(mine)}")
    print(f"    scan   {figure(theirs)}")
    print(f"    lookup/scan time {factor:.3f} ({1 / factor:.1f}x faster)")


def bench(url: str, engine: str, count: int, runs: int) -> None:
    pool = DatabasePoolSettings(pool_size=2, max_overflow=0, pool_timeout=30)
    database = SqlDatabase(url, pool)
    try:
        database.migrate()
        store = SqlVersionedStore(database)
        started = time.perf_counter()
        build(store, count)
        print(
            f"\n{engine}: {count:,} customers and {count:,} orders "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        head = store.get_branch(DB, "main").head
        schema = load_schema(store, DB, head, SchemaLimits())
        run_checks(store, head, schema, count, runs)
    finally:
        database.close()


def run_checks(store: SqlVersionedStore, head: str, schema: Schema, count: int, runs: int) -> None:
    customer = schema.resolved("Customer")
    one = [email(count // 2)]
    many = [email(i) for i in range(count // 2, count // 2 + 1000)]
    many = [*many[:500], *(f"new{i}@example.com" for i in range(500))]

    def lookup_holders(values: list[str]) -> dict[str, InstanceKey]:
        return taken_values(store, DB, head, schema, customer, {"email": values})["email"]

    def lookup_referrers() -> list[str]:
        doomed = {"Customer": {"c7"}}
        return [r.id for r in find_referrers(store, DB, head, schema, doomed)]

    for values in (one, many):
        assert lookup_holders(values) == scanned_holders(store, head, values)
    assert lookup_referrers() == scanned_referrers(store, head, "c7")
    compare(
        "1. unique check, one value",
        lambda: lookup_holders(one),
        lambda: scanned_holders(store, head, one),
        runs,
    )
    compare(
        f"2. unique check, {len(many)} values",
        lambda: lookup_holders(many),
        lambda: scanned_holders(store, head, many),
        runs,
    )
    compare(
        "3. referrers of one customer",
        lookup_referrers,
        lambda: scanned_referrers(store, head, "c7"),
        runs,
    )


@contextmanager
def scratch(engine: str, server_url: str) -> Iterator[str]:
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'lookups.sqlite3'}"
        return
    server = make_url(server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"spice_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--instances", type=int, default=10_000, help="customers, and orders")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2,000 instances, 5 runs")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args: Any = parser.parse_args()
    count, runs = (2000, 5) if args.quick else (args.instances, args.runs)
    if count < 2000 or runs < 5:
        parser.error("use at least 2000 instances and 5 runs")
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    for engine in engines:
        with scratch(engine, args.postgres_url) as url:
            bench(url, engine, count, runs)


if __name__ == "__main__":
    main()
