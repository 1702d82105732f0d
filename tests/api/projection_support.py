"""Projections for in-process API tests: catch the read models up, or keep a worker running,
over the app's own database (a command is COMPLETED once they hold its commit)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections.worker import ProjectionWorker
from spice_harvester.settings import load_settings


def _database(client: TestClient) -> SqlDatabase:
    found: SqlDatabase = client.app.state.resources.database  # type: ignore[attr-defined]
    return found


def catch_up(client: TestClient) -> None:
    """Applies everything in the log to every projection, now."""
    ProjectionWorker(_database(client), load_settings().worker).delivery.drain()


@contextmanager
def worker_running(client: TestClient) -> Iterator[ProjectionWorker]:
    """A projection worker on a thread for the duration (SQLite: it polls every 0.5 s)."""
    settings = load_settings().worker.model_copy(update={"poll_seconds": 0.05})
    worker = ProjectionWorker(_database(client), settings)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=30)
