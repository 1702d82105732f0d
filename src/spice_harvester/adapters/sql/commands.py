"""Command status in the database: the store of record when Redis is absent or down."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.dialect import insert_for
from spice_harvester.adapters.sql.tables import commands
from spice_harvester.ports.commands import CommandRecord, CommandStatus


def _record(row: Any) -> CommandRecord:
    return CommandRecord(
        command_id=row.command_id,
        db_name=row.db_name,
        kind=row.kind,
        status=CommandStatus(row.status),
        request_hash=row.request_hash,
        actor=row.actor,
        created_at=row.created_at,
        updated_at=row.updated_at,
        progress=row.progress,
        result=row.result,
        error=row.error,
        history=list(row.history),
    )


class SqlCommandStore:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def begin(
        self, command_id: str, db_name: str | None, kind: str, request_hash: str, actor: str
    ) -> CommandRecord:
        now = datetime.now(UTC)
        history = [
            {"status": CommandStatus.PENDING.value, "at": now.isoformat()},
            {"status": CommandStatus.PROCESSING.value, "at": now.isoformat()},
        ]
        with self._db.transaction() as connection:
            statement = (
                insert_for(connection, commands)
                .values(
                    command_id=command_id,
                    db_name=db_name,
                    kind=kind,
                    status=CommandStatus.PROCESSING.value,
                    request_hash=request_hash,
                    actor=actor,
                    created_at=now,
                    updated_at=now,
                    history=history,
                )
                .on_conflict_do_nothing(index_elements=["command_id"])
            )
            connection.execute(statement)
            return self._get(connection, command_id)

    def finish(
        self,
        command_id: str,
        status: CommandStatus,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> CommandRecord:
        now = datetime.now(UTC)
        with self._db.transaction() as connection:
            current = self._get(connection, command_id)
            history = current.history
            if current.status is not status:
                history = [*history, {"status": status.value, "at": now.isoformat()}]
            connection.execute(
                update(commands)
                .where(commands.c.command_id == command_id)
                .values(
                    status=status.value, updated_at=now, result=result, error=error, history=history
                )
            )
            return self._get(connection, command_id)

    def progress(self, command_id: str, progress: dict[str, Any]) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                update(commands)
                .where(commands.c.command_id == command_id)
                .values(progress=progress, updated_at=datetime.now(UTC))
            )

    def get(self, command_id: str) -> CommandRecord | None:
        with self._db.read() as connection:
            row = connection.execute(
                select(commands).where(commands.c.command_id == command_id)
            ).one_or_none()
        return None if row is None else _record(row)

    @staticmethod
    def _get(connection: Connection, command_id: str) -> CommandRecord:
        row = connection.execute(select(commands).where(commands.c.command_id == command_id)).one()
        return _record(row)
