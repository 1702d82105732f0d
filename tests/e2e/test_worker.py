"""`spice serve worker` as a real process beside a real OMS: writes become searchable, and a
worker killed with SIGKILL mid-batch and started again leaves read models equal to a rebuild."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections.readers import SqlReadModels
from spice_harvester.adapters.sql.projections.tables import projection_checkpoints
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.settings.model import DatabasePoolSettings
from tests.e2e.conftest import Stack, wait_for

pytestmark = pytest.mark.e2e
DB = "shop"
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "key": ["sku"],
    "properties": [
        {"name": "sku", "type": "string", "required": True},
        {"name": "title", "type": "string"},
    ],
}
# On PostgreSQL the worker looks for events on its own only every 60 s: a write found
# sooner was announced by NOTIFY.
WORKER_ENV = {"WORKER__POLL_SECONDS": "0.05", "WORKER__IDLE_SECONDS": "60"}


@pytest.fixture
def oms(stack: Stack, database_url: str) -> Iterator[httpx.Client]:
    stack.spice("serve", "oms", DATABASE_URL=database_url)
    wait_for(f"{stack.url('oms')}/health")
    with httpx.Client(base_url=stack.url("oms"), timeout=60) as client:
        assert client.post("/api/v1/database/create", json={"name": DB}).status_code == 202
        created = client.post(f"/api/v1/database/{DB}/ontology", json=PRODUCT)
        assert created.status_code == 202, created.text
        yield client


@pytest.fixture
def database(database_url: str) -> Iterator[SqlDatabase]:
    opened = SqlDatabase(database_url, DatabasePoolSettings(pool_size=2, pool_timeout=10))
    yield opened
    opened.close()


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def bulk(oms: httpx.Client, first: int, count: int) -> None:
    rows = [{"sku": f"SKU-{n:05}", "title": f"Spice jar {n}"} for n in range(first, first + count)]
    answer = oms.post(f"/api/v1/instances/{DB}/async/Product/bulk-create", json={"instances": rows})
    assert answer.status_code == 202, answer.text


def test_a_write_through_oms_becomes_searchable(
    stack: Stack, oms: httpx.Client, database_url: str, database: SqlDatabase
) -> None:
    worker = stack.spice("serve", "worker", DATABASE_URL=database_url, **WORKER_ENV)
    readers = SqlReadModels(database)
    created = oms.post(
        f"/api/v1/instances/{DB}/async/Product/create",
        json={"data": {"sku": "SAFFRON-1", "title": "Saffron 사프란 threads"}},
    )
    assert created.status_code == 202, created.text
    started = time.monotonic()
    eventually(lambda: bool(readers.search(DB, "main", "사프란").hits), "Saffron searchable", 10)
    assert time.monotonic() - started < 5
    found = readers.search(DB, "main", "saffron")
    assert [hit.doc_id for hit in found.hits] == ["SAFFRON-1"]
    assert found.freshness.fresh
    assert readers.counts(DB, "main").counts == {"Product": 1}
    # Every later write wakes it too, not only the first.
    for number in range(3):
        sku = f"CUMIN-{number}"
        answer = oms.post(
            f"/api/v1/instances/{DB}/async/Product/create",
            json={"data": {"sku": sku, "title": f"Cumin {number}"}},
        )
        assert answer.status_code == 202, answer.text
        started = time.monotonic()
        eventually(searchable(readers, sku), sku)
        assert time.monotonic() - started < 5

    assert stack.stop(worker, signal.SIGTERM) == 0
    status = stack.run("projection", "status", "--json", DATABASE_URL=database_url)
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    assert {item["lag"] for item in body["projections"]} == {0}
    assert body["workers"][0]["stopped_at"] is not None  # it stopped cleanly, and said so


def test_a_worker_killed_mid_batch_and_restarted_leaves_read_models_equal_to_a_rebuild(
    stack: Stack, oms: httpx.Client, database_url: str, database: SqlDatabase
) -> None:
    for start in range(0, 400, 25):
        bulk(oms, start, 25)
    env = {**WORKER_ENV, "WORKER__BATCH_SIZE": "10", "DATABASE_URL": database_url}
    kills = 0
    for _ in range(2):
        worker = stack.spice("serve", "worker", **env)
        eventually(moved_past(database, search_checkpoint(database)), "the worker applied")
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(30) == -signal.SIGKILL
        kills += search_checkpoint(database) < last_position(database)
        bulk(oms, 10_000 + kills * 100, 20)  # the log moves on while no worker runs
    assert kills >= 1, "every kill came too late to interrupt anything"

    stack.spice("serve", "worker", **env)
    eventually(lambda: not compare_with_rebuild(database, require_fresh=True), "caught up", 60)
    assert compare_with_rebuild(database, require_fresh=True) == []
    assert SqlReadModels(database).counts(DB, "main").counts == {"Product": 440}
    verified = stack.run("projection", "verify", DATABASE_URL=database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def searchable(readers: SqlReadModels, doc_id: str) -> Callable[[], bool]:
    return lambda: doc_id in [hit.doc_id for hit in readers.search(DB, "main", doc_id).hits]


def moved_past(database: SqlDatabase, position: int) -> Callable[[], bool]:
    return lambda: search_checkpoint(database) > position


def search_checkpoint(database: SqlDatabase) -> int:
    c = projection_checkpoints.c
    with database.read() as connection:
        found = connection.execute(
            select(c.position).where(c.projection == "search", c.version == 1)
        ).scalar()
    return int(found or 0)


def last_position(database: SqlDatabase) -> int:
    from spice_harvester.adapters.sql.event_log import SqlEventLog

    return SqlEventLog(database).last_position()
