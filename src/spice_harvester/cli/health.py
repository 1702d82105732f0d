"""`spice health [--watch]`: the manual's health monitor as a command: every service and
dependency, with latency, once (exit 1 when something required is down) or every few
seconds as a live table."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from spice_harvester.cli.common import EnvOption, console, fail, settings_for
from spice_harvester.cli.health_probes import Reading, Round, check_everything
from spice_harvester.settings import Settings

STATE_STYLES = {"up": "green", "down": "red", "absent": "dim"}


def _row_state(reading: Reading) -> Text:
    label = reading.state.upper()
    if reading.state == "down" and not reading.required:
        label += " (optional)"
    return Text(label, style=STATE_STYLES[reading.state])


def render(checked: Round) -> RenderableType:
    verdict = "healthy" if checked.healthy else "UNHEALTHY"
    table = Table(
        title=f"{checked.at:%Y-%m-%d %H:%M:%S} UTC  {verdict}",
        title_justify="left",
        box=None,
        pad_edge=False,
    )
    for column in ("check", "state", "latency", "target", "detail"):
        table.add_column(column, overflow="fold")
    for reading in checked.readings:
        latency = "" if reading.latency_ms is None else f"{reading.latency_ms:.0f} ms"
        table.add_row(
            reading.name, _row_state(reading), latency, reading.target, Text(reading.detail)
        )
    state = checked.maintenance
    if state is None or not state.enabled:
        return table
    since = f" since {state.changed_at:%H:%M:%S} UTC" if state.changed_at else ""
    notice = Text(f"maintenance mode is ON{since}: {state.notice}", style="yellow")
    return Group(table, notice)


def _once(settings: Settings, timeout: float) -> Round:
    return asyncio.run(check_everything(settings, timeout))


def _print(checked: Round, as_json: bool, *, compact: bool = False) -> None:
    if not as_json:
        console.print(render(checked))
    elif compact:
        console.out(json.dumps(checked.as_dict()), highlight=False)
    else:
        console.print_json(json.dumps(checked.as_dict()))


def _rounds(
    settings: Settings, timeout: float, interval: float, rounds: int | None
) -> Iterator[Round]:
    """A round every `interval` seconds (from the start of the one before), `rounds` of them
    or until interrupted."""
    done = 0
    while rounds is None or done < rounds:
        started = time.monotonic()
        yield _once(settings, timeout)
        done += 1
        if rounds is None or done < rounds:
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


def _watch(
    settings: Settings, timeout: float, interval: float, rounds: int | None, as_json: bool
) -> None:
    checks = _rounds(settings, timeout, interval, rounds)
    if as_json or not console.is_terminal:
        # Logs and pipes get each round in turn: JSON Lines, or one table after another.
        for checked in checks:
            _print(checked, as_json, compact=True)
        return
    with Live(console=console, auto_refresh=False) as live:
        for checked in checks:
            live.update(render(checked), refresh=True)


def health(
    watch: Annotated[
        bool, typer.Option("--watch", help="Check again every --interval seconds until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between rounds with --watch.")
    ] = 30.0,
    rounds: Annotated[
        int | None,
        typer.Option("--rounds", min=1, help="With --watch: stop after this many rounds."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds each check may take.")
    ] = 5.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per line with --watch).")
    ] = False,
    env: EnvOption = None,
) -> None:
    """Check every service and dependency, with latency.

    OMS, BFF and Funnel by /health on their configured URLs; the database; the projection
    worker by its heartbeat; Redis and NATS when their URLs are set. One shot exits 1 when
    anything required is down.
    """
    settings = settings_for(env)
    if watch:
        with contextlib.suppress(KeyboardInterrupt):
            _watch(settings, timeout, interval, rounds, as_json)
        return
    checked = _once(settings, timeout)
    _print(checked, as_json)
    if not checked.healthy:
        down = ", ".join(r.name for r in checked.readings if r.failing)
        fail(f"unhealthy: {down} down")
