"""What every command shares: the --env option, reading settings, failing with one line."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from spice_harvester.domain.errors import ConfigurationError, SpiceError
from spice_harvester.settings import Settings, load_settings

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False)


class AppEnv(StrEnum):
    development = "development"
    production = "production"


EnvOption = Annotated[
    AppEnv | None,
    typer.Option(
        "--env", help="Run as development or production (sets APP_ENV).", case_sensitive=False
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and a non-zero exit: what operators grep for."""
    errors.print(f"spice: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_for(env: AppEnv | None) -> Settings:
    """Reads the settings once; --env goes into the environment so child processes agree."""
    if env is not None:
        os.environ["APP_ENV"] = env.value
    try:
        return load_settings()
    except ConfigurationError as exc:
        fail(exc.message, 2)


def fail_on(exc: SpiceError, what: str) -> NoReturn:
    fail(f"{what}: {exc.message}")


def progress_bar() -> Progress:
    """The bar long commands show: one at a time, gone when done, and off when the output is
    a file or a pipe (cron, systemd): the bars are for people."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
