"""API keys as BFF sees them: looked up once per key every few seconds, not per request.

A revoked key keeps working for at most `KEY_CACHE_SECONDS` in a process that had just
looked it up; a new key works at once (unknown keys are cached just as briefly).
"""

from __future__ import annotations

import hashlib
import time
from typing import Final

import anyio.to_thread

from spice_harvester.domain.errors import Unauthorized
from spice_harvester.ports.api_keys import ApiKey, ApiKeyStore

KEY_CACHE_SECONDS: Final = 5.0
KEY_CACHE_SIZE: Final = 10_000

# The key, or why it is refused (unknown, revoked).
Verdict = ApiKey | str


class KeyCache:
    def __init__(self, store: ApiKeyStore, ttl: float = KEY_CACHE_SECONDS) -> None:
        self._store = store
        self._ttl = ttl
        # Held by digest, so no key sits in memory longer than its request.
        self._entries: dict[str, tuple[float, Verdict]] = {}

    async def verdict(self, secret: str) -> Verdict:
        digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
        now = time.monotonic()
        cached = self._entries.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await anyio.to_thread.run_sync(self._lookup, secret)
        if len(self._entries) >= KEY_CACHE_SIZE:
            self._prune(now)
        self._entries[digest] = (now + self._ttl, found)
        return found

    def _lookup(self, secret: str) -> Verdict:
        try:
            return self._store.authenticate(secret)
        except Unauthorized as refused:
            return refused.message

    def _prune(self, now: float) -> None:
        self._entries = {key: entry for key, entry in self._entries.items() if entry[0] > now}
        if len(self._entries) >= KEY_CACHE_SIZE:
            self._entries.clear()
