"""Servers of a test's own (NATS, Redis, PostgreSQL) on free ports in its folder, so a fault
test can stop and restart them without touching the machine's shared ones."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from tests.e2e.conftest import free_port

PG_BIN = (
    Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
    if Path("/usr/lib/postgresql").is_dir()
    else Path("/usr/bin")
)


def _until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        time.sleep(0.1)


def _accepts(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """One server process that can be stopped and started again on the same port and data."""

    command: list[str]
    port: int
    user: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        self.process = subprocess.Popen(
            prefix + self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _until(lambda: _accepts(self.port), f"{self.command[0]} on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        _until(lambda: not _accepts(self.port), f"{self.command[0]} off {self.port}")

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class PgServer:
    """A PostgreSQL cluster run by pg_ctl: stopped in fast mode (sessions are cut, as a
    crash or an operator's restart would), started again on the same port and data."""

    prefix: list[str]
    data: Path
    options: str
    port: int

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        log = self.data.parent / "postgres.log"
        self._pg_ctl("-o", self.options, "-l", str(log), "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_nats(folder: Path) -> Iterator[Server]:
    port = free_port()
    store = folder / "nats"
    store.mkdir()
    server = Server(
        ["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)], port
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def private_redis(folder: Path) -> Iterator[Server]:
    port = free_port()
    server = Server(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        port,
    )
    server.start()
    _until(lambda: _pings(port), "redis ping")
    try:
        yield server
    finally:
        server.stop()


def _pings(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


@contextmanager
def private_postgres(folder: Path) -> Iterator[tuple[PgServer, str]]:
    """A cluster of its own (initdb), trust auth; yields the server and a DATABASE_URL."""
    # Outside pytest's folders, which only root may enter.
    home = Path(tempfile.mkdtemp(prefix="spice-pg-"))
    data = home / "data"
    data.mkdir()
    user = "postgres" if os.geteuid() == 0 else None
    if user is not None:
        # initdb refuses to run as root: the cluster belongs to the postgres user.
        entry = pwd.getpwnam(user)
        for path in (home, data):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    prefix = ["runuser", "-u", user, "--"] if user else []
    subprocess.run(
        [*prefix, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
    server = PgServer(prefix, data, options, port)
    server.start()
    _until(lambda: _pg_ready(port), "postgres ready")
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as c:
        c.execute("CREATE DATABASE spice")
    try:
        yield server, f"postgresql+psycopg://postgres@127.0.0.1:{port}/spice"
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def _pg_ready(port: int) -> bool:
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=1):
            return True
    except psycopg.OperationalError:
        return False
