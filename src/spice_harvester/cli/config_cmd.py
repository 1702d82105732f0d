"""`spice config check`: validate the settings and show what is in effect, secrets masked."""

from __future__ import annotations

import json
import os
import re
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from spice_harvester.cli.common import EnvOption, console, settings_for
from spice_harvester.settings import Settings
from spice_harvester.settings.sources import YamlFilesSource

app = typer.Typer(help="Inspect the settings.", no_args_is_help=True)
MASK = "********"
_URL_PASSWORD = re.compile(r"(?P<head>[a-z+]+://[^:/@]*:)(?P<password>[^@]*)@")


def masked(value: SecretStr | None, *, url: bool) -> str | None:
    if value is None:
        return None
    if url:
        return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", value.get_secret_value())
    return MASK


def flatten(prefix: str, value: Any, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(f"{prefix}.{key}" if prefix else key, inner, into)
    else:
        into[prefix] = value


def effective(settings: Settings) -> dict[str, Any]:
    """Every setting by dotted key, as the services will see it."""
    dumped = settings.model_dump(mode="json")
    for name in Settings.model_fields:
        raw = getattr(settings, name)
        if isinstance(raw, SecretStr):
            dumped[name] = masked(raw, url=name.endswith("_url"))
    dumped["database_url"] = masked(SecretStr(settings.database_dsn), url=True)
    flat: dict[str, Any] = {}
    flatten("", dumped, flat)
    return flat


def warnings_for(settings: Settings) -> list[str]:
    found = []
    legacy = [
        name
        for name in ("TERMINUS_SERVER_URL", "TERMINUS_USER", "TERMINUS_ACCOUNT", "TERMINUS_KEY")
        if getattr(settings, name.lower()) is not None
    ]
    if legacy:
        found.append(f"{', '.join(legacy)} have no effect: the graph store lives in DATABASE_URL")
    if settings.is_production and "*" in settings.allowed_hosts:
        found.append("ALLOWED_HOSTS is '*' in production: set the host names you serve")
    if settings.is_production and settings.debug:
        found.append("DEBUG is on in production")
    if settings.is_production and settings.database_dsn.startswith("sqlite"):
        found.append("production on SQLite: set DATABASE_URL to PostgreSQL for more than one host")
    return found


@app.command("check")
def check(
    env: EnvOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a list.")] = False,
) -> None:
    """Validate every setting (exit 2 naming the bad key) and print the effective values."""
    settings = settings_for(env)
    values = effective(settings)
    files = [str(path) for path in YamlFilesSource(Settings, _config_dir()).files()]
    notes = warnings_for(settings)
    if as_json:
        console.print_json(json.dumps({"settings": values, "files": files, "warnings": notes}))
        return
    console.print(
        f"settings are valid ({settings.app_env}); files read: {', '.join(files) or 'none'}"
    )
    width = max(len(key) for key in values)
    for key, value in values.items():
        console.print(
            f"  {key.ljust(width)}  {json.dumps(value, ensure_ascii=False)}", markup=False
        )
    for note in notes:
        console.print(f"warning: {note}", markup=False)


def _config_dir() -> Any:
    from pathlib import Path

    return Path(os.environ.get("SPICE_CONFIG_DIR", "config"))
