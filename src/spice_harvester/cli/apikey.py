"""`spice apikey ...`: create, list and revoke BFF's API keys in DATABASE_URL."""

from __future__ import annotations

import getpass
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from spice_harvester.cli.common import EnvOption, console, errors, fail, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.api_keys import SqlApiKeys
    from spice_harvester.adapters.sql.database import SqlDatabase
    from spice_harvester.ports.api_keys import ApiKey

app = typer.Typer(help="API keys for BFF (X-API-Key).", no_args_is_help=True)


class RoleChoice(StrEnum):
    viewer = "viewer"
    editor = "editor"
    admin = "admin"


def _open(env: EnvOption) -> tuple[SqlDatabase, SqlApiKeys]:
    from spice_harvester.adapters.sql.api_keys import SqlApiKeys
    from spice_harvester.bootstrap import open_database

    try:
        database = open_database(settings_for(env), "bff")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")
    return database, SqlApiKeys(database)


def _audit(sql: SqlDatabase, action: str, key: ApiKey, actor: str) -> None:
    """Key changes are security events: recorded in the hash-chained audit log, as BFF's
    admin routes record theirs."""
    from spice_harvester.adapters.sql.audit import SqlAuditLog

    SqlAuditLog(sql).append(
        service="cli",
        actor=actor,
        action=action,
        outcome="success",
        target=key.key_id,
        details={"name": key.name, "role": key.role},
    )


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who holds the key; recorded as the actor.")],
    role: Annotated[RoleChoice, typer.Option("--role", help="viewer, editor or admin.")],
    database: Annotated[
        list[str] | None,
        typer.Option("--database", help="A database the key may use (repeat); none: all."),
    ] = None,
    created_by: Annotated[
        str | None, typer.Option("--created-by", help="Who creates it (default: your login).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key as JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Create a key and print it: it is shown this once and cannot be read back."""
    sql, keys = _open(env)
    creator = created_by or _operator()
    try:
        issued = keys.create(
            name=name, role=role.value, databases=database or None, created_by=creator
        )
        _audit(sql, "apikey.create", issued.key, creator)
    except SpiceError as exc:
        fail(f"cannot create the key: {exc.message}")
    finally:
        sql.close()
    if as_json:
        console.print_json(json.dumps({**issued.key.as_dict(), "key": issued.secret}))
        return
    console.print(issued.secret, markup=False)
    scope = ", ".join(sorted(issued.key.databases)) if issued.key.databases else "every database"
    errors.print(
        f"created key {issued.key.key_id} '{name}' ({role.value}, {scope}); "
        "store it now: it cannot be shown again",
        markup=False,
        soft_wrap=True,
    )


def _row(key: ApiKey) -> str:
    databases = ",".join(sorted(key.databases)) if key.databases is not None else "*"
    used = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never"
    state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
    return (
        f"{key.key_id:16}  {key.prefix}…  {key.role:6}  {key.name[:24]:24}  "
        f"{databases[:24]:24}  {used:16}  {state}"
    )


@app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Every key, newest first (never the secret: its first characters only)."""
    sql, keys = _open(env)
    try:
        found = keys.list_keys()
    except SpiceError as exc:
        fail(f"cannot list keys: {exc.message}")
    finally:
        sql.close()
    if as_json:
        console.print_json(json.dumps({"keys": [key.as_dict() for key in found]}))
        return
    console.print(
        f"{'KEY ID':16}  {'PREFIX':9}  {'ROLE':6}  {'NAME':24}  {'DATABASES':24}  "
        f"{'LAST USED':16}  STATE",
        markup=False,
    )
    for key in found:
        console.print(_row(key), markup=False)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, from `spice apikey list`.")],
    env: EnvOption = None,
) -> None:
    """Revoke a key: BFF refuses it within seconds (its key cache lasts 5 s)."""
    sql, keys = _open(env)
    try:
        key = keys.revoke(key_id)
        _audit(sql, "apikey.revoke", key, _operator())
    except SpiceError as exc:
        fail(f"cannot revoke {key_id}: {exc.message}")
    finally:
        sql.close()
    assert key.revoked_at is not None
    console.print(
        f"revoked {key.key_id} '{key.name}' at {key.revoked_at.isoformat()}", markup=False
    )
