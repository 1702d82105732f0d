"""The JetStream stream units are published to, and the durable consumer workers share."""

from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from spice_harvester.domain.errors import DependencyUnavailable
from spice_harvester.settings.model import NatsDeliverySettings


def subject_for(settings: NatsDeliverySettings, db_id: int) -> str:
    return f"{settings.subject_prefix}.{db_id}"


def stream_config(settings: NatsDeliverySettings) -> StreamConfig:
    return StreamConfig(
        name=settings.stream,
        subjects=[f"{settings.subject_prefix}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=settings.max_age_seconds,
        duplicate_window=settings.duplicate_window_seconds,
    )


def consumer_config(settings: NatsDeliverySettings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=settings.durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_seconds,
        max_deliver=-1,  # a unit that keeps failing is parked by the applier, not dropped here
        max_ack_pending=max(1000, settings.fetch_batch * 16),
        filter_subject=f"{settings.subject_prefix}.>",
    )


async def connect(url: str, name: str) -> Client:
    """A connection that reconnects by itself for as long as the process runs."""
    try:
        return await nats.connect(
            url,
            name=name,
            connect_timeout=5,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            allow_reconnect=True,
        )
    except Exception as exc:  # nats raises several unrelated types for "not there"
        raise DependencyUnavailable("nats", f"cannot connect to {url}: {exc}") from exc


async def ensure_stream(js: JetStreamContext, settings: NatsDeliverySettings) -> None:
    """Creates the stream, or brings an existing one to these settings."""
    wanted = stream_config(settings)
    try:
        await js.stream_info(settings.stream)
    except NotFoundError:
        await js.add_stream(wanted)
        return
    await js.update_stream(wanted)
