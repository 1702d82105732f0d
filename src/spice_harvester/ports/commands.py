"""Command status: where a write stands, for `GET /api/v1/commands/{id}/status`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class CommandStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self in (CommandStatus.COMPLETED, CommandStatus.FAILED)


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    db_name: str | None
    kind: str
    status: CommandStatus
    request_hash: str
    actor: str
    created_at: datetime
    updated_at: datetime
    progress: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "db_name": self.db_name,
            "kind": self.kind,
            "status": self.status.value,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "history": self.history,
        }


class CommandStore(Protocol):
    def begin(
        self, command_id: str, db_name: str | None, kind: str, request_hash: str, actor: str
    ) -> CommandRecord:
        """Records a new command as PROCESSING, or returns the existing record unchanged."""
        ...

    def finish(
        self,
        command_id: str,
        status: CommandStatus,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> CommandRecord: ...

    def progress(self, command_id: str, progress: dict[str, Any]) -> None: ...

    def get(self, command_id: str) -> CommandRecord | None: ...
