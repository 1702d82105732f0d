"""What an import is asked to do, and how its chunks' commands are named."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from spice_harvester.application.instance_bulk import MAX_BULK
from spice_harvester.domain.errors import ValidationFailed

DEFAULT_CHUNK = 5_000


@dataclass(frozen=True)
class ImportRequest:
    """Where rows go and how: `columns` names each field's column, for the reports."""

    db: str
    branch: str
    class_id: str
    allow_partial: bool = False
    chunk_size: int = DEFAULT_CHUNK
    columns: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.chunk_size <= MAX_BULK:
            raise ValidationFailed(
                f"chunk_size must be between 1 and {MAX_BULK}", field="chunk_size"
            )


def chunk_command_id(command_id: str, number: int) -> str:
    """The command id of an import's chunk: derived, so a re-run finds the chunks done."""
    base = command_id if len(command_id) <= 200 else _digest(command_id)
    return f"{base}:chunk:{number}"


def _digest(text: str) -> str:
    return "import-" + hashlib.sha256(text.encode()).hexdigest()[:40]
