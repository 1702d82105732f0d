"""`spice serve worker`: the projection worker in the foreground, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from spice_harvester.cli.common import fail
from spice_harvester.domain.errors import SpiceError
from spice_harvester.settings import Settings

log = logging.getLogger(__name__)
TITLE = "Worker"


def serve_worker(settings: Settings, console_level: str | None) -> None:
    from spice_harvester.adapters.sql.projections.worker import ProjectionWorker
    from spice_harvester.bootstrap import open_worker_database
    from spice_harvester.observability.logging import configure_logging

    configure_logging(settings, "worker", console_level=console_level)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # The unit in hand finishes (or rolls back) first: its transaction is the unit.
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        database = open_worker_database(settings)
    except SpiceError as exc:
        fail(f"{TITLE} cannot start: {exc.message}")
    try:
        worker = ProjectionWorker(database, settings.worker, settings.nats_url)
        log.info(
            "%s %s applying projections %s from %s, %s",
            TITLE,
            worker.owner,
            ", ".join(worker.applier.models),
            database.display_url,
            "delivered by NATS JetStream" if settings.nats_url else "reading the log",
        )
        worker.run(stop)
    finally:
        database.close()
    log.info("%s stopped", TITLE)
