"""Runs several service processes: start, wait until healthy, restart on crash, stop cleanly."""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

import httpx

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


@dataclass
class ProcessSpec:
    name: str
    title: str
    argv: list[str]
    health_url: str | None


@dataclass
class Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    restarts: list[float] = field(default_factory=list)


def _die_with_parent() -> None:
    # Children live in their own session (so Ctrl-C reaches only us and we stop them in
    # order); on Linux they are also told to stop if we are killed outright.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class StartupFailed(Exception):
    pass


class Supervisor:
    def __init__(
        self,
        specs: list[ProcessSpec],
        env: dict[str, str],
        *,
        max_restarts: int = 5,
        restart_window: float = 60.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.specs = specs
        self.env = env
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.stop_timeout = stop_timeout
        self.children: dict[str, Child] = {}
        self.stopping = threading.Event()

    def _spawn(self, spec: ProcessSpec) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            spec.argv, env=self.env, start_new_session=True, preexec_fn=_die_with_parent
        )

    def start_all(self) -> None:
        for spec in self.specs:
            self.children[spec.name] = Child(spec, self._spawn(spec))

    def wait_healthy(self, timeout: float, on_ready: Callable[[ProcessSpec, float], None]) -> None:
        """Polls each /health until 200; a child that exits first is a start-up failure."""
        started = time.monotonic()
        pending = {name for name, child in self.children.items() if child.spec.health_url}
        with httpx.Client(timeout=2.0, headers={"Host": "localhost"}) as client:
            while pending:
                if self.stopping.is_set():
                    raise StartupFailed("interrupted during start-up")
                self._refuse_early_exits()
                for name in sorted(pending):
                    child = self.children[name]
                    if _answers_200(client, child.spec.health_url):
                        pending.discard(name)
                        on_ready(child.spec, time.monotonic() - started)
                if time.monotonic() - started > timeout:
                    titles = ", ".join(self.children[name].spec.title for name in sorted(pending))
                    raise StartupFailed(f"not healthy after {timeout:g} s: {titles}")
                time.sleep(0.1)

    def _refuse_early_exits(self) -> None:
        # Every child, with a health URL or not (the worker has none), must still run.
        for name, child in sorted(self.children.items()):
            code = child.process.poll()
            if code is not None:
                raise StartupFailed(
                    f"{child.spec.title} exited with code {code} during start-up "
                    f"(see logs/{name}.log)"
                )

    def install_signal_handlers(self) -> None:
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

    def supervise(self) -> int:
        """Restarts crashed children (with back-off) until asked to stop; returns an exit code."""
        while not self.stopping.wait(0.5):
            for child in self.children.values():
                code = child.process.poll()
                if code is None:
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < self.restart_window]
                if len(child.restarts) >= self.max_restarts:
                    log.error(
                        "%s keeps exiting (code %s); stopping everything", child.spec.title, code
                    )
                    return 1
                delay = 2 ** len(child.restarts) * 0.5
                log.warning(
                    "%s exited with code %s; restarting in %.1f s", child.spec.title, code, delay
                )
                if self.stopping.wait(delay):
                    break
                child.restarts.append(time.monotonic())
                child.process = self._spawn(child.spec)
        return 0

    def stop_all(self) -> None:
        """SIGTERM to every child, then SIGKILL to any still running after the timeout."""
        for child in self.children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in self.children.values():
            remaining = max(0.0, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.spec.title)
                child.process.kill()
                child.process.wait()


def _answers_200(client: httpx.Client, url: str | None) -> bool:
    if url is None:
        return True
    try:
        return client.get(url).status_code == 200
    except httpx.HTTPError:
        return False
