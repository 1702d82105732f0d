"""Settings sources beyond pydantic-settings' own: the YAML files and the `<SERVICE>_PORT` forms."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from spice_harvester.domain.errors import ConfigurationError

SERVICE_FILES = ("oms", "bff", "funnel")
# Files mapped under their section: the services', and the projection worker's.
SECTION_FILES = (*SERVICE_FILES, "worker")
# `OMS_PORT=8100` is how the manual's service factory example sets a port.
ALIASES = {"PORT": "port", "HOST": "host", "WORKERS": "workers"}


class PortAliasSource(PydanticBaseSettingsSource):
    """Reads OMS_PORT, BFF_HOST, FUNNEL_WORKERS and the like into the service sections."""

    def __init__(self, settings_cls: type[BaseSettings], environ: dict[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for service in SERVICE_FILES:
            for suffix, key in ALIASES.items():
                value = self._environ.get(f"{service.upper()}_{suffix}")
                if value is not None:
                    found.setdefault(service, {}).setdefault("server", {})[key] = value
        return found


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path} is not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"{path} must hold a mapping of keys, not {type(loaded).__name__}")
    return loaded


def dotenv_environ() -> dict[str, str]:
    """The .env file's variables overlaid by the real environment (which wins)."""
    dotenv = dotenv_values(".env") if Path(".env").is_file() else {}
    merged = {key: value for key, value in dotenv.items() if value}
    merged.update({key: value for key, value in os.environ.items() if value})
    return merged


def current_app_env() -> str:
    """APP_ENV as the environment or the .env file gives it (it picks the overlay file)."""
    return dotenv_environ().get("APP_ENV", "development")


class YamlFilesSource(PydanticBaseSettingsSource):
    """config/<APP_ENV>.yml for shared keys, then config/oms.yml, bff.yml, funnel.yml and
    worker.yml."""

    def __init__(self, settings_cls: type[BaseSettings], config_dir: Path) -> None:
        super().__init__(settings_cls)
        self._config_dir = config_dir

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def files(self) -> list[Path]:
        overlay = self._config_dir / f"{current_app_env()}.yml"
        services = [self._config_dir / f"{name}.yml" for name in SECTION_FILES]
        return [path for path in [overlay, *services] if path.is_file()]

    def __call__(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        known = set(self.settings_cls.model_fields)
        for path in self.files():
            data = read_yaml(path)
            if path.stem in SECTION_FILES:
                data = {path.stem: data}
            for key in data:
                if key not in known:
                    raise ConfigurationError(f"{path}: unknown key '{key}'")
            _deep_merge(merged, data)
        return merged


def _deep_merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
