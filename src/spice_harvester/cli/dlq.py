"""`spice dlq list|retry`: the units projections gave up on, and trying them again."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from spice_harvester.cli.common import EnvOption, console, fail, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.database import SqlDatabase
    from spice_harvester.adapters.sql.projections.dead_letters import SqlDeadLetters

app = typer.Typer(
    help="Dead letters: events the projections could not apply.", no_args_is_help=True
)


def _open(env: EnvOption) -> tuple[SqlDatabase, SqlDeadLetters]:
    from spice_harvester.adapters.sql.projections.applier import SqlApplier
    from spice_harvester.adapters.sql.projections.dead_letters import SqlDeadLetters
    from spice_harvester.adapters.sql.projections.worker import worker_owner
    from spice_harvester.bootstrap import open_database

    try:
        database = open_database(settings_for(env), "oms")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")
    applier = SqlApplier(database, f"cli:{worker_owner()}")
    return database, SqlDeadLetters(database, applier)


@app.command("list")
def list_letters(
    show_all: Annotated[
        bool, typer.Option("--all", help="Resolved letters too, not only parked ones.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, oldest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Parked units, oldest first, with the error that parked them."""
    database, letters = _open(env)
    try:
        found = letters.letters(status=None if show_all else "parked", limit=limit)
    except SpiceError as exc:
        fail(f"cannot read the dead letters: {exc.message}")
    finally:
        database.close()
    if as_json:
        console.print_json(json.dumps({"letters": [letter.as_dict() for letter in found]}))
        return
    if not found:
        console.print("no dead letters" if show_all else "no parked dead letters")
    for letter in found:
        where = f"{letter.db_name}/{letter.branch or '-'}"
        console.print(
            f"{letter.letter_id:>6}  {letter.parked_at:%Y-%m-%d %H:%M:%S}  "
            f"{letter.projection}:{letter.version}  {letter.status:8}  {where:30}  "
            f"{letter.event_type:20}  {(letter.commit_id or '')[:12]:12}  "
            f"attempts {letter.attempts}  {letter.resolution or letter.error}",
            markup=False,
        )


@app.command("retry")
def retry(
    letter_id: Annotated[int | None, typer.Option("--id", help="The letter to retry.")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every parked letter, oldest first.")
    ] = False,
    env: EnvOption = None,
) -> None:
    """Apply parked units now (after fixing what made them fail); exit 1 if any still fails."""
    from spice_harvester.adapters.sql.projections.dead_letters import RetryOutcome

    if (letter_id is None) == (not every):
        fail("give --id N or --all", 2)
    database, letters = _open(env)
    try:
        results = letters.retry_all() if every else [letters.retry(letter_id or 0)]
    except SpiceError as exc:
        fail(f"cannot retry: {exc.message}")
    finally:
        database.close()
    for result in results:
        detail = f": {result.error}" if result.error else ""
        console.print(f"letter {result.letter_id}: {result.outcome.value}{detail}", markup=False)
    if every and not results:
        console.print("no parked dead letters")
    if any(result.outcome is RetryOutcome.FAILED for result in results):
        raise typer.Exit(1)
