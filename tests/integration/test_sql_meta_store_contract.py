"""The MetaStore contract, run unchanged against every engine, concurrency included."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import pytest

from spice_harvester.adapters.sql.meta_store import SqlMetaStore
from spice_harvester.domain.errors import ConcurrencyConflict
from spice_harvester.ports.meta import MetaEntry, MetaStore

THREADS = 8
INCREMENTS_PER_THREAD = 25


def test_the_adapter_satisfies_the_meta_store_port(meta: SqlMetaStore) -> None:
    port: MetaStore = meta
    assert port.list() == []


def test_getting_a_missing_key_returns_none(meta: SqlMetaStore) -> None:
    assert meta.get("nobody/home") is None


def test_unicode_keys_and_values_round_trip_exactly(meta: SqlMetaStore) -> None:
    value = "스파이스 하베스터 🌶️🚀 — naïve ✓\n둘째 줄"
    written = meta.put("설정/🌶️", value)
    read = meta.get("설정/🌶️")
    assert read == written
    assert read is not None
    assert read.value == value


def test_each_unconditional_put_bumps_the_version_by_one(meta: SqlMetaStore) -> None:
    written = [meta.put("mode", f"v{n}") for n in range(3)]
    assert [entry.version for entry in written] == [1, 2, 3]
    assert meta.get("mode") == MetaEntry("mode", "v2", 3, written[-1].updated_at)


def test_a_put_with_the_current_version_succeeds(meta: SqlMetaStore) -> None:
    first = meta.put("install_id", "a", expected_version=0)
    second = meta.put("install_id", "b", expected_version=first.version)
    assert (first.version, second.version) == (1, 2)
    stored = meta.get("install_id")
    assert stored is not None
    assert (stored.value, stored.version) == ("b", 2)


def test_a_stale_expected_version_writes_nothing(meta: SqlMetaStore) -> None:
    meta.put("mode", "normal")
    current = meta.put("mode", "maintenance")
    with pytest.raises(ConcurrencyConflict) as caught:
        meta.put("mode", "clobbered", expected_version=1)
    assert (caught.value.aggregate_id, caught.value.expected_seq, caught.value.actual_seq) == (
        "mode",
        1,
        2,
    )
    assert meta.get("mode") == current


def test_expecting_version_zero_for_an_existing_key_conflicts(meta: SqlMetaStore) -> None:
    existing = meta.put("install_id", "first", expected_version=0)
    with pytest.raises(ConcurrencyConflict) as caught:
        meta.put("install_id", "second", expected_version=0)
    assert (caught.value.expected_seq, caught.value.actual_seq) == (0, 1)
    assert meta.get("install_id") == existing


def test_expecting_a_version_of_a_missing_key_conflicts_with_zero(meta: SqlMetaStore) -> None:
    with pytest.raises(ConcurrencyConflict) as caught:
        meta.put("ghost", "boo", expected_version=3)
    assert (caught.value.expected_seq, caught.value.actual_seq) == (3, 0)
    assert meta.get("ghost") is None


def test_deleting_without_a_version_says_whether_the_key_existed(meta: SqlMetaStore) -> None:
    meta.put("doomed", "x")
    assert meta.delete("doomed") is True
    assert meta.get("doomed") is None
    assert meta.delete("doomed") is False


def test_deleting_with_a_stale_version_conflicts_and_keeps_the_key(meta: SqlMetaStore) -> None:
    meta.put("kept", "1")
    current = meta.put("kept", "2")
    with pytest.raises(ConcurrencyConflict) as caught:
        meta.delete("kept", expected_version=1)
    assert caught.value.actual_seq == 2
    assert meta.get("kept") == current
    assert meta.delete("kept", expected_version=2) is True
    assert meta.get("kept") is None


def test_deleting_with_version_zero_means_it_must_not_exist(meta: SqlMetaStore) -> None:
    assert meta.delete("never-was", expected_version=0) is False
    meta.put("is", "here")
    with pytest.raises(ConcurrencyConflict) as caught:
        meta.delete("is", expected_version=0)
    assert caught.value.actual_seq == 1
    assert meta.get("is") is not None


def test_listing_by_prefix_is_literal_case_sensitive_and_in_key_order(
    meta: SqlMetaStore,
) -> None:
    for key in ["app/b", "app/a", "app/A", "app/가", "apple", "App/z", "app_1", "appx1", "b/c"]:
        meta.put(key, key.upper())
    assert [entry.key for entry in meta.list("app/")] == ["app/A", "app/a", "app/b", "app/가"]
    assert [entry.key for entry in meta.list("app_")] == ["app_1"]
    assert [entry.key for entry in meta.list()] == [
        "App/z",
        "app/A",
        "app/a",
        "app/b",
        "app/가",
        "app_1",
        "apple",
        "appx1",
        "b/c",
    ]
    assert meta.list("app/a")[0].value == "APP/A"


def test_updated_at_is_timezone_aware_utc_and_current(meta: SqlMetaStore) -> None:
    before = datetime.now(UTC)
    written = meta.put("clock", "tick")
    after = datetime.now(UTC)
    stored = meta.get("clock")
    assert stored is not None
    for stamp in (written.updated_at, stored.updated_at, meta.list("clock")[0].updated_at):
        assert stamp.utcoffset() == timedelta(0)
        assert before <= stamp <= after
    assert stored.updated_at == written.updated_at


def test_keys_longer_than_255_characters_are_refused(meta: SqlMetaStore) -> None:
    with pytest.raises(ValueError, match="255"):
        meta.put("k" * 256, "too long")
    assert meta.put("k" * 255, "fits").version == 1


def test_concurrent_compare_and_set_increments_lose_no_update(meta: SqlMetaStore) -> None:
    meta.put("counter", "0", expected_version=0)
    start = Barrier(THREADS, timeout=10)

    def increment_many() -> None:
        start.wait()
        for _ in range(INCREMENTS_PER_THREAD):
            while True:
                entry = meta.get("counter")
                assert entry is not None
                try:
                    meta.put("counter", str(int(entry.value) + 1), expected_version=entry.version)
                    break
                except ConcurrencyConflict:
                    continue

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(increment_many) for _ in range(THREADS)]
        for future in futures:
            future.result()
    final = meta.get("counter")
    assert final is not None
    assert final.value == str(THREADS * INCREMENTS_PER_THREAD)
    assert final.version == THREADS * INCREMENTS_PER_THREAD + 1


def test_concurrent_unconditional_puts_each_bump_the_version(meta: SqlMetaStore) -> None:
    start = Barrier(THREADS, timeout=10)

    def put_many(thread: int) -> list[int]:
        start.wait()
        return [meta.put("busy", f"{thread}:{n}").version for n in range(INCREMENTS_PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        versions = [v for batch in pool.map(put_many, range(THREADS)) for v in batch]
    total = THREADS * INCREMENTS_PER_THREAD
    assert sorted(versions) == list(range(1, total + 1))
    final = meta.get("busy")
    assert final is not None
    assert final.version == total
