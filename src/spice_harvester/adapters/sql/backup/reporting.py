"""How long operations tell the CLI where they are, without knowing how it shows it."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def begin(self, description: str, total: int | None) -> None:
        """A new step; `total` is how many units it has, when known."""
        ...

    def advance(self, amount: int = 1) -> None: ...


class Silent:
    """For callers that show nothing (tests, the benchmark)."""

    def begin(self, description: str, total: int | None) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None
