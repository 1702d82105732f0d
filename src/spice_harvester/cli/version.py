"""`spice version [status]`: the installed version, and the version-control state of each
database (the manual's check_version_status.py): its branches with their heads and where
they came from, and its most recent commits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from spice_harvester import __version__
from spice_harvester.cli.common import EnvOption, console, fail
from spice_harvester.cli.in_process import oms_resources, store_of
from spice_harvester.domain.errors import SpiceError

if TYPE_CHECKING:
    from spice_harvester.domain.versioning.model import BranchInfo, CommitInfo
    from spice_harvester.ports.versioned_store import VersionedStore

app = typer.Typer(
    help="The version; `spice version status` for the databases' branches and commits.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def version(ctx: typer.Context) -> None:
    """Print the version (with no subcommand)."""
    if ctx.invoked_subcommand is None:
        typer.echo(__version__)


def _origin(branch: BranchInfo) -> str:
    if branch.from_branch is None and branch.fork_commit is None:
        return "root"
    fork = (branch.fork_commit or "")[:12]
    return f"from {branch.from_branch or '?'} at {fork}" if fork else f"from {branch.from_branch}"


def _database_report(store: VersionedStore, name: str, branch: str, limit: int) -> dict[str, Any]:
    info = store.get_database(name)
    branches: list[dict[str, Any]] = []
    for found in store.list_branches(name):
        head: CommitInfo = store.resolve(name, found.head)
        branches.append(
            {**found.as_dict(), "origin": _origin(found), "head_commit": head.as_dict()}
        )
    commits, total = store.log(name, branch, limit=limit)
    return {
        "name": info.name,
        "version": info.seq,
        "branches": branches,
        "log_branch": branch,
        "commits": [commit.as_dict() for commit in commits],
        "total_commits": total,
    }


def _print_report(report: dict[str, Any]) -> None:
    console.print(
        f"[bold]{report['name']}[/bold]  version {report['version']}  "
        f"{len(report['branches'])} branch(es)"
    )
    branches = Table("branch", "head", "at", "origin", box=None, pad_edge=False)
    for branch in report["branches"]:
        head = branch["head_commit"]
        branches.add_row(
            branch["name"] + (" (protected)" if branch["protected"] else ""),
            head["id"][:12],
            head["timestamp"][:19].replace("T", " "),
            branch["origin"],
        )
    console.print(branches)
    shown, total = len(report["commits"]), report["total_commits"]
    console.print(f"recent commits on {report['log_branch']} ({shown} of {total}):")
    commits = Table("commit", "author", "time", "message", box=None, pad_edge=False)
    for commit in report["commits"]:
        commits.add_row(
            commit["id"][:12],
            commit["author"],
            commit["timestamp"][:19].replace("T", " "),
            commit["message"],
        )
    console.print(commits)


@app.command("status")
def status(
    databases: Annotated[
        list[str] | None,
        typer.Option("--database", help="Only this database (repeat for more; default: all)."),
    ] = None,
    branch: Annotated[str, typer.Option("--branch", help="Whose recent commits to list.")] = "main",
    limit: Annotated[int, typer.Option("--limit", min=1, help="Recent commits to list.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Branches and recent commits of each database.

    Per database: every branch with its head commit and origin, then the most recent
    commits (id, author, message, time) of --branch.
    """
    reports: list[dict[str, Any]] = []
    with oms_resources(env) as resources:
        store = store_of(resources)
        try:
            names = databases or [info.name for info in store.list_databases()]
            for name in names:
                reports.append(_database_report(store, name, branch, limit))
        except SpiceError as exc:
            fail(f"cannot read the version status: {exc.message}")
    if as_json:
        console.print_json(json.dumps({"version": __version__, "databases": reports}))
        return
    if not reports:
        console.print("no databases: create one with `spice db create NAME`")
    for report in reports:
        _print_report(report)
