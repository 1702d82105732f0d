"""`spice db ...`: the database the services use (migrations, a fresh install) and the
graph databases inside it (list, create, delete), through the same use cases as OMS."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from spice_harvester.cli.common import EnvOption, console, fail, settings_for
from spice_harvester.cli.in_process import oms_resources, operator, runner_of, store_of
from spice_harvester.domain.errors import NotFound, SpiceError

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


def _folders_for(settings: Settings, database: SqlDatabase) -> list[Path]:
    """What a fresh install writes into: logs, data, and the SQLite file's folder."""
    folders = [settings.log_dir, settings.data_dir]
    if database.engine_name == "sqlite" and database.engine.url.database:
        folders.append(Path(database.engine.url.database).parent)
    return list(dict.fromkeys(folder.resolve() for folder in folders))


@app.command("init")
def init(env: EnvOption = None) -> None:
    """Prepare a fresh install (safe to run again).

    Creates the log and data folders and applies every migration (maintenance switch off,
    no graph database yet); a second run finds nothing to do.
    """
    settings = settings_for(env)
    database = open_sql(settings)
    try:
        for folder in _folders_for(settings, database):
            if not folder.is_dir():
                folder.mkdir(parents=True)
                console.print(f"created {folder}", markup=False)
        with console.status(f"migrating {database.display_url}..."):
            database.ping()
            applied = database.migrate()
            current = database.migration_status()
    except (SpiceError, OSError) as exc:
        reason = exc.message if isinstance(exc, SpiceError) else str(exc)
        fail(f"cannot initialise {database.display_url}: {reason}")
    finally:
        database.close()
    for revision in applied:
        console.print(f"applied {revision}")
    console.print(
        f"ready: {database.engine_name} at {current.current} ({database.display_url})",
        markup=False,
    )
    if applied:
        console.print("next: `spice db create NAME`, then `spice up` (or `spice serve ...`)")


@app.command("list")
def list_databases(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """List the graph databases with their versions (for `db delete --expected-seq`)."""
    from spice_harvester.application.databases import database_dict

    with oms_resources(env) as resources:
        try:
            found = store_of(resources).list_databases()
        except SpiceError as exc:
            fail(f"cannot list databases: {exc.message}")
    if as_json:
        listed = [database_dict(info) for info in found]
        console.print_json(json.dumps({"databases": listed, "total": len(listed)}))
        return
    if not found:
        console.print("no databases: create one with `spice db create NAME`")
        return
    table = Table("name", "version", "created", "by", "description", box=None)
    for info in found:
        table.add_row(
            info.name,
            str(info.seq),
            f"{info.created_at:%Y-%m-%d %H:%M:%S}",
            info.created_by,
            info.description or "",
        )
    console.print(table)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="3-50 characters: a-z, 0-9, '_', '-'.")],
    description: Annotated[str | None, typer.Option(help="What the database holds.")] = None,
    env: EnvOption = None,
) -> None:
    """Create a graph database with an empty `main` branch, as OMS's create does."""
    from spice_harvester.application.databases import create_database

    with oms_resources(env) as resources:
        try:
            record = create_database(
                store_of(resources),
                runner_of(resources),
                name=name,
                description=description,
                actor=operator(),
                command_id=uuid.uuid4().hex,
            )
        except SpiceError as exc:
            fail(f"cannot create database {name}: {exc.message}")
    result = record.result or {}
    console.print(
        f"created database {name} (version {result.get('version')}, "
        f"commit {str(result.get('commit_id'))[:12]}, command {record.command_id})",
        markup=False,
    )


@app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="The database to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    expected_seq: Annotated[
        int | None,
        typer.Option(
            "--expected-seq",
            min=0,
            help="Delete only if the database is still at this version (see `db list`).",
        ),
    ] = None,
    env: EnvOption = None,
) -> None:
    """Delete a graph database with every branch and commit (its events stay in the log)."""
    from spice_harvester.application.databases import delete_database

    with oms_resources(env) as resources:
        store = store_of(resources)
        try:
            info = store.get_database(name)
        except NotFound:
            fail(f"database {name} does not exist")
        except SpiceError as exc:
            fail(f"cannot read database {name}: {exc.message}")
        seq = info.seq if expected_seq is None else expected_seq
        if not yes:
            _confirm(f"delete database {name} (version {info.seq}) with all its branches?")
        try:
            delete_database(
                store,
                runner_of(resources),
                name=name,
                expected_seq=seq,
                actor=operator(),
                command_id=uuid.uuid4().hex,
            )
        except SpiceError as exc:
            fail(f"cannot delete database {name}: {exc.message}")
    console.print(f"deleted database {name}")


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        fail("not deleted: pass --yes to delete without a terminal to confirm on")
    if not typer.confirm(question, default=False):
        fail("not deleted")
