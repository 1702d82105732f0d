"""The outbox relay: reads the committed log in order and publishes each unit to JetStream.

Its checkpoint (a row of projection_checkpoints named `relay:nats`) moves only after every
unit up to it is acknowledged by the stream, so a crash republishes rather than skips. A
republish within the stream's duplicate window is dropped by its `Nats-Msg-Id`; a later one
reaches the workers, whose claims find it already applied. Several relays (one per worker
process) may run at once: they share the checkpoint, which never moves back, and publish
the same ids.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from nats.js import JetStreamContext
from sqlalchemy import and_, insert, or_, select

from spice_harvester.adapters.nats.messages import UnitMessage
from spice_harvester.adapters.nats.stream import subject_for
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.tables import projection_checkpoints
from spice_harvester.application.projections.units import UnitKind, read_units
from spice_harvester.ports.registry import LogCheckpoint
from spice_harvester.settings.model import NatsDeliverySettings

log = logging.getLogger(__name__)
RELAY: Final = "relay:nats"
_k = projection_checkpoints.c


def load_checkpoint(database: SqlDatabase) -> LogCheckpoint:
    with database.transaction() as connection:
        row = connection.execute(
            select(_k.tx_order, _k.position).where(_k.projection == RELAY, _k.version == 0)
        ).first()
        if row is not None:
            return LogCheckpoint(int(row.tx_order), int(row.position))
        connection.execute(
            insert(projection_checkpoints).values(
                projection=RELAY, version=0, tx_order=0, position=0, updated_at=datetime.now(UTC)
            )
        )
        return LogCheckpoint.start()


def save_checkpoint(database: SqlDatabase, to: LogCheckpoint) -> None:
    """Moves the relay's checkpoint forward to `to` (never back: relays may race)."""
    behind = or_(
        _k.tx_order < to.tx_order, and_(_k.tx_order == to.tx_order, _k.position < to.position)
    )
    with database.transaction() as connection:
        connection.execute(
            projection_checkpoints.update()
            .where(_k.projection == RELAY, _k.version == 0, behind)
            .values(tx_order=to.tx_order, position=to.position, updated_at=datetime.now(UTC))
        )


@dataclass
class RelayReport:
    published: int = 0
    duplicates: int = 0  # dropped by the stream: published before within its window
    more: bool = False  # a full batch was read: publish again at once


class OutboxRelay:
    def __init__(
        self,
        database: SqlDatabase,
        js: JetStreamContext,
        settings: NatsDeliverySettings,
        *,
        batch_size: int = 500,
        publish_timeout: float = 10.0,
    ) -> None:
        self._database = database
        self._log = SqlEventLog(database)
        self._js = js
        self._settings = settings
        self._batch = batch_size
        self._timeout = publish_timeout

    async def publish_batch(self) -> RelayReport:
        """Publishes the next batch of units after the checkpoint, then moves it."""
        checkpoint = await asyncio.to_thread(load_checkpoint, self._database)
        units, full = await asyncio.to_thread(read_units, self._log, checkpoint, self._batch)
        report = RelayReport(more=full)
        messages = [UnitMessage.of(unit) for unit in units if unit.kind is not UnitKind.OTHER]
        # Sent without waiting for each acknowledgement, in log order on one connection.
        acks = await asyncio.gather(*(self._publish(message) for message in messages))
        for duplicate in acks:
            report.published += 1
            report.duplicates += duplicate
        if units:
            await asyncio.to_thread(save_checkpoint, self._database, units[-1].checkpoint)
        return report

    async def _publish(self, message: UnitMessage) -> bool:
        ack = await self._js.publish(
            subject_for(self._settings, message.db_id),
            message.encode(),
            timeout=self._timeout,
            stream=self._settings.stream,
            headers={"Nats-Msg-Id": message.msg_id},
        )
        return bool(ack.duplicate)
