"""`spice serve oms|bff|funnel|worker`: one process in the foreground, for systemd and
containers."""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, cast

import typer

from spice_harvester.cli.common import EnvOption, fail, settings_for
from spice_harvester.domain.errors import SpiceError
from spice_harvester.services.catalog import TITLES
from spice_harvester.settings import ServiceName, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)
STARTUP_FAILURE = 3


def app_factory(service: ServiceName) -> Callable[[Settings | None], FastAPI]:
    # Imported here: the web stack is heavy, and `spice up` or `spice version` never need it.
    from spice_harvester.services.bff import app as bff_app
    from spice_harvester.services.funnel import app as funnel_app
    from spice_harvester.services.oms import app as oms_app

    factories: dict[ServiceName, Callable[[Settings | None], FastAPI]] = {
        "oms": oms_app.create_app,
        "bff": bff_app.create_app,
        "funnel": funnel_app.create_app,
    }
    return factories[service]


class Service(StrEnum):
    oms = "oms"
    bff = "bff"
    funnel = "funnel"
    worker = "worker"  # the projection worker: no port, it follows the event log


def bind(host: str, port: int, title: str) -> socket.socket:
    """Binds before anything else starts, so a taken port is one clear line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
    # so, and with Nagle on, every small response waited ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        fail(f"{title} cannot listen on {host}:{port}: {reason}")
    sock.set_inheritable(True)
    return sock


def preflight(settings: Settings, service: ServiceName, title: str) -> None:
    """Reaches the database and readies its schema, or exits with the reason."""
    from spice_harvester.bootstrap import NEEDS_DATABASE, open_database

    if not NEEDS_DATABASE[service]:
        return
    try:
        open_database(settings, service).close()
    except SpiceError as exc:
        fail(f"{title} cannot start: {exc.message}")


def serve_service(service: ServiceName, settings: Settings, console_level: str | None) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from spice_harvester.observability.logging import configure_logging

    title = TITLES[service][0]
    configure_logging(settings, service, console_level=console_level)
    server_settings = settings.service(service).server
    sock = bind(server_settings.host, server_settings.port, title)
    preflight(settings, service, title)
    workers = settings.workers_for(service)
    # One worker serves the app built from the settings already read; several workers are
    # separate processes that each build their own from the import path.
    factory = app_factory(service)
    app = f"{factory.__module__}:create_app" if workers > 1 else factory(settings)
    config = uvicorn.Config(
        app,
        factory=workers > 1,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        limit_concurrency=settings.worker_connections,
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    log.info(
        "%s listening on %s:%d with %d worker(s)",
        title,
        server_settings.host,
        server_settings.port,
        workers,
    )
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
        return
    # Uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the
    # handler that was in place before; a quiet one lets the process end with exit code 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda signum, frame: None)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        fail(f"{title} failed during start-up (see logs/{service}.log)", STARTUP_FAILURE)


def serve(
    service: Annotated[Service, typer.Argument(help="Which service to run.")],
    env: EnvOption = None,
    console_level: Annotated[
        str | None, typer.Option(hidden=True, help="Console log level (spice up sets WARNING).")
    ] = None,
) -> None:
    """Run one service in the foreground until SIGTERM or Ctrl-C."""
    settings = settings_for(env)
    if service is Service.worker:
        from spice_harvester.cli.worker import serve_worker

        serve_worker(settings, console_level)
    else:
        serve_service(cast(ServiceName, service.value), settings, console_level)
    sys.exit(0)
