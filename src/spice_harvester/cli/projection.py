"""`spice projection status|verify`: how far behind each read model is, and whether it
equals a rebuild from the store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from spice_harvester.cli.common import EnvOption, console, fail, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.database import SqlDatabase

app = typer.Typer(help="Read models kept from the event log.", no_args_is_help=True)


def _open(env: EnvOption) -> SqlDatabase:
    from spice_harvester.bootstrap import open_database

    try:
        return open_database(settings_for(env), "oms")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Per projection: version, checkpoint, lag in events, each branch's commit against its
    head; then the workers seen lately."""
    from spice_harvester.adapters.sql.projections.status import projection_status, workers

    database = _open(env)
    try:
        found = projection_status(database)
        running = workers(database)
    except SpiceError as exc:
        fail(f"cannot read the projections: {exc.message}")
    finally:
        database.close()
    if as_json:
        body = {
            "projections": [item.as_dict() for item in found],
            "workers": [worker.as_dict() for worker in running],
        }
        console.print_json(json.dumps(body))
        return
    for item in found:
        checkpoint = f"{item.checkpoint.tx_order}/{item.checkpoint.position}"
        console.print(
            f"{item.projection} v{item.version} ({item.status})  checkpoint {checkpoint}  "
            f"lag {item.lag} event(s)  parked {item.parked}",
            markup=False,
        )
        for branch in item.branches:
            state = "fresh" if branch.fresh else "behind"
            console.print(
                f"    {branch.db_name}/{branch.branch:24} {state:6}  "
                f"{(branch.commit_id or 'nothing')[:12]:12} head {branch.head_commit[:12]}",
                markup=False,
            )
    if not running:
        console.print("no worker has run: start one with `spice serve worker` (or `spice up`)")
    for worker in running:
        state = f"stopped {worker.stopped_at:%Y-%m-%d %H:%M:%S}" if worker.stopped_at else "running"
        console.print(
            f"worker {worker.owner}  {state}  last beat {worker.beat_at:%Y-%m-%d %H:%M:%S}",
            markup=False,
        )


@app.command("verify")
def verify(env: EnvOption = None) -> None:
    """Compare every read model with a rebuild from the store at the commit it reflects;
    exit 1 naming each difference."""
    from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild

    database = _open(env)
    try:
        with console.status("rebuilding from the store to compare..."):
            problems = compare_with_rebuild(database)
    except SpiceError as exc:
        fail(f"cannot verify: {exc.message}")
    finally:
        database.close()
    if problems:
        for problem in problems:
            console.print(str(problem), markup=False)
        raise typer.Exit(1)
    console.print("every read model equals a rebuild from the store")
