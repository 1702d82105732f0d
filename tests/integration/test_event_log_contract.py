"""The EventLog contract on every engine, and the late-committer case PostgreSQL must survive."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, text

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.tables import events
from spice_harvester.ports.registry import EventLog, LogCheckpoint, StoredEvent
from tests.integration.sql_engines import EngineUnderTest

START = LogCheckpoint.start()
OCCURRED = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)
SETTLE_SECONDS = 10


def _row(event_id: str, seq: int = 1, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": event_id,
        "db_id": 7,
        "db_name": "ontology",
        "commit_id": "c" * 40,
        "branch": "main",
        "aggregate_type": "instance",
        "aggregate_id": f"Person/{event_id}",
        "class_id": "Person",
        "seq": seq,
        "event_type": "instance.created",
        "payload": {"event": event_id},
        "payload_hash": "h" * 64,
        "actor": "tester",
        "occurred_at": OCCURRED,
    }
    row.update(overrides)
    return row


def _append(db: SqlDatabase, *rows: dict[str, Any]) -> None:
    """Writes the rows in one transaction and waits until readers may see them."""
    with db.transaction() as connection:
        connection.execute(insert(events), list(rows))
    _settle(db)


def _settle(db: SqlDatabase) -> None:
    # Transaction ids are cluster-wide, so a transaction in some other database on the
    # test server can briefly hold the log back; wait for it rather than fail.
    if db.engine_name != "postgresql":
        return
    deadline = time.monotonic() + SETTLE_SECONDS
    caught_up = text(
        "SELECT coalesce(max(txid) < pg_snapshot_xmin(pg_current_snapshot()), true) FROM events"
    )
    while True:
        with db.read() as connection:
            if connection.execute(caught_up).scalar_one():
                return
        assert time.monotonic() < deadline, "a transaction on the server never ended"
        time.sleep(0.01)


def _ids(found: list[StoredEvent]) -> list[str]:
    return [event.event_id for event in found]


@pytest.fixture
def log(migrated: SqlDatabase) -> SqlEventLog:
    return SqlEventLog(migrated)


def test_an_empty_log_reads_nothing_and_is_at_position_zero(log: SqlEventLog) -> None:
    port: EventLog = log
    assert port.read_after(START) == []
    assert port.last_position() == 0


def test_reading_from_the_start_returns_every_event_in_position_order(
    migrated: SqlDatabase, log: SqlEventLog
) -> None:
    _append(migrated, _row("e1"), _row("e2"))
    _append(migrated, _row("e3"))
    found = log.read_after(START)
    assert _ids(found) == ["e1", "e2", "e3"]
    positions = [event.position for event in found]
    assert positions == sorted(positions)
    assert len(set(positions)) == 3
    checkpoints = [event.checkpoint for event in found]
    assert checkpoints == sorted(checkpoints)
    assert checkpoints[0] > START


def test_reading_after_a_checkpoint_returns_only_later_events(
    migrated: SqlDatabase, log: SqlEventLog
) -> None:
    _append(migrated, _row("e1"), _row("e2"))
    seen = log.read_after(START)
    _append(migrated, _row("e3"), _row("e4"))
    assert _ids(log.read_after(seen[-1].checkpoint)) == ["e3", "e4"]
    assert _ids(log.read_after(seen[0].checkpoint)) == ["e2", "e3", "e4"]
    everything = log.read_after(START)
    assert log.read_after(everything[-1].checkpoint) == []


def test_paging_with_a_limit_returns_every_event_exactly_once(
    migrated: SqlDatabase, log: SqlEventLog
) -> None:
    _append(migrated, *[_row(f"e{n:02d}", seq=n) for n in range(1, 11)])
    pages: list[list[StoredEvent]] = []
    checkpoint = START
    while page := log.read_after(checkpoint, limit=3):
        pages.append(page)
        checkpoint = page[-1].checkpoint
    assert [len(page) for page in pages] == [3, 3, 3, 1]
    assert [event.event_id for page in pages for event in page] == [
        f"e{n:02d}" for n in range(1, 11)
    ]


def test_a_limit_below_one_is_refused(log: SqlEventLog) -> None:
    with pytest.raises(ValueError, match="limit"):
        log.read_after(START, limit=0)


def test_every_field_round_trips_with_unicode_payloads_and_utc_times(
    migrated: SqlDatabase, log: SqlEventLog
) -> None:
    payload = {
        "name": "스파이스 하베스터 🌶️ — naïve ✓",
        "nested": {"list": [1, 2.5, None, True, "둘째"], "empty": {}},
        "quote": 'it\'s "quoted"\n',
    }
    seoul = timezone(timedelta(hours=9))
    occurred = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=seoul)
    _append(
        migrated,
        _row(
            "ünïcode-1",
            seq=42,
            payload=payload,
            occurred_at=occurred,
            commit_id=None,
            branch=None,
            class_id=None,
            actor="작성자",
            aggregate_id="Person/홍길동",
        ),
    )
    (event,) = log.read_after(START)
    assert event.payload == payload
    assert event.occurred_at == occurred
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert (event.event_id, event.db_id, event.db_name, event.seq) == (
        "ünïcode-1",
        7,
        "ontology",
        42,
    )
    assert (event.commit_id, event.branch, event.class_id) == (None, None, None)
    assert (event.aggregate_type, event.aggregate_id, event.actor) == (
        "instance",
        "Person/홍길동",
        "작성자",
    )
    assert event.event_type == "instance.created"


def test_last_position_is_the_highest_position_written(
    migrated: SqlDatabase, log: SqlEventLog
) -> None:
    _append(migrated, _row("e1"), _row("e2"), _row("e3"))
    assert log.last_position() == log.read_after(START)[-1].position
    assert log.last_position() >= 3


def test_checkpoints_carry_the_transaction_order_only_on_postgresql(
    engine_under_test: EngineUnderTest, migrated: SqlDatabase, log: SqlEventLog
) -> None:
    _append(migrated, _row("first"))
    _append(migrated, _row("second"))
    first, second = log.read_after(START)
    if engine_under_test.name == "sqlite":
        assert (first.checkpoint.tx_order, second.checkpoint.tx_order) == (0, 0)
    else:
        assert 0 < first.checkpoint.tx_order < second.checkpoint.tx_order


def test_a_rolled_back_writer_leaves_no_event_and_holds_nothing_back(
    migrated: SqlDatabase, log: SqlEventLog
) -> None:
    with migrated.engine.connect() as connection:
        abandoned = connection.begin()
        connection.execute(insert(events).values(_row("never")))
        abandoned.rollback()
    _append(migrated, _row("kept"))
    assert _ids(log.read_after(START)) == ["kept"]


@pytest.mark.postgres
def test_a_transaction_that_commits_late_is_neither_shown_early_nor_skipped(
    engine_under_test: EngineUnderTest, migrated: SqlDatabase, log: SqlEventLog
) -> None:
    if engine_under_test.name != "postgresql":
        pytest.skip("SQLite serialises writers: no transaction can commit behind another")
    _append(migrated, _row("before"))
    (before,) = log.read_after(START)
    with migrated.engine.connect() as late:
        late_transaction = late.begin()
        # The late writer takes its position (and transaction id) first...
        late.execute(insert(events).values(_row("late")))
        # ...but another writer with a higher position commits before it does.
        with migrated.transaction() as prompt:
            prompt.execute(insert(events).values(_row("prompt")))
        assert log.read_after(START) == [before]
        assert log.read_after(before.checkpoint) == []
        late_transaction.commit()
    _settle(migrated)
    resumed = log.read_after(before.checkpoint)
    assert _ids(resumed) == ["late", "prompt"]
    late_event, prompt_event = resumed
    assert late_event.position < prompt_event.position
    assert _ids(log.read_after(START)) == ["before", "late", "prompt"]
    assert log.read_after(prompt_event.checkpoint) == []


@pytest.mark.postgres
def test_an_older_transaction_that_writes_last_is_not_skipped_either(
    engine_under_test: EngineUnderTest, migrated: SqlDatabase, log: SqlEventLog
) -> None:
    if engine_under_test.name != "postgresql":
        pytest.skip("SQLite serialises writers: no transaction can commit behind another")
    with migrated.engine.connect() as older, migrated.engine.connect() as younger:
        older_transaction = older.begin()
        # Takes a transaction id now, before the younger transaction exists.
        older.execute(text("SELECT pg_current_xact_id()"))
        younger_transaction = younger.begin()
        younger.execute(insert(events).values(_row("younger")))
        older.execute(insert(events).values(_row("older")))
        older_transaction.commit()
        _settle(migrated)
        # The older transaction's event has the higher position but the lower txid.
        (first,) = log.read_after(START)
        assert first.event_id == "older"
        younger_transaction.commit()
    _settle(migrated)
    assert _ids(log.read_after(first.checkpoint)) == ["younger"]
    younger_event, older_event = sorted(log.read_after(START), key=lambda e: e.position)
    assert younger_event.position < older_event.position
