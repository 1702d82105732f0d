"""Distributed delivery over a real NATS JetStream, on SQLite and PostgreSQL: the relay
publishes the log's units, workers sharing one durable consumer apply them, and every read
model ends equal to a rebuild from the store whatever the delivery did (twice, out of order,
to two workers at once)."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy import func, select, text

from spice_harvester.adapters.nats.consumer import ConsumeReport, NatsConsumer
from spice_harvester.adapters.nats.messages import UnitMessage
from spice_harvester.adapters.nats.relay import OutboxRelay, load_checkpoint
from spice_harvester.adapters.nats.stream import ensure_stream, subject_for
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.tables import processed_events
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.projections.units import Unit, UnitKind, read_units
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.ports.registry import LogCheckpoint
from spice_harvester.settings.model import NatsDeliverySettings
from tests.integration.projection_helpers import FAST_RETRY, assert_read_models_match
from tests.integration.store_helpers import DB, create, person, remove, update, write

NATS_URL = "nats://127.0.0.1:4222"
PERSON = DocRef.of_class("Person")


@pytest.fixture
def names() -> Iterator[NatsDeliverySettings]:
    """A stream and consumer of this test's own, deleted afterwards."""
    tag = uuid.uuid4().hex[:10]
    settings = NatsDeliverySettings(
        stream=f"TEST_{tag}",
        subject_prefix=f"test.{tag}",
        durable=f"workers-{tag}",
        ack_wait_seconds=2,
        fetch_batch=8,
    )
    yield settings

    async def drop() -> None:
        client = await nats.connect(NATS_URL)
        try:
            await client.jetstream().delete_stream(settings.stream)
        finally:
            await client.close()

    asyncio.run(drop())


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlVersionedStore:
    created = SqlVersionedStore(migrated)
    created.create_database(DB, actor="admin")
    write(created, "main", create(PERSON, {"label": "Person"}))
    for number in range(12):
        write(created, "main", create(person(f"p{number}"), {"name": f"Person {number}"}))
    created.create_branch(DB, "dev", "main")
    for number in range(0, 12, 3):
        write(created, "dev", update(person(f"p{number}"), {"name": f"Renamed {number}"}))
    write(created, "main", remove(person("p1")))
    assert created.merge(DB, "dev", "main", author="t").status == "merged"
    created.reset_branch(DB, "dev", "dev~2")
    write(created, "dev", create(person("late"), {"name": "Late"}))
    return created


@asynccontextmanager
async def jetstream(settings: NatsDeliverySettings) -> AsyncIterator[Client]:
    client = await nats.connect(NATS_URL)
    try:
        await ensure_stream(client.jetstream(), settings)
        yield client
    finally:
        await client.close()


def done_marks(database: SqlDatabase) -> int:
    with database.read() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(processed_events)
                .where(processed_events.c.status == "done")
            ).scalar_one()
        )


def expected_marks(database: SqlDatabase) -> int:
    """Every event a projection applies, once per serving projection (three of them)."""
    return 3 * sum(len(unit.events) for unit in units_of(database))


async def consume(
    database: SqlDatabase,
    settings: NatsDeliverySettings,
    client: Client,
    *,
    owners: int = 1,
    settled: Callable[[list[ConsumeReport]], bool],
    timeout: float = 60,
) -> list[ConsumeReport]:
    """`owners` workers, each its own applier on one consumer, until `settled` holds."""
    stop = threading.Event()
    reports = [ConsumeReport() for _ in range(owners)]
    consumers = [
        NatsConsumer(
            SqlApplier(database, f"worker-{number}"),
            SqlEventLog(database),
            client.jetstream(),
            settings,
            FAST_RETRY,
        )
        for number in range(owners)
    ]
    tasks = [
        asyncio.create_task(consumer.run(stop, report))
        for consumer, report in zip(consumers, reports, strict=True)
    ]
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await asyncio.to_thread(settled, reports):
            assert loop.time() < deadline, f"not settled in {timeout} s: {reports}"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return reports


def all_done(database: SqlDatabase) -> Callable[[list[ConsumeReport]], bool]:
    wanted = expected_marks(database)
    return lambda reports: done_marks(database) >= wanted


def test_relayed_units_reach_every_read_model_once(
    migrated: SqlDatabase, store: SqlVersionedStore, names: NatsDeliverySettings
) -> None:
    async def scenario() -> None:
        async with jetstream(names) as client:
            relay = OutboxRelay(migrated, client.jetstream(), names, batch_size=5)
            published = 0
            while True:
                report = await relay.publish_batch()
                published += report.published
                if not report.more:
                    break
            assert published > 0
            await consume(migrated, names, client, settled=all_done(migrated))

    asyncio.run(scenario())
    assert done_marks(migrated) == expected_marks(migrated)
    assert_read_models_match(migrated)


def test_a_relay_publishing_everything_twice_changes_nothing(
    migrated: SqlDatabase, store: SqlVersionedStore, names: NatsDeliverySettings
) -> None:
    async def scenario() -> None:
        async with jetstream(names) as client:
            js = client.jetstream()
            relay = OutboxRelay(migrated, js, names, batch_size=500)
            first = await relay.publish_batch()
            assert first.published > 0
            assert not first.more
            # A crash before the checkpoint was saved: the same units go out again, and the
            # stream's duplicate window drops them by their Nats-Msg-Id.
            reset_relay(migrated)
            again = await relay.publish_batch()
            assert (again.published, again.duplicates) == (first.published, first.published)
            # Past the window the stream takes them: every unit once more under new ids, as
            # a relay restarted long after would publish them.
            await publish(js, names, units_of(migrated), prefix="late-")
            stream = await js.stream_info(names.stream)
            assert stream.state.messages == 2 * first.published
            reports = await consume(
                migrated,
                names,
                client,
                settled=lambda seen: sum(r.acked for r in seen) >= 2 * first.published,
            )
            assert sum(r.acked for r in reports) == 2 * first.published

    asyncio.run(scenario())
    assert done_marks(migrated) == expected_marks(migrated)
    assert_read_models_match(migrated)
    assert load_checkpoint(migrated) > LogCheckpoint.start()


def reset_relay(database: SqlDatabase) -> None:
    """The relay's checkpoint never moves back by itself: a crash is staged by hand."""
    with database.transaction() as connection:
        connection.execute(
            text(
                "UPDATE projection_checkpoints SET tx_order = 0, position = 0 "
                "WHERE projection = 'relay:nats'"
            )
        )


def units_of(database: SqlDatabase) -> list[Unit]:
    units, _ = read_units(SqlEventLog(database), LogCheckpoint.start(), 100_000)
    return [unit for unit in units if unit.kind is not UnitKind.OTHER]


async def publish(
    js: JetStreamContext, names: NatsDeliverySettings, units: list[Unit], *, prefix: str = ""
) -> None:
    for unit in units:
        message = UnitMessage.of(unit)
        await js.publish(
            subject_for(names, message.db_id),
            message.encode(),
            headers={"Nats-Msg-Id": f"{prefix}{message.msg_id}"},
        )


def test_units_delivered_in_any_order_end_in_the_state_at_each_head(
    migrated: SqlDatabase, store: SqlVersionedStore, names: NatsDeliverySettings
) -> None:
    async def scenario() -> None:
        async with jetstream(names) as client:
            shuffled = units_of(migrated)
            random.Random(7).shuffle(shuffled)
            await publish(client.jetstream(), names, shuffled)
            await consume(migrated, names, client, settled=all_done(migrated))

    asyncio.run(scenario())
    assert_read_models_match(migrated)


def test_two_workers_given_the_same_units_at_once_apply_each_once(
    migrated: SqlDatabase, store: SqlVersionedStore, names: NatsDeliverySettings
) -> None:
    async def scenario() -> None:
        async with jetstream(names) as client:
            # Every unit twice, under different ids: both copies are delivered, to whichever
            # of the three workers fetches first, often at the same moment.
            for copy in ("a-", "b-"):
                await publish(client.jetstream(), names, units_of(migrated), prefix=copy)
            await consume(migrated, names, client, owners=3, settled=all_done(migrated))

    asyncio.run(scenario())
    assert done_marks(migrated) == expected_marks(migrated)
    assert_read_models_match(migrated)


def test_a_message_that_is_not_a_unit_is_dropped_not_retried(
    migrated: SqlDatabase, store: SqlVersionedStore, names: NatsDeliverySettings
) -> None:
    async def scenario() -> ConsumeReport:
        async with jetstream(names) as client:
            js = client.jetstream()
            await js.publish(subject_for(names, 1), json.dumps({"nonsense": 1}).encode())
            report = ConsumeReport()
            stop = threading.Event()
            consumer = NatsConsumer(
                SqlApplier(migrated, "w"), SqlEventLog(migrated), js, names, FAST_RETRY
            )
            task = asyncio.create_task(consumer.run(stop, report))
            await asyncio.sleep(1.5)
            stop.set()
            await task
            info = await js.consumer_info(names.stream, names.durable)
            assert info.num_ack_pending == 0
            assert info.num_pending == 0
            return report

    report = asyncio.run(scenario())
    assert report.acked == 0
