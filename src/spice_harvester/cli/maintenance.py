"""`spice maintenance on|off|status`: the switch every OMS, BFF and Funnel process obeys.

It lives in the shared database, so this command needs no running service. It works on a
schema that is behind this version too (in production nothing is migrated here): the
manual's upgrade turns maintenance on with the old release and off with the new one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from spice_harvester.cli.common import EnvOption, console, fail, settings_for
from spice_harvester.cli.in_process import operator
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.database import SqlDatabase
    from spice_harvester.application.maintenance import MaintenanceSwitch
    from spice_harvester.ports.maintenance import MaintenanceState

app = typer.Typer(help="Maintenance mode: 503 for every client request.", no_args_is_help=True)
MIGRATION = "0009_maintenance_mode"


def _open(env: EnvOption) -> tuple[SqlDatabase, MaintenanceSwitch]:
    from spice_harvester.adapters.sql.audit import SqlAuditLog
    from spice_harvester.adapters.sql.database import SqlDatabase
    from spice_harvester.adapters.sql.maintenance import SqlMaintenance
    from spice_harvester.application.maintenance import MaintenanceSwitch

    settings = settings_for(env)
    database = SqlDatabase.from_settings(settings, "oms")
    try:
        database.ping()
        if not settings.is_production:
            database.migrate()
        elif MIGRATION in database.migration_status().pending:
            fail("the database has no maintenance switch yet: run `spice db migrate` first")
    except SpiceError as exc:
        database.close()
        fail(f"cannot reach {database.display_url}: {exc.message}")
    except typer.Exit:
        database.close()
        raise
    return database, MaintenanceSwitch(SqlMaintenance(database), SqlAuditLog(database))


def _describe(state: MaintenanceState) -> str:
    if not state.enabled:
        return "maintenance mode is off"
    since = f" since {state.changed_at:%Y-%m-%d %H:%M:%S} UTC" if state.changed_at else ""
    by = f" by {state.changed_by}" if state.changed_by else ""
    return f"maintenance mode is on{since}{by}: {state.notice} (Retry-After {state.retry_after} s)"


@app.command("on")
def on(
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="What clients are told.")
    ] = None,
    retry_after: Annotated[
        int | None,
        typer.Option("--retry-after", min=1, help="Seconds clients should wait (default 300)."),
    ] = None,
    env: EnvOption = None,
) -> None:
    """Answer 503 to every client request until `spice maintenance off`.

    Within about two seconds every OMS, BFF and Funnel process answers 503 `maintenance`
    (with the message and Retry-After) to everything but /health and admin routes.
    """
    database, switch = _open(env)
    try:
        state = switch.turn_on(
            message=message, retry_after=retry_after, actor=operator(), service="cli"
        )
    except SpiceError as exc:
        fail(f"cannot turn maintenance mode on: {exc.message}")
    finally:
        database.close()
    console.print(_describe(state), markup=False)


@app.command("off")
def off(env: EnvOption = None) -> None:
    """Serve clients again (every process within about two seconds)."""
    database, switch = _open(env)
    try:
        state = switch.turn_off(actor=operator(), service="cli")
    except SpiceError as exc:
        fail(f"cannot turn maintenance mode off: {exc.message}")
    finally:
        database.close()
    console.print(_describe(state), markup=False)


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Whether maintenance mode is on, since when, by whom, and what clients are told."""
    database, switch = _open(env)
    try:
        state = switch.read()
    except SpiceError as exc:
        fail(f"cannot read the maintenance switch: {exc.message}")
    finally:
        database.close()
    if as_json:
        console.print_json(json.dumps(state.as_dict()))
        return
    console.print(_describe(state), markup=False)
