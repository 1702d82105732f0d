"""The typed settings object: every key the operations manual names, with defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

MIB = 1024 * 1024
ServiceName = Literal["oms", "bff", "funnel"]
SERVICES: tuple[ServiceName, ...] = ("oms", "bff", "funnel")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class _Section(BaseModel):
    # A misspelt key in a YAML file must stop start-up, not be ignored.
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ServerSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(8000, ge=1, le=65535)
    # None means "use WORKER_PROCESSES".
    workers: int | None = Field(None, ge=1, le=64)
    max_request_bytes: int = Field(16 * MIB, ge=1024)
    max_upload_bytes: int = Field(512 * MIB, ge=1024)


class DatabasePoolSettings(_Section):
    pool_size: int = Field(10, ge=1, le=1000)
    max_overflow: int = Field(20, ge=0, le=1000)
    pool_timeout: float = Field(30, gt=0, le=3600)


class ValidationSettings(_Section):
    max_property_count: int = Field(100, ge=1)
    max_relationship_depth: int = Field(5, ge=1)


class CachingSettings(_Section):
    enabled: bool = True
    ttl: int = Field(3600, ge=0)


class RateLimitSettings(_Section):
    enabled: bool = True
    default_limit: int = Field(1000, ge=1)
    window_seconds: int = Field(60, ge=1)
    # Names BFF's buckets in Redis; installations sharing one Redis each need their own.
    redis_prefix: str = Field("spice:ratelimit:", min_length=1, max_length=100)


class AuthenticationSettings(_Section):
    jwt_enabled: bool = False
    # Always enforced in production, whatever this says.
    api_key_enabled: bool = False


class ServiceSettings(_Section):
    server: ServerSettings = ServerSettings()
    database: DatabasePoolSettings = DatabasePoolSettings()


class CommandSettings(_Section):
    """When a write's command is COMPLETED, and how long `?wait=true` waits for it."""

    # projected: once every serving projection (search, counts, lineage) has applied the
    # commit, so a COMPLETED write is searchable; committed: as soon as the commit is durable
    # (for deployments that run no projection worker).
    complete_when: Literal["projected", "committed"] = "projected"
    wait_timeout_seconds: float = Field(30, gt=0, le=3600)


class OmsSettings(ServiceSettings):
    server: ServerSettings = ServerSettings(port=8000)
    validation: ValidationSettings = ValidationSettings()
    caching: CachingSettings = CachingSettings()
    commands: CommandSettings = CommandSettings()


class BffSettings(ServiceSettings):
    server: ServerSettings = ServerSettings(port=8002)
    rate_limiting: RateLimitSettings = RateLimitSettings()
    authentication: AuthenticationSettings = AuthenticationSettings()
    # Requests to OMS in flight at once per process; more wait for a slot.
    oms_max_in_flight: int = Field(100, ge=1, le=10_000)
    # How long a process keeps a database's labels; a schema write through it drops them at once.
    labels_ttl_seconds: float = Field(5, ge=0, le=3600)


class FunnelSettings(ServiceSettings):
    server: ServerSettings = ServerSettings(port=8003)
    # Where Google Sheets links are exported from as CSV: Google itself, or a proxy in a
    # closed network. A setting, never a request field, so clients cannot aim Funnel at
    # hosts of their choosing.
    google_export_base: str = "https://docs.google.com"

    @field_validator("google_export_base")
    @classmethod
    def _is_http_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class NatsDeliverySettings(_Section):
    """JetStream names and limits for the projections' distributed delivery (0005)."""

    stream: str = Field("SPICE_UNITS", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    subject_prefix: str = Field("spice.units", pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
    durable: str = Field("spice-projections", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # A republished unit within this window is dropped by the stream (Nats-Msg-Id); one
    # later is delivered again and found already applied by its claims.
    duplicate_window_seconds: float = Field(120, gt=0, le=86_400)
    # How long the stream keeps units (every worker has read them long before).
    max_age_seconds: float = Field(7 * 86_400, gt=0)
    # A delivered unit not acknowledged in this time is delivered again.
    ack_wait_seconds: float = Field(60, gt=0, le=3600)
    # Units fetched at once by a worker.
    fetch_batch: int = Field(64, ge=1, le=10_000)


class WorkerSettings(_Section):
    """`spice serve worker`: the projections' embedded delivery (docs/design/0005)."""

    database: DatabasePoolSettings = DatabasePoolSettings(pool_size=2, max_overflow=2)
    # Events read from the log at once per projection (a commit is never split).
    batch_size: int = Field(500, ge=1, le=100_000)
    # SQLite has no notifications: how often an idle worker looks for new events.
    poll_seconds: float = Field(0.5, gt=0, le=60)
    # PostgreSQL wakes the worker with NOTIFY; it looks anyway after this long idle.
    idle_seconds: float = Field(5, gt=0, le=3600)
    # A unit that fails this many times is parked in dead_letters (`spice dlq`).
    max_attempts: int = Field(5, ge=1, le=100)
    # Back-off between attempts: base, 2 x base, 4 x base ... up to the maximum.
    retry_base_seconds: float = Field(0.5, gt=0, le=3600)
    retry_max_seconds: float = Field(60, gt=0, le=86_400)
    # How long a claim is held (a unit is applied in one transaction, so only a claim left
    # by another kind of consumer can outlive it).
    lease_seconds: float = Field(300, gt=0, le=86_400)
    # How often the worker records that it is alive (`spice projection status`).
    heartbeat_seconds: float = Field(5, gt=0, le=3600)
    # Distributed delivery, when NATS_URL is set: an outbox relay publishes each unit of the
    # log to a JetStream stream and workers share one durable pull consumer.
    nats: NatsDeliverySettings = NatsDeliverySettings()


CommaList = Annotated[list[str], NoDecode]
PLACEHOLDER_SECRETS = {"your-secret-key-here", "change-me", "changeme", "secret"}


class Settings(BaseSettings):
    """All settings, read once (environment > .env > YAML files > defaults)."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        validate_default=True,
    )

    # Application
    app_name: str = "spice-harvester"
    app_env: Literal["development", "production"] = "development"
    debug: bool = False
    log_level: LogLevel = "INFO"
    log_queries: bool = False
    log_dir: Path = Path("logs")
    data_dir: Path = Path("data")

    # Security
    secret_key: SecretStr | None = None
    allowed_hosts: CommaList = ["*"]
    cors_origins: CommaList = []
    bff_admin_token: SecretStr | None = None
    enable_oms_rollback: bool = False
    protected_branches: CommaList = ["main"]

    # Storage and infrastructure
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    nats_url: str | None = None

    # The manual's graph-store connection. Our store lives in DATABASE_URL, so these are
    # accepted and reported by `spice config check`, but change nothing.
    terminus_server_url: str | None = None
    terminus_user: str | None = None
    terminus_account: str | None = None
    terminus_key: SecretStr | None = None

    # Service URLs; unset, each follows its service's port on localhost.
    oms_base_url: str | None = None
    bff_base_url: str | None = None
    funnel_base_url: str | None = None

    # Performance
    worker_processes: int = Field(1, ge=1, le=64)
    worker_connections: int = Field(1000, ge=1)
    request_timeout: float = Field(30, gt=0, le=3600)

    # Per service (config/<service>.yml)
    oms: OmsSettings = OmsSettings()
    bff: BffSettings = BffSettings()
    funnel: FunnelSettings = FunnelSettings()
    worker: WorkerSettings = WorkerSettings()

    @field_validator("allowed_hosts", "cors_origins", "protected_branches", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("oms_base_url", "bff_base_url", "funnel_base_url", "terminus_server_url")
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("database_url")
    @classmethod
    def _is_supported_database(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        scheme = value.get_secret_value().split(":", 1)[0]
        if scheme not in {"sqlite", "postgresql", "postgres", "postgresql+psycopg"}:
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _is_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("nats_url")
    @classmethod
    def _is_nats_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("nats://", "tls://", "ws://", "wss://")):
            raise ValueError("must start with nats://, tls://, ws:// or wss://")
        return value

    @model_validator(mode="after")
    def _derive_service_urls(self) -> Settings:
        for name in SERVICES:
            if getattr(self, f"{name}_base_url") is None:
                port = self.service(name).server.port
                setattr(self, f"{name}_base_url", f"http://localhost:{port}")
        return self

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.app_env == "production":
            secret = self.secret_key.get_secret_value() if self.secret_key else ""
            if len(secret) < 32 or secret in PLACEHOLDER_SECRETS:
                raise ValueError(
                    "SECRET_KEY must be set to at least 32 random characters in production"
                )
        return self

    # -- derived values ---------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def effective_log_level(self) -> str:
        return "DEBUG" if self.debug else self.log_level

    @property
    def database_dsn(self) -> str:
        """The database URL, with the embedded SQLite file as the default."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'spice.sqlite3').resolve()}"

    def base_url(self, name: ServiceName) -> str:
        url: str = getattr(self, f"{name}_base_url")
        return url

    def service(self, name: ServiceName) -> ServiceSettings:
        section: ServiceSettings = getattr(self, name)
        return section

    def workers_for(self, name: ServiceName) -> int:
        return self.service(name).server.workers or self.worker_processes

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        from spice_harvester.settings.sources import (
            PortAliasSource,
            YamlFilesSource,
            dotenv_environ,
        )

        config_dir = Path(os.environ.get("SPICE_CONFIG_DIR", "config"))
        return (
            init_settings,
            env_settings,
            PortAliasSource(settings_cls, dotenv_environ()),
            dotenv_settings,
            YamlFilesSource(settings_cls, config_dir),
        )
