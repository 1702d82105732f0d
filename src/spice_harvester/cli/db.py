"""`spice db ...`: schema migrations of the database the services use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from spice_harvester.cli.common import EnvOption, console, fail, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.database import SqlDatabase
    from spice_harvester.settings import Settings


def open_sql(settings: Settings) -> SqlDatabase:
    from spice_harvester.adapters.sql.database import SqlDatabase

    return SqlDatabase.from_settings(settings, "oms")


app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)


@app.command("migrate")
def migrate(
    env: EnvOption = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Only say whether the schema is up to date (exit 1 if not)."),
    ] = False,
) -> None:
    """Apply every pending schema migration (safe to run while services are up)."""
    settings = settings_for(env)
    database = open_sql(settings)
    try:
        status = database.migration_status()
        if check:
            if status.up_to_date:
                console.print(f"up to date at {status.current} ({database.display_url})")
                return
            console.print(f"{len(status.pending)} pending: {', '.join(status.pending)}")
            raise typer.Exit(1)
        applied = database.migrate()
        for revision in applied:
            console.print(f"applied {revision}")
        console.print(f"database at {database.migration_status().current} ({database.display_url})")
    except SpiceError as exc:
        fail(f"cannot migrate {database.display_url}: {exc.message}")
    finally:
        database.close()


@app.command("status")
def status(env: EnvOption = None) -> None:
    """Show the engine, the schema revision and any pending migrations."""
    settings = settings_for(env)
    database = open_sql(settings)
    try:
        database.ping()
        current = database.migration_status()
    except SpiceError as exc:
        fail(f"cannot reach {database.display_url}: {exc.message}")
    finally:
        database.close()
    console.print(f"engine    {database.engine_name}")
    console.print(f"url       {database.display_url}", markup=False)
    console.print(f"revision  {current.current or 'none'} (head {current.head})")
    console.print(f"pending   {', '.join(current.pending) or 'none'}")
