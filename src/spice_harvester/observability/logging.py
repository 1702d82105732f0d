"""Logging as the operations manual's appendix B lays it out, for one process."""

from __future__ import annotations

import atexit
import logging
import queue
import sys
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path

from concurrent_log_handler import ConcurrentTimedRotatingFileHandler
from pythonjsonlogger.json import JsonFormatter

from spice_harvester.observability.context import request_id_var
from spice_harvester.settings import Settings

ACCESS_LOGGER = "spice.access"
SERVICE_LOG_DAYS = 7
SHARED_LOG_DAYS = 30
TEXT_FORMAT = "%(asctime)s %(levelname)-8s [%(service)s %(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(service)s %(request_id)s %(name)s %(message)s"


class _ServiceTag(logging.Filter):
    """Stamps every record with the process's service, so shared files say who wrote a line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        return True


class _AccessOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == ACCESS_LOGGER


class _NotAccess(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != ACCESS_LOGGER


def _daily_file(path: Path, days: int) -> logging.Handler:
    # Several processes (OMS, BFF, Funnel, workers) write error.log and access.log at once;
    # this handler rotates under a file lock so no process clobbers another's rollover.
    return ConcurrentTimedRotatingFileHandler(
        str(path), when="midnight", backupCount=days, encoding="utf-8", use_gzip=False
    )


class _Background:
    """File handlers run on one listener thread: a request only puts its record on a queue,
    so the event loop never waits for a file lock or a disk write."""

    def __init__(self) -> None:
        self.listener: QueueListener | None = None

    def start(self, handlers: list[logging.Handler]) -> QueueHandler:
        self.stop()
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self.listener = QueueListener(records, *handlers, respect_handler_level=True)
        self.listener.start()
        return QueueHandler(records)

    def stop(self) -> None:
        """Writes what is queued and ends the thread (at exit, or before reconfiguring)."""
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()
            for handler in listener.handlers:
                handler.close()

    def flush(self) -> None:
        """Returns once every record logged so far is written."""
        listener = self.listener
        if listener is not None:
            listener.stop()  # drains the queue, then the thread ends
            listener.start()

    @property
    def handlers(self) -> tuple[logging.Handler, ...]:
        return () if self.listener is None else self.listener.handlers


_background = _Background()
atexit.register(_background.stop)


def flush_logs() -> None:
    """Waits until the files hold every record logged so far (tests, and before exiting)."""
    _background.flush()


def log_handlers() -> tuple[logging.Handler, ...]:
    """The handlers the listener thread writes through (files and console)."""
    return _background.handlers


def _formatter(settings: Settings) -> logging.Formatter:
    if settings.is_production:
        return JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level"})
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: Settings, service: str, *, console_level: str | None) -> None:
    """Sends this process's logs to logs/<service>.log, errors also to logs/error.log,
    and the access log (combined format) to logs/access.log. The console gets the same
    records at `console_level` (default: the log level)."""
    log_dir = settings.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    tag = _ServiceTag(service)
    formatter = _formatter(settings)

    root = logging.getLogger()
    access = logging.getLogger(ACCESS_LOGGER)
    for logger in (root, access):
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
    _background.stop()
    root.setLevel(settings.effective_log_level)

    service_file = _daily_file(log_dir / f"{service}.log", SERVICE_LOG_DAYS)
    error_file = _daily_file(log_dir / "error.log", SHARED_LOG_DAYS)
    error_file.setLevel(logging.ERROR)
    console = logging.StreamHandler(sys.stderr)
    if console_level:
        console.setLevel(console_level.upper())
    for handler in (service_file, error_file, console):
        handler.setFormatter(formatter)
    access_file = _daily_file(log_dir / "access.log", SHARED_LOG_DAYS)
    access_file.setFormatter(logging.Formatter("%(message)s"))
    access_file.addFilter(_AccessOnly())
    for handler in (service_file, error_file, console):
        handler.addFilter(_NotAccess())
    queued = _background.start([service_file, error_file, console, access_file])
    # Stamped in the calling thread, where the request's id is known.
    queued.addFilter(tag)
    root.addHandler(queued)
    access.addHandler(queued)
    access.setLevel(logging.INFO)
    access.propagate = False

    # Uvicorn's own access lines would duplicate ours; its error logger flows to the root.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("sqlalchemy.engine").setLevel(
        logging.INFO if settings.log_queries else logging.WARNING
    )
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "alembic"):
        logging.getLogger(noisy).setLevel(
            logging.DEBUG if settings.effective_log_level == "DEBUG" else logging.WARNING
        )


def stop_logging() -> None:
    """Writes what is queued and closes the files (tests that configure logging again)."""
    _background.stop()
