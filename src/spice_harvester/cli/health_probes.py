"""What `spice health` checks, each timed: the three services' /health on their configured
URLs, the database (with its schema revision and the maintenance switch), the projection
worker by its heartbeat, and Redis and NATS when their URLs are set."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import httpx

from spice_harvester.settings import SERVICES, Settings
from spice_harvester.settings.model import DatabasePoolSettings

if TYPE_CHECKING:
    from spice_harvester.adapters.sql.database import SqlDatabase
    from spice_harvester.ports.maintenance import MaintenanceState

State = Literal["up", "down", "absent"]
TITLES = {"oms": "OMS", "bff": "BFF", "funnel": "Funnel"}
# A worker counts as running while its last beat is this many heartbeats old at most.
MISSED_BEATS = 4
MIN_ALIVE_SECONDS = 20.0


@dataclass(frozen=True)
class Reading:
    """One check: up, down or absent (not configured), how long it took, and why."""

    name: str
    target: str
    required: bool
    state: State
    latency_ms: float | None
    detail: str

    @property
    def failing(self) -> bool:
        return self.required and self.state != "up"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "required": self.required,
            "state": self.state,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Round:
    at: datetime
    readings: list[Reading]
    maintenance: MaintenanceState | None = None

    @property
    def healthy(self) -> bool:
        return not any(reading.failing for reading in self.readings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "healthy": self.healthy,
            "checks": [reading.as_dict() for reading in self.readings],
            "maintenance": None if self.maintenance is None else self.maintenance.as_dict(),
        }


@dataclass
class _Probe:
    name: str
    target: str
    required: bool
    run: Callable[[], Awaitable[str]]


async def _timed(probe: _Probe, timeout: float) -> Reading:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe.run(), timeout)
    except TimeoutError:
        elapsed = (time.perf_counter() - started) * 1000
        return Reading(
            probe.name, probe.target, probe.required, "down", elapsed, f"no answer in {timeout:g} s"
        )
    except Exception as exc:  # any failure of a check means "down", with its reason
        elapsed = (time.perf_counter() - started) * 1000
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Reading(probe.name, probe.target, probe.required, "down", elapsed, reason)
    elapsed = (time.perf_counter() - started) * 1000
    return Reading(probe.name, probe.target, probe.required, "up", elapsed, detail)


def _service_probe(client: httpx.AsyncClient, name: str, url: str) -> _Probe:
    async def run() -> str:
        try:
            response = await client.get(f"{url}/health")
        except httpx.HTTPError as exc:
            raise ConnectionError(f"unreachable: {type(exc).__name__} {exc}".strip()) from exc
        body = _json(response)
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        dependencies = data.get("dependencies") if isinstance(data, dict) else None
        summary = ", ".join(f"{k} {v}" for k, v in (dependencies or {}).items())
        if response.status_code != 200:
            raise ConnectionError(f"{response.status_code}: {body.get('message') or summary}")
        version = data.get("version") if isinstance(data, dict) else None
        return f"v{version}; {summary}" if summary else f"v{version}"

    return _Probe(TITLES[name], f"{url}/health", True, run)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass
class _DatabaseFacts:
    """What one visit to the database learns, for three lines of the report."""

    revision: str = ""
    workers: str = ""
    workers_alive: int = 0
    maintenance: MaintenanceState | None = None


def _visit_database(database: SqlDatabase, settings: Settings, facts: _DatabaseFacts) -> str:
    from spice_harvester.adapters.sql.maintenance import SqlMaintenance
    from spice_harvester.adapters.sql.projections.status import workers

    database.ping()
    status = database.migration_status()
    pending = f", {len(status.pending)} migration(s) pending" if status.pending else ""
    facts.revision = f"{database.engine_name}, schema {status.current or 'empty'}{pending}"
    if status.current is None:
        return facts.revision
    if "0009_maintenance_mode" not in status.pending:
        facts.maintenance = SqlMaintenance(database).read()
    if "0007_projections" not in status.pending:
        alive_for = max(MISSED_BEATS * settings.worker.heartbeat_seconds, MIN_ALIVE_SECONDS)
        now = datetime.now(UTC)
        horizon = now - timedelta(seconds=alive_for)
        alive = [w for w in workers(database) if w.stopped_at is None and w.beat_at > horizon]
        facts.workers_alive = len(alive)
        facts.workers = ", ".join(
            f"{w.host}:{w.pid} beat {(now - w.beat_at).total_seconds():.0f} s ago" for w in alive
        )
    return facts.revision


def _database_probe(settings: Settings, facts: _DatabaseFacts) -> _Probe:
    from spice_harvester.adapters.sql.database import SqlDatabase

    one = DatabasePoolSettings(pool_size=1, max_overflow=0, pool_timeout=5)
    database = SqlDatabase(settings.database_dsn, one)

    async def run() -> str:
        try:
            return await asyncio.to_thread(_visit_database, database, settings, facts)
        finally:
            database.close()

    return _Probe("database", database.display_url, True, run)


def _worker_reading(settings: Settings, facts: _DatabaseFacts, database: Reading) -> Reading:
    # Without a worker a write's command never becomes COMPLETED, unless OMS is set to
    # complete on commit; then the worker only keeps search and counts fresh.
    required = settings.oms.commands.complete_when == "projected"
    target = "projection_workers heartbeat"
    if database.state != "up":
        return Reading("worker", target, required, "down", None, "database unreachable")
    if facts.workers_alive == 0:
        return Reading("worker", target, required, "down", None, "no worker beat lately")
    detail = f"{facts.workers_alive} running: {facts.workers}"
    return Reading("worker", target, required, "up", None, detail)


def _redis_probe(url: str) -> _Probe:
    from spice_harvester.adapters.redis_cache import open_redis, ping_redis

    async def run() -> str:
        client = open_redis(url)
        try:
            await ping_redis(client)
        finally:
            await client.aclose()
        return "PONG"

    # Optional, as for the services: commands, caches and limits fall back without it.
    return _Probe("redis", _masked(url), False, run)


def _nats_probe(url: str, timeout: float) -> _Probe:
    async def run() -> str:
        import nats

        failures: list[Exception] = []

        async def remember(error: Exception) -> None:
            failures.append(error)  # reported as the reason, not printed as a traceback

        try:
            # One retry at most: nats-py reads max_reconnect_attempts=0 as "no limit".
            client = await nats.connect(
                url,
                name="spice-health",
                connect_timeout=timeout,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=remember,
            )
        except Exception as exc:  # nats raises several unrelated types for "not there"
            reason = failures[-1] if failures else exc
            raise ConnectionError(f"unreachable: {reason}") from exc
        try:
            info = await client.jetstream().account_info()
            return f"JetStream: {info.streams} stream(s)"
        finally:
            await client.close()

    # Required once set: the workers take their units from its stream.
    return _Probe("nats", _masked(url), True, run)


def _masked(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


async def check_everything(settings: Settings, timeout: float) -> Round:
    """Every check at once, each bounded by `timeout` seconds."""
    facts = _DatabaseFacts()
    async with httpx.AsyncClient(timeout=timeout) as client:
        probes = [_service_probe(client, name, settings.base_url(name)) for name in SERVICES]
        probes.append(_database_probe(settings, facts))
        if settings.redis_url is not None:
            probes.append(_redis_probe(settings.redis_url.get_secret_value()))
        if settings.nats_url is not None:
            probes.append(_nats_probe(settings.nats_url, timeout))
        readings = list(await asyncio.gather(*(_timed(probe, timeout) for probe in probes)))
    database = next(reading for reading in readings if reading.name == "database")
    readings.insert(len(SERVICES) + 1, _worker_reading(settings, facts, database))
    if settings.redis_url is None:
        readings.append(Reading("redis", "REDIS_URL unset", False, "absent", None, "not used"))
    if settings.nats_url is None:
        readings.append(Reading("nats", "NATS_URL unset", False, "absent", None, "not used"))
    return Round(datetime.now(UTC), readings, facts.maintenance)
