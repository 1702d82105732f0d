"""`spice history ...`: export, import and verify a database's whole version history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress

from spice_harvester.cli.common import EnvOption, console, fail, progress_bar, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.database import SqlDatabase

app = typer.Typer(help="Export, import and verify version histories.", no_args_is_help=True)


def _open(env: EnvOption) -> SqlDatabase:
    from spice_harvester.bootstrap import open_database

    try:
        return open_database(settings_for(env), "oms")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")


@app.command("export")
def export(
    database: Annotated[str, typer.Argument(help="The database to export.")],
    output: Annotated[Path, typer.Argument(help="File to write (.jsonl, or .jsonl.gz).")],
    env: EnvOption = None,
) -> None:
    """Write every commit, event and branch of DATABASE to a JSON Lines file."""
    from spice_harvester.adapters.sql.versioned.exchange import write_history_file

    sql = _open(env)
    try:
        with console.status(f"exporting {database}..."):
            header = write_history_file(sql, database, output)
    except SpiceError as exc:
        fail(f"cannot export {database}: {exc.message}")
    finally:
        sql.close()
    counts = header.get("counts", {})
    console.print(
        f"exported {database} to {output}: "
        + ", ".join(f"{value} {key}" for key, value in counts.items())
    )


@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="A file written by `spice history export`.")],
    name: Annotated[str | None, typer.Option(help="Import under this name instead.")] = None,
    env: EnvOption = None,
) -> None:
    """Create a database from an export, checking every commit id and state hash."""
    from spice_harvester.adapters.sql.versioned.exchange import import_history, read_history_file

    if not source.is_file():
        fail(f"no such file: {source}")
    sql = _open(env)
    try:
        with progress_bar() as progress:
            info = import_history(sql, _counted(read_history_file(source), progress), name=name)
    except SpiceError as exc:
        fail(f"cannot import {source}: {exc.message}")
    finally:
        sql.close()
    console.print(f"imported {source} as {info.name}")


def _counted(records: Iterator[dict[str, Any]], progress: Progress) -> Iterator[dict[str, Any]]:
    """Advances a bar per commit, sized from the header's counts."""
    task = None
    for record in records:
        if record.get("type") == "header":
            total = record.get("counts", {}).get("commits")
            task = progress.add_task("importing commits", total=total)
        elif record.get("type") == "commit" and task is not None:
            progress.advance(task)
        yield record


@app.command("verify")
def verify(
    database: Annotated[str, typer.Argument(help="The database to check.")],
    env: EnvOption = None,
) -> None:
    """Recompute each branch's state hash from its documents; exit 1 on any difference."""
    from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore

    sql = _open(env)
    store = SqlVersionedStore(sql)
    bad = 0
    try:
        for branch in store.list_branches(database):
            stored = store.state_hash(database, branch.name)
            recomputed, count = store.recompute_state_hash(database, branch.name)
            verdict = "ok" if stored == recomputed else "MISMATCH"
            bad += stored != recomputed
            console.print(
                f"{branch.name:30} {stored[:16]} {count:>9} documents  {verdict}", markup=False
            )
    except SpiceError as exc:
        fail(f"cannot verify {database}: {exc.message}")
    finally:
        sql.close()
    if bad:
        fail(f"{bad} branch(es) of {database} do not match their stored state hash")
