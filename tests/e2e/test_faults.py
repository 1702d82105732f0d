"""Nothing is lost or applied twice under faults, with real processes on PostgreSQL and NATS.

Every scenario ends the same way: each read model equals a fresh rebuild from the store
(`compare_with_rebuild`), and the log holds every acknowledged write exactly once.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections.readers import SqlReadModels
from spice_harvester.adapters.sql.projections.status import projection_status
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.adapters.sql.tables import events, processed_events, spice_databases
from spice_harvester.settings.model import DatabasePoolSettings
from tests.e2e.conftest import Stack, free_port, wait_for
from tests.e2e.private_services import private_nats, private_postgres, private_redis
from tests.postgres import fresh_postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
DB = "faults"
ITEM = {
    "id": "Item",
    "label": "Item",
    "key": ["item_id"],
    "properties": [
        {"name": "item_id", "type": "string", "required": True},
        {"name": "note", "type": "string"},
    ],
}
WORKER_ENV = {"WORKER__POLL_SECONDS": "0.05", "WORKER__IDLE_SECONDS": "2"}
# The load: 200 writers for 60 s. SPICE_FAULT_SECONDS shortens it for a quick run.
LOAD_SECONDS = float(os.environ.get("SPICE_FAULT_SECONDS", "60"))
WRITERS = int(os.environ.get("SPICE_FAULT_WRITERS", "200"))


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[SqlDatabase]:
    opened = SqlDatabase(database_url, DatabasePoolSettings(pool_size=2, pool_timeout=10))
    yield opened
    opened.close()


def start_oms(stack: Stack, database_url: str, **env: str) -> tuple[str, object]:
    port = free_port()
    process = stack.spice("serve", "oms", DATABASE_URL=database_url, OMS_PORT=str(port), **env)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/health")
    return url, process


def prepare(url: str) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/api/v1/database/create", json={"name": DB}).status_code == 202
        created = client.post(f"/api/v1/database/{DB}/ontology", json=ITEM)
        assert created.status_code == 202, created.text


@dataclass
class Load:
    """Writers creating one item per request; what was acknowledged, and what was refused."""

    urls: list[str]
    acknowledged: set[str] = field(default_factory=set)
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)  # anything but 202, 409 or 503
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def writer(self, number: int) -> None:
        url = self.urls[number % len(self.urls)]
        with httpx.Client(base_url=url, timeout=30) as client:
            for count in itertools.count():
                if self.stop.is_set():
                    return
                item = f"w{number}-{count}"
                try:
                    answer = client.post(
                        f"/api/v1/instances/{DB}/async/Item/create",
                        json={"data": {"item_id": item, "note": f"note {item}"}},
                    )
                except httpx.HTTPError:
                    answer = None
                with self.lock:
                    if answer is not None and answer.status_code == 202:
                        self.acknowledged.add(item)
                    else:
                        self.refused += 1
                        if answer is not None and answer.status_code not in (409, 503):
                            self.unexpected.append(f"{answer.status_code} {answer.text[:300]}")
                if answer is None or answer.status_code != 202:
                    time.sleep(0.05)

    def run(self, writers: int, seconds: float, during: Callable[[], None] | None = None) -> None:
        threads = [
            threading.Thread(target=self.writer, args=(n,), daemon=True) for n in range(writers)
        ]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        try:
            if during is not None:
                during()
            self.stop.wait(max(0.0, seconds - (time.monotonic() - started)))
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(60)
        assert not self.unexpected, self.unexpected[:5]


def eventually(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def caught_up(database: SqlDatabase) -> Callable[[], bool]:
    """Every serving read model at each branch head (cheap), then equal to a rebuild."""

    def check() -> bool:
        serving = [p for p in projection_status(database) if p.status == "serving"]
        if not serving or not all(b.fresh for p in serving for b in p.branches):
            return False
        return not compare_with_rebuild(database, require_fresh=True)

    return check


def behind(database: SqlDatabase) -> str:
    """What is not caught up, for a failure message."""
    lines = [
        f"{p.projection} v{p.version} {b.db_name}/{b.branch}: {b.commit_id} head {b.head_commit}"
        for p in projection_status(database)
        for b in p.branches
        if not b.fresh
    ]
    return "\n".join(lines[:10]) or "every branch is at its head"


def assert_nothing_lost_or_doubled(database: SqlDatabase, acknowledged: set[str]) -> None:
    assert compare_with_rebuild(database, require_fresh=True) == []
    e = events.c
    with database.read() as connection:
        db_id = connection.execute(
            select(spice_databases.c.db_id).where(spice_databases.c.name == DB)
        ).scalar_one()
        created = connection.execute(
            select(e.aggregate_id, func.count())
            .where(e.db_id == db_id, e.event_type == "InstanceCreated")
            .group_by(e.aggregate_id)
        ).all()
        doubled_marks = connection.execute(
            select(func.count())
            .select_from(processed_events)
            .where(processed_events.c.status != "done")
        ).scalar_one()
    # Aggregates are named `instance:<class>/<id>`.
    counts = {aggregate.removeprefix("instance:Item/"): count for aggregate, count in created}
    assert set(counts) >= acknowledged, f"lost: {sorted(acknowledged - set(counts))[:10]}"
    assert max(counts.values(), default=1) == 1, "an instance was created twice"
    assert doubled_marks == 0, "every claim ends done"
    live = SqlReadModels(database).counts(DB, "main").counts.get("Item", 0)
    assert live == len(counts)


def test_two_oms_and_two_nats_workers_under_many_writers_lose_and_double_nothing(
    stack: Stack, database_url: str, database: SqlDatabase, tmp_path: Path
) -> None:
    """200 writers for 60 s against two OMS processes; two workers share a NATS durable
    consumer; one worker is killed with SIGKILL and started again, and NATS is restarted,
    while the load runs."""
    with private_nats(tmp_path) as nats_server:
        nats_url = f"nats://127.0.0.1:{nats_server.port}"
        one, _ = start_oms(stack, database_url)
        two, _ = start_oms(stack, database_url)
        prepare(one)
        env = {**WORKER_ENV, "DATABASE_URL": database_url, "NATS_URL": nats_url}
        workers = [stack.spice("serve", "worker", **env) for _ in range(2)]
        load = Load([one, two])

        def faults() -> None:
            time.sleep(LOAD_SECONDS / 4)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(30)
            workers[0] = stack.spice("serve", "worker", **env)
            time.sleep(LOAD_SECONDS / 4)
            nats_server.restart()

        load.run(WRITERS, LOAD_SECONDS, faults)
        assert len(load.acknowledged) > 100
        try:
            eventually(caught_up(database), "the read models caught up", timeout=180)
        except AssertionError as exc:
            outputs = "\n".join(stack.text_of(w)[-3000:] for w in workers)
            raise AssertionError(f"{exc}\n{behind(database)}\n{outputs}") from exc
        assert_nothing_lost_or_doubled(database, load.acknowledged)


@pytest.mark.parametrize(
    ("delivery", "point"),
    [
        ("embedded", "after_claim"),
        ("embedded", "after_effect"),
        ("embedded", "after_done"),
        ("nats", "after_claim"),
        ("nats", "after_effect"),
    ],
)
def test_a_worker_killed_at_each_point_of_a_unit_leaves_it_applied_once(
    stack: Stack,
    database_url: str,
    database: SqlDatabase,
    tmp_path: Path,
    point: str,
    delivery: str,
) -> None:
    with private_nats(tmp_path) as nats_server:
        url, _ = start_oms(stack, database_url)
        prepare(url)
        env = {**WORKER_ENV, "DATABASE_URL": database_url}
        if delivery == "nats":
            env["NATS_URL"] = f"nats://127.0.0.1:{nats_server.port}"
        load = Load([url])
        load.run(4, 2)
        healthy = stack.spice("serve", "worker", **env)
        eventually(caught_up(database), "caught up before the fault", timeout=60)
        assert stack.stop(healthy) == 0
        # The last unit of the log is the one the faulty worker is killed in: no later unit
        # of its branch can carry its effect in by a diff.
        with httpx.Client(base_url=url, timeout=30) as client:
            last = client.post(
                f"/api/v1/instances/{DB}/async/Item/create", json={"data": {"item_id": "last"}}
            )
            assert last.status_code == 202, last.text
        load.acknowledged.add("last")
        faulty = stack.spice(
            "serve", "worker", SPICE_FAULT_POINT=point, SPICE_FAULT_DIR=str(tmp_path), **env
        )
        eventually(lambda: (tmp_path / f"{point}.reached").exists(), f"the worker at {point}")
        faulty.send_signal(signal.SIGKILL)
        assert faulty.wait(30) == -signal.SIGKILL
        # A new worker must bring every read model to its head on its own: no later write
        # on the branch may paper over a unit the killed worker lost.
        stack.spice("serve", "worker", **env)
        eventually(caught_up(database), "caught up after the kill", timeout=60)
        assert_nothing_lost_or_doubled(database, load.acknowledged)
        more = Load([url])
        more.run(4, 1)
        eventually(caught_up(database), "caught up with later writes", timeout=60)
        assert_nothing_lost_or_doubled(database, load.acknowledged | more.acknowledged)


def test_writes_go_on_while_postgresql_restarts_and_nothing_is_lost(
    stack: Stack, tmp_path: Path
) -> None:
    with private_postgres(tmp_path) as (postgres, url):
        oms, _ = start_oms(stack, url)
        prepare(oms)
        stack.spice("serve", "worker", DATABASE_URL=url, **WORKER_ENV)
        load = Load([oms])

        def restart() -> None:
            time.sleep(3)
            postgres.restart()

        load.run(20, 10, restart)
        assert load.refused > 0, "the restart came too late to refuse anything"
        opened = SqlDatabase(url, DatabasePoolSettings(pool_size=2, pool_timeout=10))
        try:
            eventually(caught_up(opened), "the worker caught up after the restart")
            assert_nothing_lost_or_doubled(opened, load.acknowledged)
        finally:
            opened.close()


def test_writes_go_on_while_redis_is_stopped_and_status_falls_back(
    stack: Stack, database_url: str, database: SqlDatabase, tmp_path: Path
) -> None:
    with private_redis(tmp_path) as redis_server:
        url, _ = start_oms(
            stack,
            database_url,
            REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
            OMS__COMMANDS__COMPLETE_WHEN="committed",
        )
        prepare(url)
        load = Load([url])

        def stop_redis() -> None:
            time.sleep(1)
            redis_server.stop()

        load.run(8, 4, stop_redis)
        assert load.refused == 0, "no write may fail because Redis is down"
        with httpx.Client(base_url=url, timeout=30) as client:
            written = client.post(
                f"/api/v1/instances/{DB}/async/Item/create",
                json={"data": {"item_id": "after-redis"}},
            )
            assert written.status_code == 202
            command = written.json()["data"]["command_id"]
            status = client.get(f"/api/v1/commands/{command}/status").json()["data"]
            assert status["status"] == "COMPLETED"
            health = client.get("/health").json()["data"]["dependencies"]
            assert health["redis"] == "down"
        stack.spice("serve", "worker", DATABASE_URL=database_url, **WORKER_ENV)
        eventually(caught_up(database), "caught up")
        assert_nothing_lost_or_doubled(database, load.acknowledged | {"after-redis"})
