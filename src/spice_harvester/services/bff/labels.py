"""Each database's labels, kept per process for a few seconds and dropped at once when a schema
write goes through this process (another BFF process sees it within the TTL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from spice_harvester.adapters.oms_client import Forwarded, OmsClient
from spice_harvester.application.labels import LabelIndex

# A ref: (db, branch, at). `at` pins a commit or a ref such as `main~2`.
Key = tuple[str, str, str | None]
Loader = Callable[[], Awaitable[LabelIndex]]
MAX_ENTRIES = 256
SCHEMA_PAGE = 1000


@dataclass(frozen=True)
class _Entry:
    index: LabelIndex
    loaded: float
    expires: float


class LabelCache:
    """LabelIndex per (db, branch, at), for `ttl` seconds. Concurrent misses of one key wait
    for one load; a load that overlapped an invalidation answers its request but is not kept."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[Key, _Entry] = {}
        self._locks: dict[Key, asyncio.Lock] = {}
        self._generation: dict[str, int] = {}

    async def get(self, key: Key, load: Loader, *, loaded_since: float | None = None) -> LabelIndex:
        """The index of `key`; with `loaded_since` (a time of `clock`), one loaded then or
        later, so a caller that saw a stale index gets a newer one, and only one load."""
        entry = self._usable(key, loaded_since)
        if entry is not None:
            return entry.index
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            # Whoever held the lock may just have loaded it.
            entry = self._usable(key, loaded_since)
            if entry is not None:
                return entry.index
            generation = self._generation.get(key[0], 0)
            started = self.clock()
            index = await load()
            if self.ttl > 0 and self._generation.get(key[0], 0) == generation:
                self._entries.pop(key, None)
                self._entries[key] = _Entry(index, started, self.clock() + self.ttl)
                self._evict()
        if not lock.locked():
            self._locks.pop(key, None)
        return index

    def _usable(self, key: Key, loaded_since: float | None) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry.expires <= self.clock():
            return None
        if loaded_since is not None and entry.loaded < loaded_since:
            return None
        return entry

    def _evict(self) -> None:
        while len(self._entries) > MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]

    def invalidate(self, db: str) -> None:
        """Forget every ref of `db`: its schema changed (or the database went)."""
        self._generation[db] = self._generation.get(db, 0) + 1
        for key in [k for k in self._entries if k[0] == db]:
            del self._entries[key]


async def load_index(
    oms: OmsClient, forwarded: Forwarded, db: str, branch: str, at: str | None
) -> LabelIndex:
    """Every class of `db` at the ref, read from OMS page by page."""
    classes: list[dict[str, object]] = []
    path = f"/api/v1/database/{quote(db, safe='')}/ontology"
    while True:
        params: dict[str, str | int] = {
            "branch": branch,
            "limit": SCHEMA_PAGE,
            "offset": len(classes),
        }
        if at is not None:
            params["at"] = at
        page = (await oms.call("GET", path, forwarded, params=params)).data
        found = page.get("ontologies", []) if isinstance(page, dict) else []
        classes.extend(found)
        total = page.get("total", 0) if isinstance(page, dict) else 0
        if not found or len(classes) >= total:
            return LabelIndex.from_classes(classes)
