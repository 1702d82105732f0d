"""Reads the settings once and turns a bad value into a message that names the key."""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from spice_harvester.domain.errors import ConfigurationError
from spice_harvester.settings.model import Settings
from spice_harvester.settings.sources import SECTION_FILES


def env_name(location: tuple[str | int, ...]) -> str:
    """The variable that sets a key: (oms, database, pool_size) -> OMS__DATABASE__POOL_SIZE."""
    return "__".join(str(part) for part in location).upper()


def describe(location: tuple[str | int, ...]) -> str:
    """Where a key can be set, so the operator knows what to edit."""
    parts = [str(part) for part in location]
    places = [f"env {env_name(location)}"]
    if parts and parts[0] in SECTION_FILES and len(parts) > 1:
        places.append(f"config/{parts[0]}.yml key '{'.'.join(parts[1:])}'")
    return " or ".join(places)


def load_settings(**overrides: Any) -> Settings:
    """Builds the one Settings object; a bad value raises ConfigurationError naming the key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            location = tuple(error["loc"])
            key = ".".join(str(part) for part in location) or "settings"
            value = error.get("input")
            shown = (
                ""
                if isinstance(value, dict) or "secret" in key or "token" in key
                else (f" (got {value!r})")
            )
            lines.append(f"setting '{key}': {error['msg']}{shown}; set by {describe(location)}")
        raise ConfigurationError("invalid settings: " + "; ".join(lines)) from exc


def environment_snapshot() -> dict[str, str]:
    """The variables a child process needs to read the same settings."""
    return dict(os.environ)
