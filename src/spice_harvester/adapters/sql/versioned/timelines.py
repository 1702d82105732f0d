"""Timelines: runs of first-parent history, and the chain a read walks through them."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Connection, select

from spice_harvester.adapters.sql.tables import timelines

# A chain is the list of (timeline, highest visible position), nearest first.
Chain = list[tuple[int, int]]


@dataclass(frozen=True)
class Timeline:
    timeline_id: int
    parent_id: int | None
    fork_pos: int | None
    depth: int


class TimelineCache:
    """Timelines never change once written (only their tip moves, which reads do not use),
    so each process keeps what it has read. A write that rolls back must clear it: SQLite
    may hand a rolled-back timeline's id out again."""

    def __init__(self) -> None:
        self._known: dict[int, Timeline] = {}
        self._lock = threading.Lock()

    def get(self, connection: Connection, timeline_id: int) -> Timeline:
        found = self._known.get(timeline_id)
        if found is not None:
            return found
        row = connection.execute(
            select(timelines.c.parent_timeline_id, timelines.c.fork_pos, timelines.c.depth).where(
                timelines.c.timeline_id == timeline_id
            )
        ).one()
        found = Timeline(timeline_id, row.parent_timeline_id, row.fork_pos, row.depth)
        with self._lock:
            self._known[timeline_id] = found
        return found

    def chain(self, connection: Connection, timeline_id: int, pos: int) -> Chain:
        """The levels a read at (timeline_id, pos) overlays, nearest first."""
        levels: Chain = [(timeline_id, pos)]
        current = self.get(connection, timeline_id)
        while current.parent_id is not None:
            assert current.fork_pos is not None
            levels.append((current.parent_id, current.fork_pos))
            current = self.get(connection, current.parent_id)
        return levels

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
