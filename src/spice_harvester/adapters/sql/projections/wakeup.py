"""What wakes an idle worker: PostgreSQL's LISTEN spice_events, or on SQLite a short poll."""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

import psycopg

from spice_harvester.adapters.sql.database import SqlDatabase

log = logging.getLogger(__name__)
CHANNEL: Final = "spice_events"
_SLICE: Final = 0.5  # the longest a wait goes without looking at the stop flag


class PollWakeup:
    """SQLite: nothing announces a commit, so waiting is sleeping (cut short by `stop`)."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def wait(self, timeout: float) -> bool:
        self._stop.wait(timeout)
        return False

    def close(self) -> None:
        return None


class PostgresWakeup:
    """LISTEN on a connection of its own. Every writer of `events` NOTIFYs in its
    transaction (a trigger, migration 0007), so the notification arrives when the events
    become visible; ones that arrive while the worker is busy wait on the connection. A
    lost connection is opened again on the next wait; meanwhile the worker polls."""

    def __init__(self, database: SqlDatabase, stop: threading.Event) -> None:
        url = database.engine.url.set(drivername="postgresql")
        self._conninfo = url.render_as_string(hide_password=False)
        self._stop = stop
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                if self._notified(min(left, _SLICE)):
                    return True
            except psycopg.Error as exc:
                log.warning("lost the LISTEN connection, polling until it is back: %s", exc)
                self.close()
                self._stop.wait(min(left, 1.0))
        return False

    def _notified(self, timeout: float) -> bool:
        connection = self._listening()
        # Each generator holds the connection's lock until it is exhausted: the first must
        # end before the second starts, or the second waits on the first forever.
        woken = any(True for _ in connection.notifies(timeout=timeout, stop_after=1))
        if woken:
            # One round reads every event committed so far: the rest are the same news.
            for _ in connection.notifies(timeout=0.0):
                pass
        return woken

    def _listening(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            connection.execute(f"LISTEN {CHANNEL}")
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
