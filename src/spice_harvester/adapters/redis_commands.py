"""Command status in Redis in front of the database: fast to poll, never required to write."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

import redis

from spice_harvester.ports.commands import CommandRecord, CommandStatus, CommandStore

log = logging.getLogger(__name__)
KEY_PREFIX: Final = "spice:command:"
TTL_SECONDS: Final = 7 * 24 * 3600


def _encode(record: CommandRecord) -> str:
    return json.dumps(record.as_dict() | {"request_hash": record.request_hash})


def _decode(raw: bytes | str) -> CommandRecord:
    data: dict[str, Any] = json.loads(raw)
    return CommandRecord(
        command_id=data["command_id"],
        db_name=data["db_name"],
        kind=data["kind"],
        status=CommandStatus(data["status"]),
        request_hash=data["request_hash"],
        actor=data["actor"],
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        progress=data["progress"],
        result=data["result"],
        error=data["error"],
        history=data["history"],
    )


class RedisCommandStore:
    """Writes through to the database (the record of truth) and keeps a copy in Redis.

    Any Redis failure is logged and ignored: a write never fails because Redis is down, and
    reads fall back to the database.
    """

    def __init__(self, client: redis.Redis, fallback: CommandStore) -> None:
        self._redis = client
        self._fallback = fallback

    def _cache(self, record: CommandRecord) -> CommandRecord:
        try:
            self._redis.set(KEY_PREFIX + record.command_id, _encode(record), ex=TTL_SECONDS)
        except redis.RedisError as exc:
            log.warning("command status not cached in Redis (%s); the database has it", exc)
        return record

    def begin(
        self, command_id: str, db_name: str | None, kind: str, request_hash: str, actor: str
    ) -> CommandRecord:
        return self._cache(self._fallback.begin(command_id, db_name, kind, request_hash, actor))

    def finish(
        self,
        command_id: str,
        status: CommandStatus,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> CommandRecord:
        return self._cache(self._fallback.finish(command_id, status, result=result, error=error))

    def progress(self, command_id: str, progress: dict[str, Any]) -> None:
        self._fallback.progress(command_id, progress)
        cached = self._cached(command_id)
        if cached is not None:
            self._cache(replace(cached, progress=progress))

    def get(self, command_id: str) -> CommandRecord | None:
        return self._cached(command_id) or self._fallback.get(command_id)

    def _cached(self, command_id: str) -> CommandRecord | None:
        try:
            raw = self._redis.get(KEY_PREFIX + command_id)
        except redis.RedisError as exc:
            log.warning("Redis unavailable for command status (%s); reading the database", exc)
            return None
        return None if raw is None else _decode(raw)
