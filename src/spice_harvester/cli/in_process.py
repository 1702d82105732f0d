"""OMS's own resources opened inside a command: the same store, command runner, audit log and
schema rules the service uses, against the configured database, with no server in between."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from spice_harvester.cli.common import EnvOption, fail, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.application.commands import CommandRunner
    from spice_harvester.bootstrap import Resources
    from spice_harvester.ports.versioned_store import VersionedStore


def operator() -> str:
    """Who runs the command, as recorded on commits, commands and audit entries."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def oms_resources(env: EnvOption) -> Iterator[Resources]:
    """Opens what an OMS process holds (schema readied as OMS would), closed at the end."""
    from spice_harvester.bootstrap import open_resources

    settings = settings_for(env)
    try:
        resources = open_resources(settings, "oms")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")
    try:
        yield resources
    finally:
        asyncio.run(resources.aclose())


def store_of(resources: Resources) -> VersionedStore:
    assert resources.store is not None, "OMS resources hold the store"
    return resources.store


def runner_of(resources: Resources) -> CommandRunner:
    assert resources.commands is not None, "OMS resources hold the command runner"
    return resources.commands
