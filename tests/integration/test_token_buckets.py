"""Token buckets in Redis and in process: the same arithmetic, refills, expiry, fallback."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from spice_harvester.adapters import ratelimit
from spice_harvester.adapters.ratelimit import Decision, MemoryBuckets, TokenBuckets
from spice_harvester.adapters.redis_cache import open_redis
from tests.postgres import unused_port

REDIS_URL = os.environ.get("SPICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"spice-test:{uuid.uuid4().hex}:"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    try:
        found = list(client.scan_iter(match=f"{name}*"))
        if found:
            client.delete(*found)
    finally:
        client.close()


async def _take_all(buckets: TokenBuckets, times: int, capacity: int, window: float) -> list[bool]:
    return [(await buckets.take("k", capacity, window)).allowed for _ in range(times)]


def test_a_decision_says_what_the_headers_say() -> None:
    allowed = Decision.of(True, 2.5, capacity=10, window=60)
    assert (allowed.remaining, allowed.reset_seconds, allowed.retry_after) == (2, 45, 0)
    refused = Decision.of(False, 0.25, capacity=10, window=60)
    assert (refused.remaining, refused.retry_after) == (0, 5)
    assert dict(refused.headers())[b"retry-after"] == b"5"
    assert b"retry-after" not in dict(allowed.headers())


def test_an_in_process_bucket_empties_and_refills_over_its_window() -> None:
    buckets = MemoryBuckets()
    assert [buckets.take("a", 2, 0.5).allowed for _ in range(3)] == [True, True, False]
    assert buckets.take("b", 2, 0.5).allowed, "each key has its own bucket"
    time.sleep(0.3)  # 0.3 s of 4 tokens a second: one is back
    assert buckets.take("a", 2, 0.5).allowed
    assert not buckets.take("a", 2, 0.5).allowed


@pytest.mark.redis
def test_a_redis_bucket_empties_refills_and_expires_when_idle(prefix: str) -> None:
    async def scenario() -> None:
        client = open_redis(REDIS_URL)
        try:
            buckets = TokenBuckets(client, prefix)
            assert await _take_all(buckets, 3, 2, 0.5) == [True, True, False]
            await asyncio.sleep(0.3)
            assert await _take_all(buckets, 2, 2, 0.5) == [True, False]
            ttl = await client.pttl(f"{prefix}k")
            assert 0 < ttl <= 500
            await asyncio.sleep(0.6)
            assert await client.exists(f"{prefix}k") == 0
            assert (await buckets.take("k", 2, 0.5)).remaining == 1
        finally:
            await client.aclose()

    asyncio.run(scenario())


@pytest.mark.redis
def test_many_concurrent_takes_on_one_redis_bucket_never_overspend(prefix: str) -> None:
    async def scenario() -> list[bool]:
        clients = [open_redis(REDIS_URL) for _ in range(4)]
        try:
            buckets = [TokenBuckets(client, prefix) for client in clients]
            takes = [buckets[i % 4].take("shared", 50, 3600) for i in range(120)]
            return [decision.allowed for decision in await asyncio.gather(*takes)]
        finally:
            for client in clients:
                await client.aclose()

    assert sum(asyncio.run(scenario())) == 50


def test_a_redis_that_is_down_leaves_the_buckets_in_process_without_delay() -> None:
    async def scenario() -> None:
        down = open_redis(f"redis://127.0.0.1:{unused_port()}/0")
        try:
            buckets = TokenBuckets(down, "spice-test:")
            started = time.monotonic()
            assert await _take_all(buckets, 3, 2, 60) == [True, True, False]
            assert time.monotonic() - started < 1
        finally:
            await down.aclose()

    asyncio.run(scenario())


@pytest.mark.redis
def test_after_a_redis_error_buckets_are_held_in_process_then_redis_is_used_again(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setattr(ratelimit, "REDIS_RETRY_SECONDS", 0.2)

    async def scenario() -> None:
        client = open_redis(REDIS_URL)
        try:
            buckets = TokenBuckets(client, prefix)
            await client.set(f"{prefix}k", "not a bucket")  # the script fails: WRONGTYPE
            assert (await buckets.take("k", 5, 60)).remaining == 4
            await client.delete(f"{prefix}k")
            assert (await buckets.take("k", 5, 60)).remaining == 3, "paused: in process"
            assert await client.exists(f"{prefix}k") == 0
            await asyncio.sleep(0.25)
            assert (await buckets.take("k", 5, 60)).remaining == 4, "Redis's own bucket"
            assert await client.exists(f"{prefix}k") == 1
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_sweeping_idle_in_process_buckets_keeps_the_busy_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "MEMORY_PRUNE_AT", 4)
    buckets = MemoryBuckets()
    assert [buckets.take("busy", 2, 60).allowed for _ in range(2)] == [True, True]
    for name in ("idle-1", "idle-2", "idle-3"):
        buckets.take(name, 2, 0.1)
    time.sleep(0.15)
    assert buckets.take("new", 2, 60).allowed  # the fifth bucket sweeps the idle ones
    assert not buckets.take("busy", 2, 60).allowed, "a busy bucket must not be forgotten"
    assert buckets.take("idle-1", 2, 0.1).remaining == 1
