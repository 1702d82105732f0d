"""Gunicorn settings for one Spice Harvester service: the manual's "Python Application
Tuning", with each value from an environment variable and the manual's value as default.

    SPICE_SERVICE=oms gunicorn -c deploy/gunicorn_config.py

`SPICE_SERVICE` (oms, bff or funnel) picks the app and its default port; the app reads its
settings as `spice serve` does (environment, .env, config/*.yml). Workers are the maintained
`uvicorn-worker` package's (uvicorn's own `uvicorn.workers` is deprecated).

Two choices differ from the manual's file, on purpose: gunicorn's access log is off by default
because every service already writes logs/access.log in the combined format itself (the
manual's awk recipes read it), and gunicorn's own error log goes to stderr (journald or
`docker logs`), since logs/error.log is rotated by the services under a file lock that
gunicorn does not take.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

DEFAULT_PORTS = {"oms": 8000, "bff": 8002, "funnel": 8003}


def _text(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _int(name: str, default: int) -> int:
    raw = _text(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"gunicorn_config: {name} must be a whole number, not {raw!r}") from None


def _flag(name: str, default: bool) -> bool:
    raw = _text(name, "true" if default else "false").lower()
    if raw not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise SystemExit(f"gunicorn_config: {name} must be true or false, not {raw!r}")
    return raw in {"1", "true", "yes", "on"}


SERVICE = _text("SPICE_SERVICE", "oms").lower()
if SERVICE not in DEFAULT_PORTS:
    raise SystemExit(f"gunicorn_config: SPICE_SERVICE must be oms, bff or funnel, not {SERVICE!r}")
_PREFIX = SERVICE.upper()

# The app: the service factory, called once per process (or once in the arbiter, preloaded).
wsgi_app = f"spice_harvester.services.{SERVICE}.app:create_app()"
proc_name = f"spice-{SERVICE}"
# Same variables as the settings (OMS_HOST, OMS_PORT, ...), or GUNICORN_BIND for anything else.
_host = _text(f"{_PREFIX}_HOST", "0.0.0.0")
_port = _int(f"{_PREFIX}_PORT", DEFAULT_PORTS[SERVICE])
bind = [_text("GUNICORN_BIND", f"{_host}:{_port}")]

# Worker configuration
workers = _int("GUNICORN_WORKERS", _int("WORKER_PROCESSES", multiprocessing.cpu_count() * 2 + 1))
worker_class = "uvicorn_worker.UvicornWorker"
worker_connections = _int("WORKER_CONNECTIONS", 1000)

# Timeout configuration
timeout = _int("GUNICORN_TIMEOUT", 300)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Performance settings: each worker is replaced after about this many requests, at
# staggered moments (the jitter), so slow leaks cannot build up and workers never all
# restart at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 50)
# Imports once in the arbiter and forks: workers start fast and share the code's memory.
# Connections open per worker, in the app's lifespan, never in the arbiter.
preload_app = _flag("GUNICORN_PRELOAD", True)
# Behind a reverse proxy on this host, trust its X-Forwarded-* (client addresses in logs
# and rate limits).
forwarded_allow_ips = _text("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Gunicorn's runtime control socket lives in the home directory, which a hardened unit or a
# container keeps read-only; nothing here uses it, so it is off unless asked for.
control_socket_disable = not _flag("GUNICORN_CONTROL_SOCKET", False)

# Logging
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = _text("GUNICORN_ERRORLOG", "-")
loglevel = _text("GUNICORN_LOGLEVEL", _text("LOG_LEVEL", "info")).lower()


def post_fork(server: Any, worker: Any) -> None:
    """A preloaded app configured logging in the arbiter, whose writer thread a forked worker
    does not have: each worker starts its own (logs/<service>.log, access.log, error.log)."""
    if not preload_app:
        return  # the worker builds the app, and its logging, itself
    from spice_harvester.observability.logging import configure_logging
    from spice_harvester.settings import load_settings

    configure_logging(load_settings(), SERVICE, console_level=None)
