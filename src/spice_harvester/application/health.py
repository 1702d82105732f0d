"""Checks a service's dependencies and says whether it can serve."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

Probe = Callable[[], Awaitable[None]]
DependencyState = Literal["ok", "down", "absent"]


@dataclass(frozen=True)
class Dependency:
    """Something a service talks to. `probe` is None when it is not configured at all."""

    name: str
    required: bool
    probe: Probe | None


@dataclass(frozen=True)
class HealthReport:
    service: str
    version: str
    dependencies: dict[str, DependencyState]
    problems: dict[str, str] = field(default_factory=dict)
    required_down: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.required_down

    def as_data(self) -> dict[str, object]:
        data: dict[str, object] = {
            "service": self.service,
            "version": self.version,
            "status": "healthy" if self.healthy else "unhealthy",
            "dependencies": self.dependencies,
        }
        if self.problems:
            data["problems"] = self.problems
        return data


async def _state_of(dependency: Dependency, timeout: float) -> tuple[DependencyState, str | None]:
    if dependency.probe is None:
        return "absent", None
    try:
        await asyncio.wait_for(dependency.probe(), timeout)
    except TimeoutError:
        return "down", f"no answer within {timeout:g} s"
    except Exception as exc:  # any failure of a probe means the dependency is down
        return "down", str(exc) or type(exc).__name__
    return "ok", None


async def check_health(
    service: str, version: str, dependencies: list[Dependency], timeout: float
) -> HealthReport:
    """Probes every dependency at once, each bounded by `timeout` seconds."""
    results = await asyncio.gather(*(_state_of(dep, timeout) for dep in dependencies))
    states: dict[str, DependencyState] = {}
    problems: dict[str, str] = {}
    required_down: list[str] = []
    for dependency, (state, problem) in zip(dependencies, results, strict=True):
        states[dependency.name] = state
        if problem:
            problems[dependency.name] = problem
        if dependency.required and state != "ok":
            required_down.append(dependency.name)
    return HealthReport(service, version, states, problems, tuple(required_down))
