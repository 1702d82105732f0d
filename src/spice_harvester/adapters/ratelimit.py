"""Token buckets: in Redis (one Lua script, shared by every process) or in this process.

A bucket holds up to `capacity` tokens and refills continuously at `capacity / window`
tokens per second; each request takes one. With Redis the whole read-refill-take step is
one script, so processes sharing a Redis share every bucket exactly. When Redis is absent
or fails, the same arithmetic runs in this process: limits then hold per process, and no
request ever fails because Redis is down.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# After Redis fails, buckets stay in process this long before Redis is tried again, so a
# Redis that hangs costs one request its socket timeout, not every request.
REDIS_RETRY_SECONDS: Final = 5.0
# In-process buckets idle for a whole window are full again: past this many buckets, the
# idle ones are forgotten (and the next sweep waits until there are twice as many left).
MEMORY_PRUNE_AT: Final = 10_000

# KEYS[1]: the bucket. ARGV: capacity, window in seconds. Redis's own clock, so processes
# on hosts whose clocks disagree still agree. Returns {allowed, tokens left (as text)}.
_TAKE_LUA: Final = """
redis.replicate_commands()  -- writes after TIME: needed before Redis 5, a no-op since
local capacity = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2]) * 1000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * capacity / window_ms)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(window_ms))
return {allowed, tostring(tokens)}
"""


@dataclass(frozen=True)
class Decision:
    """One request's answer from its bucket, with what the X-RateLimit headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # until one token is there (0 when allowed)

    @classmethod
    def of(cls, allowed: bool, tokens: float, capacity: int, window: float) -> Decision:
        per_second = capacity / window
        return cls(
            allowed=allowed,
            limit=capacity,
            remaining=max(0, math.floor(tokens)),
            reset_seconds=math.ceil(max(0.0, capacity - tokens) / per_second),
            retry_after=0 if allowed else max(1, math.ceil((1 - tokens) / per_second)),
        )

    def headers(self) -> list[tuple[bytes, bytes]]:
        found = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset_seconds).encode()),
        ]
        if not self.allowed:
            found.append((b"retry-after", str(self.retry_after).encode()))
        return found


class MemoryBuckets:
    """Buckets in this process only."""

    def __init__(self) -> None:
        # key -> (tokens, when they were counted (monotonic), the bucket's window)
        self._buckets: dict[str, tuple[float, float, float]] = {}
        self._prune_at = MEMORY_PRUNE_AT

    def take(self, key: str, capacity: int, window: float) -> Decision:
        now = time.monotonic()
        tokens, at, _ = self._buckets.get(key, (float(capacity), now, window))
        tokens = min(float(capacity), tokens + (now - at) * capacity / window)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        if len(self._buckets) >= self._prune_at:
            self._prune(now)
        self._buckets[key] = (tokens, now, window)
        return Decision.of(allowed, tokens, capacity, window)

    def _prune(self, now: float) -> None:
        self._buckets = {
            key: state for key, state in self._buckets.items() if now - state[1] < state[2]
        }
        self._prune_at = max(MEMORY_PRUNE_AT, 2 * len(self._buckets))


class TokenBuckets:
    """Buckets in Redis when there is one that answers, else in this process."""

    def __init__(self, redis: Redis | None, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._memory = MemoryBuckets()
        self._script = redis.register_script(_TAKE_LUA) if redis is not None else None
        self._redis_resumes_at = 0.0

    async def take(self, key: str, capacity: int, window: float) -> Decision:
        if self._script is not None and time.monotonic() >= self._redis_resumes_at:
            try:
                allowed, tokens = await self._script(
                    keys=[f"{self._prefix}{key}"], args=[capacity, window]
                )
            except (RedisError, OSError, TimeoutError) as exc:
                self._redis_resumes_at = time.monotonic() + REDIS_RETRY_SECONDS
                log.warning(
                    "rate limits held in process for %.0f s: redis failed: %s",
                    REDIS_RETRY_SECONDS,
                    exc,
                )
            else:
                return Decision.of(bool(allowed), float(tokens), capacity, window)
        return self._memory.take(key, capacity, window)
