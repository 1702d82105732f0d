"""How often and how soon a failing unit is tried again before it is parked."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure: base, 2 x base, 4 x base ...,
        never more than max_seconds."""
        return float(min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1)))

    def exhausted(self, attempts: int) -> bool:
        """After this many failures the unit is parked."""
        return attempts >= self.max_attempts
