"""Running a write as a command: an id, a status a client can poll, and safe retries."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

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


class ProjectionProgress(Protocol):
    def progress(self, db_name: str, commit_id: str) -> dict[str, str]:
        """projection -> applied | pending | parked for each serving projection; empty when
        nothing of the commit is for a projection to apply."""
        ...


class CommandRunner:
    """Records every write's life (PROCESSING, then COMPLETED or FAILED).

    The commit itself is idempotent by command id in the store, so re-running a command whose
    earlier attempt crashed half-way can never apply it twice.

    With `projections` given, a write that committed stays PROCESSING (its result recorded,
    `progress.committed` true) until every serving projection has applied its commit; the
    status read then finds it COMPLETED. A projection that parked the commit's events (see
    `spice dlq`) counts as done with it: the progress names it.
    """

    def __init__(
        self,
        statuses: CommandStore,
        projections: ProjectionProgress | None = None,
        *,
        poll_seconds: float = 0.05,
    ) -> None:
        self._statuses = statuses
        self._projections = projections
        self._poll = poll_seconds

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
            committed = (existing.progress or {}).get("committed") is True
            if committed and existing.result is not None:
                return self._settled(command_id)  # committed before: projections may lag
        self._statuses.begin(command_id, db_name, kind, fingerprint, actor)
        try:
            outcome = action(command_id)
        except SpiceError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if exc.data:
                error["data"] = exc.data  # a bulk write's or an import's per-row report
            self._statuses.finish(command_id, CommandStatus.FAILED, error=error)
            raise
        except Exception:
            self._statuses.finish(
                command_id,
                CommandStatus.FAILED,
                error={"code": "internal_error", "message": "internal error"},
            )
            raise
        result = outcome.as_dict()
        if self._projections is None or db_name is None or outcome.commit_id is None:
            return self._statuses.finish(command_id, CommandStatus.COMPLETED, result=result)
        # The result first: a retry trusts `committed` only beside a recorded result.
        self._statuses.finish(command_id, CommandStatus.PROCESSING, result=result)
        current = self._statuses.get(command_id)
        reported = (current.progress if current is not None else None) or {}
        self._statuses.progress(command_id, {**reported, "committed": True, "projections": {}})
        return self._settled(command_id)

    def report_progress(self, command_id: str, progress: dict[str, Any]) -> None:
        """A long command's progress (an import's rows and chunks), shown by its status. A
        command run again after it FAILED is PROCESSING again from its first report."""
        record = self._statuses.get(command_id)
        if record is not None and record.status is CommandStatus.FAILED:
            self._statuses.finish(command_id, CommandStatus.PROCESSING)
        self._statuses.progress(command_id, progress)

    def status(self, command_id: str) -> CommandRecord | None:
        """The record; a committed write found applied by every projection is COMPLETED
        from now on."""
        if self._statuses.get(command_id) is None:
            return None
        return self._settled(command_id)

    def wait(self, command_id: str, timeout: float) -> CommandRecord | None:
        """The record once COMPLETED or FAILED, or as it stands after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.status(command_id)
            if record is None or record.status.finished or time.monotonic() >= deadline:
                return record
            time.sleep(min(self._poll, max(0.0, deadline - time.monotonic())))

    def _settled(self, command_id: str) -> CommandRecord:
        record = self._statuses.get(command_id)
        assert record is not None
        committed = (record.progress or {}).get("committed") is True
        if record.status is not CommandStatus.PROCESSING or not committed:
            return record
        commit_id = (record.result or {}).get("commit_id")
        if self._projections is None or record.db_name is None or not commit_id:
            return record
        states = self._projections.progress(record.db_name, commit_id)
        # Kept beside what the command reported itself (an import's row counts).
        progress = {**(record.progress or {}), "committed": True, "projections": states}
        if all(state != "pending" for state in states.values()):
            self._statuses.progress(command_id, progress)
            return self._statuses.finish(command_id, CommandStatus.COMPLETED, result=record.result)
        if progress != record.progress:
            self._statuses.progress(command_id, progress)
        return replace(record, progress=progress)


class WaitingRunner:
    """A runner for one request: `run` answers once the command is COMPLETED or FAILED (or
    after `timeout`) when the client asked `?wait=true`, and at once otherwise."""

    def __init__(self, runner: CommandRunner, *, wait: bool, timeout: float) -> None:
        self._runner = runner
        self._wait = wait
        self._timeout = timeout

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
        record = self._runner.run(
            kind=kind,
            db_name=db_name,
            actor=actor,
            payload=payload,
            command_id=command_id,
            action=action,
        )
        if not self._wait or record.status.finished:
            return record
        return self._runner.wait(command_id, self._timeout) or record

    def status(self, command_id: str) -> CommandRecord | None:
        return self._runner.status(command_id)

    def wait(self, command_id: str, timeout: float) -> CommandRecord | None:
        return self._runner.wait(command_id, timeout)
