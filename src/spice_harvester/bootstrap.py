"""The composition root: builds each service's adapters from settings, and nothing else does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio.to_thread
import httpx2
from redis.asyncio import Redis

from spice_harvester.adapters.peer_http import open_peer_client, probe_peer_health
from spice_harvester.adapters.redis_cache import open_redis, ping_redis
from spice_harvester.application.health import Dependency, Probe
from spice_harvester.domain.errors import ConfigurationError
from spice_harvester.settings import ServiceName, Settings

if TYPE_CHECKING:
    from spice_harvester.adapters.funnel_client import FunnelClient
    from spice_harvester.adapters.oms_client import OmsClient
    from spice_harvester.adapters.ratelimit import TokenBuckets
    from spice_harvester.adapters.sql.database import SqlDatabase
    from spice_harvester.adapters.sql.pull_requests import SqlPullRequests
    from spice_harvester.application.commands import CommandRunner
    from spice_harvester.application.maintenance import MaintenanceGate, MaintenanceSwitch
    from spice_harvester.application.projections.recompute import RecomputeJobs
    from spice_harvester.ports.api_keys import ApiKeyStore
    from spice_harvester.ports.audit import AuditLog
    from spice_harvester.ports.commands import CommandStore
    from spice_harvester.ports.projections import CountsReader, SearchIndex
    from spice_harvester.ports.versioned_store import VersionedStore

# Funnel is stateless; BFF keeps its own tables (API keys, audit) beside the store.
NEEDS_DATABASE: dict[ServiceName, bool] = {"oms": True, "bff": True, "funnel": False}


def open_database(settings: Settings, service: ServiceName) -> SqlDatabase:
    """Connects and brings the schema to where this code needs it, or says why it cannot."""
    # Imported here so that Funnel, which has no database, never loads the SQL stack.
    from spice_harvester.adapters.sql.database import SqlDatabase

    return ready_database(SqlDatabase.from_settings(settings, service), settings)


def open_worker_database(settings: Settings) -> SqlDatabase:
    """The projection worker's connection pool (settings `worker.database`), schema ready."""
    from spice_harvester.adapters.sql.database import SqlDatabase

    database = SqlDatabase(
        settings.database_dsn, settings.worker.database, echo=settings.log_queries
    )
    return ready_database(database, settings)


def ready_database(database: SqlDatabase, settings: Settings) -> SqlDatabase:
    """Reaches the database and readies its schema; closes it if either fails."""
    try:
        database.ping()
        prepare_schema(database, settings)
    except Exception:
        database.close()
        raise
    return database


def prepare_schema(database: SqlDatabase, settings: Settings) -> list[str]:
    """Development migrates on start; production refuses to run against an old schema."""
    if not settings.is_production:
        return database.migrate()
    status = database.migration_status()
    if not status.up_to_date:
        raise ConfigurationError(
            f"database schema is at {status.current or 'nothing'} but this version needs "
            f"{status.head}: run `spice db migrate`"
        )
    return []


@dataclass
class Resources:
    """What one service process holds open while it runs."""

    settings: Settings
    service: ServiceName
    database: SqlDatabase | None = None
    redis: Redis | None = None
    peers: dict[str, httpx2.AsyncClient] = field(default_factory=dict)
    oms: OmsClient | None = None
    # BFF's client for Funnel; not a health dependency, since only schema suggestion needs it.
    funnel: FunnelClient | None = None
    store: VersionedStore | None = None
    commands: CommandRunner | None = None
    audit: AuditLog | None = None
    pull_requests: SqlPullRequests | None = None
    api_keys: ApiKeyStore | None = None
    rate_limits: TokenBuckets | None = None
    # The projections' read models (filled by `spice serve worker`), for OMS and BFF reads.
    search_index: SearchIndex | None = None
    class_counts: CountsReader | None = None
    # BFF's admin `recompute-projection`: jobs a projection worker runs.
    projection_jobs: RecomputeJobs | None = None
    # Maintenance mode: every service consults the gate; OMS and BFF can also turn the switch.
    maintenance: MaintenanceGate | None = None
    maintenance_switch: MaintenanceSwitch | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    async_closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def dependencies(self) -> list[Dependency]:
        found: list[Dependency] = []
        if NEEDS_DATABASE[self.service]:
            found.append(Dependency("database", True, self._probe_database))
        for name, client in self.peers.items():
            found.append(Dependency(name, True, _peer_probe(client, name)))
        found.append(Dependency("redis", False, self._probe_redis if self.redis else None))
        return found

    async def _probe_database(self) -> None:
        if self.database is None:
            raise ConnectionError("database is not open")
        await anyio.to_thread.run_sync(self.database.ping, abandon_on_cancel=True)

    async def _probe_redis(self) -> None:
        assert self.redis is not None
        await ping_redis(self.redis)

    async def aclose(self) -> None:
        for client in self.peers.values():
            await client.aclose()
        if self.funnel is not None:
            await self.funnel.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        for aclose in self.async_closers:
            await aclose()
        for close in self.closers:
            close()
        if self.database is not None:
            self.database.close()


def _peer_probe(client: httpx2.AsyncClient, name: str) -> Probe:
    async def probe() -> None:
        await probe_peer_health(client, name)

    return probe


def _wire_oms(resources: Resources) -> None:
    from spice_harvester.adapters.sql.audit import SqlAuditLog
    from spice_harvester.adapters.sql.commands import SqlCommandStore
    from spice_harvester.adapters.sql.pull_requests import SqlPullRequests
    from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
    from spice_harvester.application.commands import CommandRunner

    assert resources.database is not None
    resources.store = SqlVersionedStore(
        resources.database, protected_branches=resources.settings.protected_branches
    )
    statuses: CommandStore = SqlCommandStore(resources.database)
    if resources.settings.redis_url is not None:
        import redis

        from spice_harvester.adapters.redis_commands import RedisCommandStore

        client = redis.Redis.from_url(
            resources.settings.redis_url.get_secret_value(),
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
        )
        statuses = RedisCommandStore(client, statuses)
        resources.closers.append(client.close)
    progress = None
    if resources.settings.oms.commands.complete_when == "projected":
        from spice_harvester.adapters.sql.projections.progress import SqlProjectionProgress

        progress = SqlProjectionProgress(resources.database)
    resources.commands = CommandRunner(statuses, progress)
    resources.audit = SqlAuditLog(resources.database)
    resources.pull_requests = SqlPullRequests(resources.database)
    _wire_read_models(resources)


def _wire_read_models(resources: Resources) -> None:
    from spice_harvester.adapters.sql.projections.readers import SqlReadModels

    assert resources.database is not None
    readers = SqlReadModels(resources.database)
    resources.search_index = readers
    resources.class_counts = readers


def _wire_bff_security(resources: Resources) -> None:
    from spice_harvester.adapters.ratelimit import TokenBuckets
    from spice_harvester.adapters.sql.api_keys import SqlApiKeys
    from spice_harvester.adapters.sql.audit import SqlAuditLog
    from spice_harvester.adapters.sql.projections.recompute import SqlRecomputeJobs

    assert resources.database is not None
    resources.api_keys = SqlApiKeys(resources.database)
    resources.audit = SqlAuditLog(resources.database)
    resources.projection_jobs = SqlRecomputeJobs(resources.database)
    prefix = resources.settings.bff.rate_limiting.redis_prefix
    resources.rate_limits = TokenBuckets(resources.redis, prefix)
    _wire_read_models(resources)


def _wire_oms_client(resources: Resources) -> None:
    from spice_harvester.adapters.oms_client import OmsClient

    settings = resources.settings
    http = open_peer_client(settings.base_url("oms"), settings.request_timeout)
    resources.peers["oms"] = http
    resources.oms = OmsClient(http, max_in_flight=settings.bff.oms_max_in_flight)


def _wire_funnel_client(resources: Resources) -> None:
    from spice_harvester.adapters.funnel_client import FunnelClient

    settings = resources.settings
    http = open_peer_client(settings.base_url("funnel"), settings.request_timeout)
    resources.funnel = FunnelClient(http)


def _wire_maintenance(resources: Resources) -> None:
    """OMS and BFF read the switch from the shared database; Funnel, which has none, asks
    OMS for it."""
    from spice_harvester.application.maintenance import MaintenanceGate, MaintenanceSwitch

    if resources.database is not None:
        from spice_harvester.adapters.sql.audit import SqlAuditLog
        from spice_harvester.adapters.sql.maintenance import SqlMaintenance

        store = SqlMaintenance(resources.database)
        audit = resources.audit or SqlAuditLog(resources.database)
        resources.maintenance_switch = MaintenanceSwitch(store, audit)
        resources.maintenance = MaintenanceGate(store)
        return
    from spice_harvester.adapters.maintenance_http import OmsMaintenance

    settings = resources.settings
    remote = OmsMaintenance(open_peer_client(settings.base_url("oms"), settings.request_timeout))
    resources.async_closers.append(remote.aclose)
    resources.maintenance = MaintenanceGate(remote)


def open_resources(settings: Settings, service: ServiceName) -> Resources:
    resources = Resources(settings, service)
    if NEEDS_DATABASE[service]:
        resources.database = open_database(settings, service)
    if settings.redis_url is not None:
        resources.redis = open_redis(settings.redis_url.get_secret_value())
    if service == "oms":
        _wire_oms(resources)
    if service == "bff":
        _wire_bff_security(resources)
        _wire_oms_client(resources)
        _wire_funnel_client(resources)
    _wire_maintenance(resources)
    return resources
