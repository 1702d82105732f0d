"""Helpers for tests that run real `spice` processes over real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import scrubbed_environ
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """A scratch installation: its folder, its environment and the processes it started."""

    root: Path
    env: dict[str, str]
    ports: dict[str, int]
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    output: dict[int, list[str]] = field(default_factory=dict)
    readers: list[threading.Thread] = field(default_factory=list)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def spice(self, *args: str, **env: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "spice_harvester", *args],
            cwd=self.root,
            env={**self.env, **env},
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        lines = self.output.setdefault(process.pid, [])
        # Read continuously so a chatty process never blocks on a full pipe.
        reader = threading.Thread(target=_collect, args=(process, lines), daemon=True)
        reader.start()
        self.readers.append(reader)
        return process

    def text_of(self, process: subprocess.Popen[str]) -> str:
        return "".join(self.output.get(process.pid, []))

    def wait_output(self, process: subprocess.Popen[str], text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text_of(process):
            if time.monotonic() > deadline or process.poll() is not None:
                time.sleep(0.2)  # let the reader catch the last lines
                if text in self.text_of(process):
                    return
                raise AssertionError(f"no {text!r} in output: {self.text_of(process)!r}")
            time.sleep(0.05)

    def run(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "spice_harvester", *args],
            cwd=self.root,
            env={**self.env, **env},
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def stop(self, process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


def _collect(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    with process.stdout:
        lines.extend(process.stdout)


def wait_for(url: str, status: int = 200, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2)
            if last.status_code == status:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    seen = last.status_code if last is not None else "no answer"
    raise AssertionError(f"{url} did not answer {status} within {timeout} s (last: {seen})")


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def stack_in(root: Path) -> Iterator[Stack]:
    """A Stack in `root`, on free ports; whatever it started is killed at the end."""
    ports = {name: free_port() for name in ("oms", "bff", "funnel")}
    (root / "config").mkdir()
    env = scrubbed_environ()
    env.update(
        {
            "SPICE_CONFIG_DIR": str(root / "config"),
            "OMS_PORT": str(ports["oms"]),
            "BFF_PORT": str(ports["bff"]),
            "FUNNEL_PORT": str(ports["funnel"]),
            "OMS_HOST": "127.0.0.1",
            "BFF_HOST": "127.0.0.1",
            "FUNNEL_HOST": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join(sys.path),
        }
    )
    created = Stack(root, env, ports)
    try:
        yield created
    finally:
        for process in created.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        for reader in created.readers:
            reader.join(10)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with stack_in(tmp_path) as created:
        yield created


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=[pytest.mark.postgres, pytest.mark.skipif(SKIP_POSTGRES, reason="opted out")],
        ),
    ]
)
def database_url(request: pytest.FixtureRequest, stack: Stack) -> Iterator[str]:
    """A DATABASE_URL of each engine, empty: a file in the stack's folder, or a fresh
    PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{stack.root / 'data' / 'spice.sqlite3'}"
        return
    with fresh_postgres_database() as url:
        yield url


# Shared by test_maintenance.py and test_operator_cli.py: imported here so that its session
# scope really is one installation for both modules.
from tests.e2e.operator_stack import operator_stack  # noqa: E402, F401
