"""What the benchmarks that start services share: free ports, health waits and stopping."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx


def development_env(root: Path) -> dict[str, str]:
    """The environment of services run from scratch folder `root`: its own config folder
    and SQLite file, as a development install with rate limiting and API keys off."""
    (root / "config").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "SPICE_CONFIG_DIR": str(root / "config"),
        "DATABASE_URL": f"sqlite:///{root / 'spice.sqlite3'}",
        "BFF__RATE_LIMITING__ENABLED": "false",
    }
    for name in ("APP_ENV", "REDIS_URL", "BFF__AUTHENTICATION__API_KEY_ENABLED"):
        env.pop(name, None)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path | None = None, timeout: float = 60
) -> None:
    """Until `url` answers 200; raises (with the process's log, when given) if the process
    exits first or the time runs out."""

    def output() -> str:
        return "" if log is None else "\n" + log.read_text()

    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"exited with {process.returncode}:{output()}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"not healthy: {url}{output()}")


def stop(process: subprocess.Popen[bytes], grace: float = 60) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
