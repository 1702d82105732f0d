"""A real OMS process for tests that drive BFF in process: `spice serve oms` on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import scrubbed_environ
from tests.postgres import unused_port


@contextmanager
def running_oms(root: Path, *, worker: bool = True, **env: str) -> Iterator[str]:
    """Starts OMS in `root` (its SQLite database, logs and config folder there) and answers
    its base URL once /health is 200; stops it afterwards. With `worker`, a projection worker
    runs beside it (commands are COMPLETED once the projections hold their commits)."""
    (root / "config").mkdir(exist_ok=True)
    port = unused_port()
    environ = {
        **scrubbed_environ(),
        "SPICE_CONFIG_DIR": str(root / "config"),
        "OMS_PORT": str(port),
        "OMS_HOST": "127.0.0.1",
        "PYTHONPATH": os.pathsep.join(sys.path),
        **env,
    }
    log = (root / "oms.out").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "spice_harvester", "serve", "oms"],
        cwd=root,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    processes = [process]
    try:
        _wait_healthy(url, process, root / "oms.out")
        if worker:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "spice_harvester", "serve", "worker"],
                    cwd=root,
                    env={**environ, "WORKER__POLL_SECONDS": "0.05"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        yield url
    finally:
        for running in processes:
            running.terminate()
        for running in processes:
            try:
                running.wait(30)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait()
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"OMS exited: {output.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"OMS did not become healthy: {output.read_text(errors='replace')}")
