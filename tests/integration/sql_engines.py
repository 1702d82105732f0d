"""Shared by the storage tests: what an engine under test offers, and test-sized pools."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.settings.model import DatabasePoolSettings

POOL = DatabasePoolSettings(pool_size=10, max_overflow=5, pool_timeout=10)
# Small enough that "no connection" and "no server" fail within a test's patience.
FAST_FAIL = DatabasePoolSettings(pool_size=1, max_overflow=0, pool_timeout=0.2)

MakeDatabase = Callable[..., SqlDatabase]
# Every shipped migration, oldest first: a new migration must be added here by hand.
REVISIONS = (
    "0001_initial",
    "0002_versioned_store",
    "0003_commands_audit",
    "0004_pull_requests",
    "0005_events_per_database",
    "0006_api_keys",
    "0007_projections",
    "0008_projection_jobs",
    "0009_maintenance_mode",
)
HEAD = REVISIONS[-1]


@dataclass(frozen=True)
class EngineUnderTest:
    name: str
    url: str
    """A database of its own for this test, existing but empty."""
    unreachable_url: str
    """Same engine, somewhere no database can be reached."""
