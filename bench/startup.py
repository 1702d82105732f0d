"""Start-up time of `spice up` to all-healthy, against three bare uvicorn apps started alike.

Run: .venv/bin/python bench/startup.py [--runs 5]
The baseline is the floor any Python ASGI stack pays here: three processes that import
uvicorn and serve a one-route Starlette app, started at once and polled until each answers.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def health(request):
    return JSONResponse({"status": "ok"})

app = Starlette(routes=[Route("/health", health)])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_all(urls: list[str], timeout: float = 60) -> None:
    pending = set(urls)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as client:
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy: {sorted(pending)}")
            for url in sorted(pending):
                try:
                    if client.get(url).status_code == 200:
                        pending.discard(url)
                except httpx.HTTPError:
                    pass
            time.sleep(0.02)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(30)


def time_spice_up(root: Path) -> float:
    ports = [free_port() for _ in range(3)]
    env = {
        **os.environ,
        "SPICE_CONFIG_DIR": str(root / "config"),
        "OMS_PORT": str(ports[0]),
        "BFF_PORT": str(ports[1]),
        "FUNNEL_PORT": str(ports[2]),
    }
    started = time.monotonic()
    with (root / "up.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "spice_harvester", "up"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_all([f"http://127.0.0.1:{port}/health" for port in ports])
    except RuntimeError:
        stop([process])
        raise RuntimeError((root / "up.log").read_text()) from None
    elapsed = time.monotonic() - started
    stop([process])
    return elapsed


def time_bare(root: Path) -> float:
    (root / "bare_app.py").write_text(BARE_APP)
    ports = [free_port() for _ in range(3)]
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(root),
                "bare_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    wait_all([f"http://127.0.0.1:{port}/health" for port in ports])
    elapsed = time.monotonic() - started
    stop(processes)
    return elapsed


def describe(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples):.2f} s (min {min(samples):.2f}, "
        f"max {max(samples):.2f}, n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    spice, bare = [], []
    for run in range(1, runs + 1):
        # A fresh folder each run: `spice up` creates and migrates its SQLite database too.
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            (root / "config").mkdir()
            spice.append(time_spice_up(root))
            bare.append(time_bare(root))
        print(
            f"run {run}/{runs}: spice up {spice[-1]:.2f} s, bare uvicorn x3 {bare[-1]:.2f} s",
            flush=True,
        )
    print(f"spice up to all-healthy : {describe(spice)}")
    print(f"baseline (bare uvicorn) : {describe(bare)}")
    print(f"ratio (median)          : {statistics.median(spice) / statistics.median(bare):.2f}x")


if __name__ == "__main__":
    main()
