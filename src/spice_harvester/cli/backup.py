"""`spice backup create|restore|list|verify|run`: backups of every database and the state
around them, restorable into either engine (adapters/sql/backup says what is in one)."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.progress import (
    Progress,
    TaskID,
)

from spice_harvester.cli.common import EnvOption, console, fail, progress_bar, settings_for
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.backup import Metadata
    from spice_harvester.adapters.sql.backup.config_files import ConfigFile
    from spice_harvester.adapters.sql.database import SqlDatabase

app = typer.Typer(help="Back up and restore every database.", no_args_is_help=True)

BACKUP_DIR_VARIABLE: Final = "SPICE_BACKUP_DIR"
DatabaseOption = Annotated[
    list[str] | None,
    typer.Option("--database", "-d", help="Only this database (repeat for more; default: all)."),
]
ConfigOption = Annotated[
    bool,
    typer.Option(
        "--with-config/--no-config", help="Also keep .env and the config folder (config.tar.gz)."
    ),
]


def _open(env: EnvOption) -> SqlDatabase:
    from spice_harvester.bootstrap import open_database

    try:
        return open_database(settings_for(env), "oms")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")


def _default_root(env: EnvOption) -> Path:
    """SPICE_BACKUP_DIR, else `backups` in the data folder (the manual's data/backups)."""
    configured = os.environ.get(BACKUP_DIR_VARIABLE)
    if configured:
        return Path(configured)
    return settings_for(env).data_dir / "backups"


class _Bar:
    """The backup package's reporter as a rich progress bar, one step at a time."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def begin(self, description: str, total: int | None) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


def _size(folder: Path) -> str:
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    if total < 1_000_000:
        return f"{total / 1000:,.1f} kB"
    return f"{total / 1_000_000:,.1f} MB"


def _create(
    env: EnvOption,
    folder: Path,
    databases: list[str] | None,
    with_config: bool,
    kind: str,
) -> Metadata:
    from spice_harvester.adapters.sql.backup import BackupRequest, create_backup
    from spice_harvester.adapters.sql.backup.config_files import ConfigPlaces

    request = BackupRequest(
        databases or None, kind, ConfigPlaces.current() if with_config else None
    )
    sql = _open(env)
    try:
        with progress_bar() as progress:
            metadata = create_backup(sql, folder, request, _Bar(progress))
    except SpiceError as exc:
        fail(f"cannot back up: {exc.message}")
    except OSError as exc:
        fail(f"cannot write the backup in {folder}: {exc}")
    finally:
        sql.close()
    for name, entry in metadata.databases.items():
        console.print(
            f"  {name}: {entry.commits} commits, {entry.events} events, {entry.branches} "
            f"branches, {entry.documents} documents on main",
            markup=False,
        )
    counts = metadata.system.counts
    console.print(
        f"  {counts.get('api_keys', 0)} API keys, {counts.get('audit_log', 0)} audit entries, "
        f"{counts.get('pull_requests', 0)} pull requests",
        markup=False,
    )
    console.print(
        f"backed up {len(metadata.databases)} database(s) to {folder} ({_size(folder)})",
        markup=False,
    )
    return metadata


@app.command("create")
def create(
    databases: DatabaseOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The new backup folder (must not exist).")
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help=f"Where a timestamped folder is made when --output is not given (default: "
            f"${BACKUP_DIR_VARIABLE}, or backups in the data folder).",
        ),
    ] = None,
    with_config: ConfigOption = True,
    env: EnvOption = None,
) -> None:
    """Back up every database (or those given) with its whole history, the API keys, the
    audit log and pull requests, read from one consistent snapshot."""
    from spice_harvester.adapters.sql.backup import new_folder

    folder = output if output is not None else new_folder(root or _default_root(env))
    _create(env, folder, databases, with_config, "manual")


@app.command("restore")
def restore(
    folder: Annotated[Path, typer.Argument(help="A backup folder.")],
    databases: DatabaseOption = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Delete a database that exists here and restore it."),
    ] = False,
    with_config: Annotated[
        bool,
        typer.Option(
            "--with-config",
            help="Also write the backup's .env and config files (with "
            "--replace, over files that differ).",
        ),
    ] = False,
    system: Annotated[
        bool,
        typer.Option(
            "--system/--no-system",
            help="Merge the backup's API keys, audit log and meta entries (default), or not.",
        ),
    ] = True,
    env: EnvOption = None,
) -> None:
    """Restore a backup into the configured database, whichever engine it is: checksums
    first, every commit id and state hash while importing, then the read models rebuilt."""
    from spice_harvester.adapters.sql.backup import RestoreRequest, check_backup, restore_backup
    from spice_harvester.adapters.sql.backup.config_files import (
        ConfigPlaces,
        plan_config,
        write_config,
    )

    planned: list[ConfigFile] = []
    if with_config:
        # Checked before anything is written, so a config clash leaves the databases alone.
        try:
            metadata = check_backup(folder)
            if metadata.config is None:
                fail(f"cannot restore {folder}: it was taken without --with-config")
            planned = plan_config(folder / metadata.config, ConfigPlaces.current(), replace=replace)
        except SpiceError as exc:
            fail(f"cannot restore {folder}: {exc.message}")
    request = RestoreRequest(folder, databases or None, replace, system, f"cli:{getpass.getuser()}")
    sql = _open(env)
    try:
        with progress_bar() as progress:
            result = restore_backup(sql, request, _Bar(progress))
    except SpiceError as exc:
        fail(f"cannot restore {folder}: {exc.message}")
    except OSError as exc:
        fail(f"cannot read the backup {folder}: {exc}")
    finally:
        sql.close()
    for item in result.databases:
        entry = result.metadata.databases[item.name]
        replaced = " (replaced the one here)" if item.replaced_db_id is not None else ""
        console.print(
            f"  {item.name}: {entry.commits} commits, {entry.branches} branches, every commit "
            f"id and state hash checked{replaced}",
            markup=False,
        )
    added = result.system_added
    console.print(
        f"  added {added.get('api_keys', 0)} API keys, {added.get('audit_log', 0)} audit "
        f"entries, {added.get('pull_requests', 0)} pull requests; read models rebuilt from "
        f"{result.documents_built} documents",
        markup=False,
    )
    if with_config:
        try:
            written = write_config(planned)
        except OSError as exc:
            fail(f"restored the databases, but not the configuration: {exc}")
        console.print(f"  wrote {len(written)} configuration file(s)")
    console.print(f"restored {len(result.databases)} database(s) from {folder}", markup=False)


@app.command("list")
def list_(
    root: Annotated[
        Path | None, typer.Argument(help="The folder of backups (default as for create).")
    ] = None,
    env: EnvOption = None,
) -> None:
    """The backups in a folder, oldest first, with what each holds."""
    from spice_harvester.adapters.sql.backup import list_backups

    where = root or _default_root(env)
    found = list_backups(where)
    if not found:
        console.print(f"no backups in {where}", markup=False)
        return
    for item in found:
        if item.metadata is None:
            console.print(f"{item.path.name:24} {item.problem}", markup=False)
            continue
        meta = item.metadata
        console.print(
            f"{item.path.name:24} {meta.created_at[:19]}  {meta.kind:9} {meta.engine:10} "
            f"{len(meta.databases):>3} database(s)  {_size(item.path):>12}  "
            f"spice {meta.spice_version}, schema {meta.schema_revision or '-'}",
            markup=False,
        )


@app.command("verify")
def verify(folder: Annotated[Path, typer.Argument(help="A backup folder.")]) -> None:
    """Check that the metadata reads and every file has its recorded size and SHA-256."""
    from spice_harvester.adapters.sql.backup import check_files, read_metadata

    try:
        metadata = read_metadata(folder)
    except SpiceError as exc:
        fail(exc.message)
    with console.status("computing checksums..."):
        problems = check_files(folder, metadata)
    for problem in problems:
        console.print(f"  {problem}", markup=False)
    if problems:
        fail(f"backup {folder} is damaged or was altered: {len(problems)} file(s) differ")
    console.print(
        f"backup {folder} is intact: {len(metadata.files)} files, "
        f"{len(metadata.databases)} database(s), taken {metadata.created_at}",
        markup=False,
    )


@app.command("run")
def run(
    root: Annotated[Path, typer.Option("--dir", help="The folder that holds the backups.")],
    keep_days: Annotated[
        float, typer.Option("--keep-days", min=0, help="Remove backups older than this.")
    ],
    databases: DatabaseOption = None,
    with_config: ConfigOption = True,
    env: EnvOption = None,
) -> None:
    """A scheduled backup (systemd timer, cron): create one in DIR, then remove those older
    than --keep-days days."""
    from spice_harvester.adapters.sql.backup import new_folder, prune

    folder = new_folder(root)
    _create(env, folder, databases, with_config, "scheduled")
    try:
        removed = prune(root, keep_days, keep=folder, now=datetime.now(UTC))
    except OSError as exc:
        fail(f"backed up to {folder}, but could not remove old backups: {exc}")
    for path in removed:
        console.print(f"removed {path} (older than {keep_days:g} days)", markup=False)
