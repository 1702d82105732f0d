"""A small versioned key-value store for system-wide state (installation id, maintenance mode)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class MetaEntry:
    key: str
    value: str
    version: int
    updated_at: datetime


class MetaStore(Protocol):
    def get(self, key: str) -> MetaEntry | None: ...

    def put(self, key: str, value: str, *, expected_version: int | None = None) -> MetaEntry:
        """Writes a value and bumps its version.

        With `expected_version` the write happens only if the stored version equals it
        (0 meaning "must not exist yet"); otherwise ConcurrencyConflict is raised and
        nothing changes. Without it the write always happens.
        """
        ...

    def delete(self, key: str, *, expected_version: int | None = None) -> bool:
        """Removes a key; returns whether it existed. Same version rule as put."""
        ...

    def list(self, prefix: str = "") -> list[MetaEntry]:
        """Entries whose key starts with prefix, in key order."""
        ...
