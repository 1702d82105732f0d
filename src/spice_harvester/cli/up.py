"""`spice up`: the whole system on this machine, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import os
import sys
import time

from rich.table import Table

from spice_harvester import __version__
from spice_harvester.cli.common import EnvOption, console, settings_for
from spice_harvester.cli.serve import bind
from spice_harvester.cli.supervisor import ProcessSpec, StartupFailed, Supervisor
from spice_harvester.services.catalog import TITLES
from spice_harvester.settings import SERVICES, Settings

STARTUP_TIMEOUT = 60.0
WORKER = "worker"


def process_specs(settings: Settings) -> list[ProcessSpec]:
    """OMS, BFF and Funnel, each answering /health on its port, and the projection worker,
    which has no port (it is started with them, and restarted like them)."""
    specs = []
    for name in SERVICES:
        port = settings.service(name).server.port
        specs.append(
            ProcessSpec(
                name=name,
                title=TITLES[name][0],
                argv=[
                    sys.executable,
                    "-m",
                    "spice_harvester",
                    "serve",
                    name,
                    "--console-level",
                    "WARNING",
                ],
                health_url=f"http://127.0.0.1:{port}/health",
            )
        )
    specs.append(
        ProcessSpec(
            name=WORKER,
            title="Worker",
            argv=[
                sys.executable,
                "-m",
                "spice_harvester",
                "serve",
                WORKER,
                "--console-level",
                "WARNING",
            ],
            health_url=None,
        )
    )
    return specs


def check_ports_free(settings: Settings) -> None:
    for name in SERVICES:
        server = settings.service(name).server
        bind(server.host, server.port, TITLES[name][0]).close()


def show_where(settings: Settings, elapsed: float) -> None:
    table = Table(show_header=True, header_style="bold", box=None)
    for column in ("service", "url", "api docs", "log"):
        table.add_column(column)
    for name in SERVICES:
        url = settings.base_url(name)
        table.add_row(TITLES[name][0], url, f"{url}/docs", str(settings.log_dir / f"{name}.log"))
    table.add_row("Worker", "-", "-", str(settings.log_dir / f"{WORKER}.log"))
    console.print(
        f"Spice Harvester {__version__} is up in {elapsed:.2f} s "
        f"({settings.app_env}, database {_database_label(settings)})"
    )
    console.print(table)
    console.print("Press Ctrl-C to stop.")


def _database_label(settings: Settings) -> str:
    dsn = settings.database_dsn
    return dsn.split("@")[-1] if "@" in dsn else dsn


def up(env: EnvOption = None) -> None:
    """Start OMS (8000), BFF (8002), Funnel (8003) and the projection worker, wait until
    healthy, stop on Ctrl-C."""
    started = time.monotonic()
    settings = settings_for(env)
    logging.basicConfig(level=logging.WARNING, format="spice up: %(message)s")
    logging.getLogger("spice_harvester").setLevel(logging.INFO)
    check_ports_free(settings)
    supervisor = Supervisor(process_specs(settings), dict(os.environ))
    supervisor.install_signal_handlers()
    supervisor.start_all()
    code = 0
    try:
        with console.status("starting services...") as status:

            def ready(spec: ProcessSpec, after: float) -> None:
                status.update(f"{spec.title} healthy after {after:.2f} s; waiting for the rest")

            supervisor.wait_healthy(STARTUP_TIMEOUT, ready)
        show_where(settings, time.monotonic() - started)
        code = supervisor.supervise()
    except StartupFailed as exc:
        # Asked to stop while starting is a clean stop; anything else is a failure.
        code = 0 if supervisor.stopping.is_set() else 1
        console.print(f"spice up: {exc}")
    finally:
        console.print("stopping services...")
        supervisor.stop_all()
        console.print("all services stopped.")
    raise SystemExit(code)
