"""Running a write as a command: an id, a status a client can poll, and safe retries."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spice_harvester.domain.errors import IdempotencyMismatch, MalformedInput, SpiceError
from spice_harvester.domain.versioning.hashing import request_hash
from spice_harvester.ports.commands import CommandRecord, CommandStatus, CommandStore

MAX_COMMAND_ID = 255


@dataclass(frozen=True)
class WriteOutcome:
    """What a write did, as the 202 answer reports it."""

    commit_id: str | None
    aggregate_id: str
    version: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "commit_id": self.commit_id,
            "aggregate_id": self.aggregate_id,
            "version": self.version,
            **self.extra,
        }


def command_id_from(idempotency_key: str | None, supplied: str | None) -> str:
    chosen = idempotency_key or supplied or uuid.uuid4().hex
    if len(chosen) > MAX_COMMAND_ID or any(ch.isspace() for ch in chosen):
        raise MalformedInput(
            "a command id or Idempotency-Key is at most 255 characters without spaces",
            field="Idempotency-Key",
        )
    return chosen


class CommandRunner:
    """Records every write's life (PROCESSING, then COMPLETED or FAILED).

    The commit itself is idempotent by command id in the store, so re-running a command whose
    earlier attempt crashed half-way can never apply it twice.
    """

    def __init__(self, statuses: CommandStore) -> None:
        self._statuses = statuses

    def run(
        self,
        *,
        kind: str,
        db_name: str | None,
        actor: str,
        payload: Any,
        command_id: str,
        action: Callable[[str], WriteOutcome],
    ) -> CommandRecord:
        fingerprint = request_hash({"kind": kind, "db": db_name, "payload": payload})
        existing = self._statuses.get(command_id)
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise IdempotencyMismatch(
                    f"command {command_id} was already used for a different request",
                    field="Idempotency-Key",
                )
            if existing.status is CommandStatus.COMPLETED:
                return existing
        self._statuses.begin(command_id, db_name, kind, fingerprint, actor)
        try:
            outcome = action(command_id)
        except SpiceError as exc:
            self._statuses.finish(
                command_id, CommandStatus.FAILED, error={"code": exc.code, "message": exc.message}
            )
            raise
        except Exception:
            self._statuses.finish(
                command_id,
                CommandStatus.FAILED,
                error={"code": "internal_error", "message": "internal error"},
            )
            raise
        return self._statuses.finish(command_id, CommandStatus.COMPLETED, result=outcome.as_dict())

    def status(self, command_id: str) -> CommandRecord | None:
        return self._statuses.get(command_id)
