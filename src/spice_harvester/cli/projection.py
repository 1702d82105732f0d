"""`spice projection status|verify|recompute|jobs|cancel`: how far behind each read model
is, whether it equals a rebuild from the store, and rebuilding one from the log."""

from __future__ import annotations

import getpass
import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from spice_harvester.cli.common import EnvOption, console, fail, settings_for
from spice_harvester.domain.errors import Conflict, MalformedInput, NotFound, SpiceError

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.database import SqlDatabase
    from spice_harvester.adapters.sql.projections.recompute import SqlRecomputeJobs
    from spice_harvester.application.projections.recompute import RecomputeJob

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


POLL_SECONDS = 0.5
# A worker that has not beaten for this long is not counted as running.
ALIVE_SECONDS = 60


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not an ISO 8601 time: {value!r}", 2)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _jobs(database: SqlDatabase) -> SqlRecomputeJobs:
    from spice_harvester.adapters.sql.projections.recompute import SqlRecomputeJobs

    return SqlRecomputeJobs(database)


@app.command("recompute")
def recompute(
    projection: Annotated[str, typer.Argument(help="search, counts or lineage.")],
    database_name: Annotated[
        str | None, typer.Option("--database", help="Only this database (default: all).")
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Only this branch of --database.")
    ] = None,
    from_ts: Annotated[
        str | None,
        typer.Option("--from", help="Start from the state at this time (ISO 8601; UTC if bare)."),
    ] = None,
    to_ts: Annotated[
        str | None,
        typer.Option("--to", help="Replay the log up to this time (default: its end now)."),
    ] = None,
    promote: Annotated[
        bool, typer.Option("--promote", help="Serve the rebuilt rows once built.")
    ] = False,
    allow_delete: Annotated[
        bool,
        typer.Option(
            "--allow-delete-base-index",
            help="With --promote: delete the replaced rows instead of keeping them.",
        ),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Show progress until the job ends; exit 1 if it fails.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Rebuild a read model from the log into a new version, run by the projection worker;
    reads keep using the serving version until the job promotes the new one."""
    from spice_harvester.application.projections.recompute import RecomputeRequest

    request = RecomputeRequest(
        projection,
        database_name,
        branch,
        _moment(from_ts, "--from"),
        _moment(to_ts, "--to"),
        promote,
        allow_delete,
        f"cli:{getpass.getuser()}",
    )
    database = _open(env)
    try:
        jobs = _jobs(database)
        try:
            job = jobs.create(request)
        except (MalformedInput, NotFound) as exc:
            fail(exc.message, 2)
        except Conflict as exc:
            fail(exc.message)
        except SpiceError as exc:
            fail(f"cannot queue the recompute: {exc.message}")
        if not wait:
            if as_json:
                console.print_json(json.dumps(job.as_dict()))
            else:
                console.print(f"recompute job {job.job_id} queued", markup=False)
            return
        if not as_json:
            console.print(f"recompute job {job.job_id} queued", markup=False)
            _warn_without_worker(database)
        job = _wait(jobs, job)
        if as_json:
            console.print_json(json.dumps(job.as_dict()))
        else:
            _show(job)
        if job.status != "done":
            raise typer.Exit(1)
    finally:
        database.close()


def _warn_without_worker(database: SqlDatabase) -> None:
    from spice_harvester.adapters.sql.projections.status import workers

    horizon = datetime.now(UTC) - timedelta(seconds=ALIVE_SECONDS)
    alive = [w for w in workers(database) if w.stopped_at is None and w.beat_at > horizon]
    if not alive:
        console.print(
            "no projection worker is running: the job waits for `spice serve worker` "
            "(or `spice up`)",
            markup=False,
        )


def _wait(jobs: SqlRecomputeJobs, job: RecomputeJob) -> RecomputeJob:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:,.0f}/{task.fields[of]} events"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task(job.status, total=None, of="?")
            while not job.finished:
                time.sleep(POLL_SECONDS)
                try:
                    job = jobs.get(job.job_id)
                except SpiceError as exc:
                    fail(f"cannot read job {job.job_id}: {exc.message}")
                total = job.progress.events_total
                progress.update(
                    task,
                    description=job.status,
                    completed=job.progress.events_done,
                    total=total,
                    of="?" if total is None else f"{total:,}",
                )
    except KeyboardInterrupt:
        fail(
            f"stopped waiting; job {job.job_id} goes on "
            f"(`spice projection jobs {job.job_id}`, `spice projection cancel {job.job_id}`)"
        )
    return job


def _show(job: RecomputeJob) -> None:
    scope = "every database" if job.db_name is None else job.db_name
    if job.branch is not None:
        scope += f"/{job.branch}"
    percent = job.progress.percent
    done = "" if percent is None else f"  {percent:.1f}%"
    version = "-" if job.version is None else f"v{job.version}"
    console.print(
        f"{job.job_id}  {job.projection} {version}  {job.status}{done}  {scope}  "
        f"{'promote' if job.promote else 'keep'}  by {job.requested_by}  "
        f"{job.created_at:%Y-%m-%d %H:%M:%S}",
        markup=False,
    )
    if job.progress.note:
        console.print(f"    {job.progress.note}", markup=False)
    if job.error:
        console.print(f"    error: {job.error}", markup=False)


@app.command("jobs")
def list_jobs(
    job_id: Annotated[str | None, typer.Argument(help="One job (default: the newest).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    env: EnvOption = None,
) -> None:
    """Recompute jobs with their status and progress."""
    database = _open(env)
    try:
        jobs = _jobs(database)
        found = [jobs.get(job_id)] if job_id is not None else jobs.jobs(limit=limit)
    except NotFound as exc:
        fail(exc.message, 2)
    except SpiceError as exc:
        fail(f"cannot read the jobs: {exc.message}")
    finally:
        database.close()
    if as_json:
        body = found[0].as_dict() if job_id is not None else [j.as_dict() for j in found]
        console.print_json(json.dumps(body))
        return
    if not found:
        console.print("no recompute jobs")
    for job in found:
        _show(job)


@app.command("cancel")
def cancel(
    job_id: Annotated[str, typer.Argument(help="The job to stop.")],
    env: EnvOption = None,
) -> None:
    """Stop an active recompute before its promotion and drop what it built."""
    database = _open(env)
    try:
        job = _jobs(database).cancel(job_id)
    except NotFound as exc:
        fail(exc.message, 2)
    except SpiceError as exc:
        fail(exc.message)
    finally:
        database.close()
    _show(job)
