"""A published unit: where its events lie in the log, not the events themselves.

A commit of 10,000 instances would not fit one NATS message, and the log is the record
anyway: a worker reads the unit's events back by their span, which is one transaction's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from spice_harvester.application.projections.units import Unit
from spice_harvester.ports.registry import LogCheckpoint


@dataclass(frozen=True)
class UnitMessage:
    db_id: int
    kind: str
    first: LogCheckpoint
    last: LogCheckpoint
    count: int
    commit_id: str | None
    branch: str | None

    @classmethod
    def of(cls, unit: Unit) -> UnitMessage:
        return cls(
            db_id=unit.db_id,
            kind=unit.kind.value,
            first=unit.first.checkpoint,
            last=unit.checkpoint,
            count=len(unit.events),
            commit_id=unit.commit_id,
            branch=unit.branch,
        )

    @property
    def msg_id(self) -> str:
        """The stream drops a second publish with the same id within its duplicate window."""
        return f"unit:{self.first.tx_order}:{self.first.position}:{self.last.position}"

    def encode(self) -> bytes:
        body: dict[str, Any] = {
            "db_id": self.db_id,
            "kind": self.kind,
            "first": [self.first.tx_order, self.first.position],
            "last": [self.last.tx_order, self.last.position],
            "count": self.count,
            "commit_id": self.commit_id,
            "branch": self.branch,
        }
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> UnitMessage:
        """ValueError for anything that is not a unit message."""
        try:
            body = json.loads(data)
            first, last = body["first"], body["last"]
            return cls(
                db_id=int(body["db_id"]),
                kind=str(body["kind"]),
                first=LogCheckpoint(int(first[0]), int(first[1])),
                last=LogCheckpoint(int(last[0]), int(last[1])),
                count=int(body["count"]),
                commit_id=body.get("commit_id"),
                branch=body.get("branch"),
            )
        except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a unit message: {data[:200]!r}") from exc
