"""The registry across real processes on PostgreSQL: one winner per claim, and crash take-over."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.registry import SqlRegistry
from spice_harvester.adapters.sql.tables import aggregate_versions
from tests.integration.sql_engines import POOL
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(SKIP_POSTGRES, reason="SPICE_TEST_SKIP_POSTGRES=1"),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER = "projector"
EVENT = "event-1"
PROCESSES = 6
LEASE = 1.0
PATIENCE = 30


class Workers:
    """Starts registry_worker processes on one database and kills any left at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.started: list[subprocess.Popen[str]] = []

    def start(self, action: str, owner: str, lease: float, *extra: str) -> subprocess.Popen[str]:
        process = self.spawn(action, owner, lease, *extra)
        assert _line(process) == "ready"
        return process

    def race(self, count: int, go: Path) -> list[subprocess.Popen[str]]:
        """`count` claimers, all connected and waiting for `go` when this returns."""
        racers = [self.spawn("claim", f"process-{n}", 30.0, "--go", str(go)) for n in range(count)]
        for process in racers:
            assert _line(process) == "ready"
        return racers

    def spawn(self, action: str, owner: str, lease: float, *extra: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.registry_worker",
                self.url,
                action,
                HANDLER,
                EVENT,
                owner,
                str(lease),
                *extra,
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.communicate()


def _line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line:
        process.wait(PATIENCE)
        assert process.stderr is not None
        pytest.fail(f"worker exited {process.returncode}: {process.stderr.read()}")
    return line


def _result(process: subprocess.Popen[str]) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(_line(process))
    return found


def _finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    found = _result(process)
    _, stderr = process.communicate(timeout=PATIENCE)
    assert process.returncode == 0, stderr
    return found


@pytest.fixture
def postgres() -> Iterator[SqlDatabase]:
    with fresh_postgres_database() as url:
        db = SqlDatabase(url, POOL)
        try:
            db.migrate()
            yield db
        finally:
            db.close()


@pytest.fixture
def workers(postgres: SqlDatabase) -> Iterator[Workers]:
    started = Workers(postgres.engine.url.render_as_string(hide_password=False))
    try:
        yield started
    finally:
        started.kill_all()


def test_processes_claiming_one_event_at_once_give_it_to_exactly_one(
    postgres: SqlDatabase, workers: Workers, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    racers = workers.race(PROCESSES, go)
    go.touch()
    outcomes = sorted(_finish(process)["outcome"] for process in racers)
    assert outcomes == ["busy"] * (PROCESSES - 1) + ["claimed"]
    status = SqlRegistry(postgres).status(HANDLER, EVENT)
    assert status is not None
    assert (status["status"], status["attempts"]) == ("processing", 1)


def test_a_killed_owner_blocks_the_event_until_its_lease_expires_then_another_finishes(
    postgres: SqlDatabase, workers: Workers, tmp_path: Path
) -> None:
    finish = ("--aggregate", "Person/1", "--seq", "3")
    # Started before the race so that their start-up time cannot eat into the lease.
    too_soon = workers.start("finish", "second", LEASE, "--go", str(tmp_path / "soon"), *finish)
    later = workers.start("finish", "third", LEASE, "--go", str(tmp_path / "later"), *finish)

    doomed = workers.start("hang", "first", LEASE)
    assert _result(doomed) == {"outcome": "claimed", "attempts": 1, "done": False}
    claimed_by_first = time.monotonic()
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(PATIENCE)

    (tmp_path / "soon").touch()
    assert _finish(too_soon) == {"outcome": "busy", "attempts": 1, "done": False}

    time.sleep(max(0.0, claimed_by_first + LEASE + 0.2 - time.monotonic()))
    (tmp_path / "later").touch()
    assert _finish(later) == {"outcome": "claimed", "attempts": 2, "done": True}

    registry = SqlRegistry(postgres)
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert (status["status"], status["owner"], status["attempts"]) == ("done", "third", 2)
    with postgres.read() as connection:
        recorded = connection.execute(
            select(aggregate_versions.c.aggregate_key, aggregate_versions.c.last_seq)
        ).all()
    assert [tuple(row) for row in recorded] == [("Person/1", 3)]
    assert registry.claim(HANDLER, EVENT, "fourth", LEASE).outcome.value == "done"


def test_processes_taking_over_an_expired_lease_at_once_give_it_to_exactly_one(
    postgres: SqlDatabase, workers: Workers, tmp_path: Path
) -> None:
    registry = SqlRegistry(postgres)
    registry.claim(HANDLER, EVENT, "crashed", 0.2)
    go = tmp_path / "go"
    racers = workers.race(PROCESSES, go)
    time.sleep(0.3)  # the crashed owner's 0.2 s lease has surely run out by now
    go.touch()
    results = [_finish(process) for process in racers]
    assert sorted(result["outcome"] for result in results) == ["busy"] * (PROCESSES - 1) + [
        "claimed"
    ]
    assert [result["attempts"] for result in results if result["outcome"] == "claimed"] == [2]
    status = registry.status(HANDLER, EVENT)
    assert status is not None
    assert (status["status"], status["attempts"]) == ("processing", 2)
