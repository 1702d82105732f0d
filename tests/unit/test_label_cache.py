"""The per-process cache of label indexes: TTL, invalidation by schema writes, shared loads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from spice_harvester.application.labels import LabelIndex
from spice_harvester.services.bff.labels import LabelCache

KEY = ("shop", "main", None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loads:
    """A loader that counts its calls and answers an index naming the call's number."""

    def __init__(self, pause: float = 0.0) -> None:
        self.count = 0
        self.pause = pause

    async def __call__(self) -> LabelIndex:
        self.count += 1
        number = self.count
        await asyncio.sleep(self.pause)
        return LabelIndex.from_classes([{"id": f"Load{number}", "label": "x"}])


def loaded(index: LabelIndex) -> str:
    return next(iter(index.by_id))


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def test_an_index_is_kept_for_the_ttl_then_loaded_again() -> None:
    clock, loads = Clock(), Loads()
    cache = LabelCache(5, clock)

    async def test() -> None:
        assert loaded(await cache.get(KEY, loads)) == "Load1"
        clock.now += 4.9
        assert loaded(await cache.get(KEY, loads)) == "Load1"
        clock.now += 0.2
        assert loaded(await cache.get(KEY, loads)) == "Load2"

    run(test)


def test_a_schema_write_drops_every_ref_of_its_database_only() -> None:
    loads = Loads()
    cache = LabelCache(5, Clock())
    other = ("elsewhere", "main", None)

    async def test() -> None:
        await cache.get(KEY, loads)
        await cache.get(("shop", "draft", None), loads)
        await cache.get(other, loads)
        cache.invalidate("shop")
        assert loaded(await cache.get(KEY, loads)) == "Load4"
        assert loaded(await cache.get(("shop", "draft", None), loads)) == "Load5"
        assert loaded(await cache.get(other, loads)) == "Load3"

    run(test)


def test_concurrent_misses_share_one_load() -> None:
    loads = Loads(pause=0.05)
    cache = LabelCache(5)

    async def test() -> None:
        found = await asyncio.gather(*(cache.get(KEY, loads) for _ in range(10)))
        assert {loaded(index) for index in found} == {"Load1"}

    run(test)
    assert loads.count == 1


def test_a_load_that_overlapped_a_schema_write_is_not_kept() -> None:
    loads = Loads(pause=0.05)
    cache = LabelCache(5)

    async def test() -> None:
        pending = asyncio.ensure_future(cache.get(KEY, loads))
        await asyncio.sleep(0.01)
        cache.invalidate("shop")  # the schema changed while the old one was being read
        assert loaded(await pending) == "Load1"
        assert loaded(await cache.get(KEY, loads)) == "Load2"

    run(test)


def test_loaded_since_asks_for_an_index_no_older_than_a_time() -> None:
    clock, loads = Clock(), Loads()
    cache = LabelCache(5, clock)

    async def test() -> None:
        await cache.get(KEY, loads)
        clock.now += 1
        asked = clock.now
        assert loaded(await cache.get(KEY, loads, loaded_since=asked)) == "Load2"
        # Loaded at or after `asked` already: no second load for the same caller.
        assert loaded(await cache.get(KEY, loads, loaded_since=asked)) == "Load2"
        assert loaded(await cache.get(KEY, loads)) == "Load2"

    run(test)
    assert loads.count == 2


def test_a_ttl_of_zero_keeps_nothing() -> None:
    loads = Loads()
    cache = LabelCache(0)

    async def test() -> None:
        await cache.get(KEY, loads)
        await cache.get(KEY, loads)

    run(test)
    assert loads.count == 2
