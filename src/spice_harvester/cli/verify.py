"""`spice verify`: replay the event log against every stored state and read model, and exit 1
naming each difference (adapters/sql/backup/integrity.py says what is checked)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, TaskID

from spice_harvester.cli.common import EnvOption, console, fail, progress_bar, settings_for
from spice_harvester.domain.errors import NotFound, SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.backup.integrity import DatabaseReport, Problem
    from spice_harvester.adapters.sql.database import SqlDatabase


def _open(env: EnvOption) -> SqlDatabase:
    from spice_harvester.bootstrap import open_database

    try:
        return open_database(settings_for(env), "oms")
    except SpiceError as exc:
        fail(f"cannot open the database: {exc.message}")


class _Steps:
    """One bar per step, replacing the previous one."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def __call__(self, description: str, total: int | None) -> Callable[[int], None]:
        progress = self._progress
        if progress is None:
            return lambda _amount: None
        if self._task is not None:
            progress.remove_task(self._task)
        task = self._task = progress.add_task(description, total=total)
        return lambda amount: progress.advance(task, amount)


def verify(
    databases: Annotated[
        list[str] | None,
        typer.Option("--database", "-d", help="Only this database (repeat for more)."),
    ] = None,
    read_models: Annotated[
        bool,
        typer.Option("--read-models/--no-read-models", help="Also compare the read models."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Replay the event log of every database against its stored documents, commit ids and
    state hashes, recompute each branch's state hash, and compare the read models with a
    rebuild; exit 1 naming each difference."""
    from spice_harvester.adapters.sql.backup.integrity import (
        database_names,
        read_model_problems,
        verify_database,
    )

    sql = _open(env)
    reports: list[DatabaseReport] = []
    extra: list[Problem] = []
    try:
        checked = database_names(sql, databases or None)
        progress = None if as_json else progress_bar()
        steps = _Steps(progress)
        if progress is not None:
            progress.start()
        try:
            for name in checked:
                reports.append(verify_database(sql, name, steps))
            if read_models:
                steps("comparing the read models with a rebuild", None)
                extra = read_model_problems(sql, checked)
        finally:
            if progress is not None:
                progress.stop()
    except NotFound as exc:
        fail(exc.message, 2)
    except SpiceError as exc:
        fail(f"cannot verify: {exc.message}")
    finally:
        sql.close()
    problems = [problem for report in reports for problem in report.problems] + extra
    if as_json:
        body = {
            "ok": not problems,
            "databases": [report.as_dict() for report in reports],
            "read_models_checked": read_models,
            "problems": [problem.as_dict() for problem in problems],
        }
        console.print_json(json.dumps(body))
    else:
        for report in reports:
            found = len(report.problems) + report.more
            verdict = "ok" if report.ok else f"{found} problem(s)"
            console.print(
                f"{report.name:30} {report.commits:>8} commits {report.branches:>4} branches  "
                f"{verdict}",
                markup=False,
            )
        for problem in problems:
            console.print(str(problem), markup=False)
        for report in reports:
            if report.more:
                console.print(f"... and {report.more} more in {report.name}", markup=False)
    if problems:
        if as_json:
            raise typer.Exit(1)
        total = len(problems) + sum(report.more for report in reports)
        fail(f"{total} difference(s) between the event log and what is stored")
    if not as_json:
        checked_models = " and every read model" if read_models else ""
        console.print(f"the event log replays to every stored state{checked_models}")
