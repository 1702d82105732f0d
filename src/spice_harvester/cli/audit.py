"""`spice audit ...`: read the hash-chained audit log and check that nothing was altered."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from spice_harvester.cli.common import EnvOption, console, fail, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.audit import SqlAuditLog
    from spice_harvester.adapters.sql.database import SqlDatabase

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _open(env: EnvOption) -> tuple[SqlDatabase, SqlAuditLog]:
    from spice_harvester.adapters.sql.audit import SqlAuditLog
    from spice_harvester.bootstrap import open_database

    try:
        database = open_database(settings_for(env), "bff")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")
    return database, SqlAuditLog(database)


@app.command("verify")
def verify(env: EnvOption = None) -> None:
    """Walk the chain from the first entry; exit 1 naming the first entry where it breaks."""
    sql, audit = _open(env)
    try:
        with console.status("checking the audit chain..."):
            result = audit.check()
    except SpiceError as exc:
        fail(f"cannot read the audit log: {exc.message}")
    finally:
        sql.close()
    if not result.holds:
        more = len(result.problems) - 1
        also = f" ({more} more entr{'y' if more == 1 else 'ies'} after it)" if more else ""
        fail(result.problems[0].describe() + also)
    console.print(f"audit chain holds: {result.count} entries")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@app.command("list")
def list_entries(
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action.")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="From this time (UTC unless it has an offset).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Up to this time.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, hashes included.")] = False,
    env: EnvOption = None,
) -> None:
    """The newest entries first."""
    sql, audit = _open(env)
    try:
        entries = audit.query(
            actor=actor, action=action, since=_utc(since), until=_utc(until), limit=limit
        )
    except SpiceError as exc:
        fail(f"cannot read the audit log: {exc.message}")
    finally:
        sql.close()
    if as_json:
        console.print_json(json.dumps({"entries": [entry.as_dict() for entry in entries]}))
        return
    if not entries:
        console.print("no audit entries match")
    for entry in entries:
        console.print(
            f"{entry.entry_id:>7}  {entry.at:%Y-%m-%d %H:%M:%S}  {entry.service:4}  "
            f"{entry.outcome:8}  {entry.action:28}  {entry.actor:24}  "
            f"{entry.client or '-':15}  {entry.target or ''}",
            markup=False,
        )
