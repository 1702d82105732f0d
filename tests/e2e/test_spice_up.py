"""`spice up` and `spice serve` as real processes on real ports."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections.status import (
    WorkerStatus,
    projection_status,
    workers,
)
from spice_harvester.settings.model import DatabasePoolSettings
from tests.e2e.conftest import Stack, free_port, port_is_free, wait_for

pytestmark = pytest.mark.e2e


def test_spice_up_starts_all_four_processes_and_stops_them_on_sigterm(
    stack: Stack,
) -> None:
    supervisor = stack.spice("up")
    for name in ("oms", "bff", "funnel"):
        body = wait_for(f"{stack.url(name)}/health").json()
        assert body["status"] == "success"
        assert body["data"]["status"] == "healthy"
    assert wait_for(f"{stack.url('oms')}/health").json()["data"]["dependencies"] == {
        "database": "ok",
        "redis": "absent",
    }
    assert wait_for(f"{stack.url('bff')}/health").json()["data"]["dependencies"] == {
        "database": "ok",
        "oms": "ok",
        "redis": "absent",
    }
    assert wait_for(f"{stack.url('funnel')}/health").json()["data"]["dependencies"] == {
        "redis": "absent",
    }
    assert (stack.root / "data" / "spice.sqlite3").is_file()

    stack.wait_output(supervisor, "is up in")
    assert "logs/worker.log" in stack.text_of(supervisor)
    # The fourth process, the projection worker, has no port: it says it runs in the
    # database, and follows the log (a new database is projected).
    assert len(_workers(stack)) == 1
    assert _workers(stack)[0].stopped_at is None
    created = httpx.post(f"{stack.url('oms')}/api/v1/database/create", json={"name": "shop"})
    assert created.status_code == 202
    wait_for_lag_zero(stack)

    assert stack.stop(supervisor, signal.SIGTERM) == 0
    stack.wait_output(supervisor, "all services stopped.")
    for port in stack.ports.values():
        assert port_is_free(port)
    [worker] = _workers(stack)
    assert worker.stopped_at is not None  # SIGTERM reached it and it stopped cleanly
    assert "Worker stopped" in (stack.root / "logs" / "worker.log").read_text()


def _database(stack: Stack) -> SqlDatabase:
    url = f"sqlite:///{stack.root / 'data' / 'spice.sqlite3'}"
    return SqlDatabase(url, DatabasePoolSettings(pool_size=1, pool_timeout=10))


def _workers(stack: Stack) -> list[WorkerStatus]:
    database = _database(stack)
    try:
        return workers(database)
    finally:
        database.close()


def wait_for_lag_zero(stack: Stack, timeout: float = 30) -> None:
    database = _database(stack)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = projection_status(database)
            if all(p.lag == 0 and all(b.fresh for b in p.branches) for p in found):
                return
            time.sleep(0.1)
        raise AssertionError(f"the worker did not catch up: {projection_status(database)}")
    finally:
        database.close()


def test_ctrl_c_stops_every_service(stack: Stack) -> None:
    supervisor = stack.spice("up")
    stack.wait_output(supervisor, "is up in")
    assert stack.stop(supervisor, signal.SIGINT) == 0
    stack.wait_output(supervisor, "all services stopped.")
    for port in stack.ports.values():
        assert port_is_free(port)


def test_spice_up_restarts_a_service_that_crashes(stack: Stack) -> None:
    supervisor = stack.spice("up")
    stack.wait_output(supervisor, "is up in")  # a crash before that is a start-up failure
    pid = _pid_listening(stack.ports["funnel"])
    os.kill(pid, signal.SIGKILL)
    stack.wait_output(supervisor, "Funnel exited with code -9; restarting")
    wait_for(f"{stack.url('funnel')}/health", timeout=30)
    assert _pid_listening(stack.ports["funnel"]) != pid


def _pid_listening(port: int) -> int:
    import subprocess

    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split("pid=")[1].split(",")[0])


def test_bff_health_turns_503_naming_oms_while_oms_is_stopped(stack: Stack) -> None:
    oms = stack.spice("serve", "oms")
    bff = stack.spice("serve", "bff")
    wait_for(f"{stack.url('oms')}/health")
    wait_for(f"{stack.url('bff')}/health")

    assert stack.stop(oms) == 0
    down = wait_for(f"{stack.url('bff')}/health", status=503)
    body = down.json()
    assert body["status"] == "error"
    assert body["data"]["dependencies"]["oms"] == "down"
    assert body["errors"][0]["code"] == "dependency_unavailable"
    assert "oms" in body["message"].lower()

    stack.spice("serve", "oms")
    healthy = wait_for(f"{stack.url('bff')}/health", status=200)
    assert healthy.json()["data"]["dependencies"]["oms"] == "ok"
    assert stack.stop(bff) == 0


def test_access_log_is_in_combined_format(stack: Stack) -> None:
    funnel = stack.spice("serve", "funnel")
    wait_for(f"{stack.url('funnel')}/health")
    httpx.get(
        f"{stack.url('funnel')}/health", headers={"User-Agent": "probe/1", "X-Request-ID": "r-42"}
    )
    stack.stop(funnel)
    lines = (stack.root / "logs" / "access.log").read_text().splitlines()
    line = next(line for line in lines if "r-42" in line)
    fields = line.split()
    assert fields[0] == "127.0.0.1"
    assert fields[5] == '"GET'
    assert fields[6] == "/health"
    assert fields[8] == "200"
    assert int(fields[9]) > 50  # the response size, tenth field, for `awk '$10 > N'`
    assert '"probe/1"' in line
    assert (stack.root / "logs" / "funnel.log").is_file()


def test_serve_fails_with_one_line_when_the_port_is_taken(stack: Stack) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", stack.ports["funnel"]))
        holder.listen()
        result = stack.run("serve", "funnel")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"spice: Funnel cannot listen on 127.0.0.1:{stack.ports['funnel']}: address already in use"
    ]


def test_serve_fails_with_one_line_when_the_database_is_unreachable(stack: Stack) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    started = time.monotonic()
    result = stack.run("serve", "oms", DATABASE_URL=dead)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("spice: OMS cannot start: database is unavailable")
    assert time.monotonic() - started < 30


def test_a_bad_setting_stops_start_up_naming_the_key(stack: Stack) -> None:
    result = stack.run("serve", "oms", OMS__DATABASE__POOL_SIZE="lots")
    assert result.returncode == 2
    assert "oms.database.pool_size" in result.stderr
    assert "OMS__DATABASE__POOL_SIZE" in result.stderr
