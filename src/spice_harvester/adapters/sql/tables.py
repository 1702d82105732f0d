"""SQLAlchemy Core descriptions of the tables the migrations create, for building queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

# Queries only: the schema itself is owned by the migrations, never by create_all().
metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    PostgreSQL keeps the offset (timestamptz) but SQLite stores naive text, so the
    value is normalised to UTC on the way in and labelled UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


spice_meta = Table(
    "spice_meta",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)


# The versioned store (migration 0002). Column types mirror the migration; `data` and
# `payload` are JSON (JSONB on PostgreSQL).
_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")

spice_databases = Table(
    "spice_databases",
    metadata,
    Column("db_id", BigInteger, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("description", Text),
    Column("seq", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
)

timelines = Table(
    "timelines",
    metadata,
    Column("timeline_id", BigInteger, primary_key=True),
    Column("db_id", BigInteger, nullable=False),
    Column("parent_timeline_id", BigInteger),
    Column("fork_pos", Integer),
    Column("depth", Integer, nullable=False),
    Column("tip_pos", Integer, nullable=False),
    Column("owner_branch", String(100)),
)

commits = Table(
    "commits",
    metadata,
    Column("db_id", BigInteger, primary_key=True),
    Column("commit_id", String(64), primary_key=True),
    Column("timeline_id", BigInteger, nullable=False),
    Column("pos", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("parent_ids", _JSON, nullable=False),
    Column("author", String(255), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("command_id", String(255)),
    Column("request_hash", String(64)),
    Column("state_hash", String(64), nullable=False),
    Column("doc_count", Integer, nullable=False),
)

commit_parents = Table(
    "commit_parents",
    metadata,
    Column("db_id", BigInteger, primary_key=True),
    Column("commit_id", String(64), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("parent_id", String(64), nullable=False),
    Column("parent_timeline_id", BigInteger, nullable=False),
    Column("parent_pos", Integer, nullable=False),
    Column("child_timeline_id", BigInteger, nullable=False),
    Column("child_pos", Integer, nullable=False),
)

branches = Table(
    "branches",
    metadata,
    Column("db_id", BigInteger, primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("head_commit", String(64), nullable=False),
    Column("from_branch", String(100)),
    Column("fork_commit", String(64)),
    Column("protected", Boolean, nullable=False),
    Column("description", Text),
    Column("seq", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
)

doc_versions = Table(
    "doc_versions",
    metadata,
    Column("row_id", BigInteger, primary_key=True),
    Column("db_id", BigInteger, nullable=False),
    Column("timeline_id", BigInteger, nullable=False),
    Column("pos", Integer, nullable=False),
    Column("doc_key", String(400), nullable=False),
    Column("doc_type", String(16), nullable=False),
    Column("class_id", String(100)),
    Column("doc_id", String(255), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("data", _JSON),
    Column("doc_hash", String(64)),
    Column("commit_id", String(64), nullable=False),
    Column("valid_to", Integer),
)

events = Table(
    "events",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("event_id", String(255), nullable=False),
    Column("db_id", BigInteger, nullable=False),
    Column("db_name", String(64), nullable=False),
    Column("commit_id", String(64)),
    Column("branch", String(100)),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(400), nullable=False),
    Column("class_id", String(100)),
    Column("seq", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", _JSON, nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    # PostgreSQL only (xid8, set by the server); see migration 0002.
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("handler", String(200), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("owner", String(200)),
    Column("lease_until", Float),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("retry_at", Float),
    Column("updated_at", Float, nullable=False),
)

aggregate_versions = Table(
    "aggregate_versions",
    metadata,
    Column("handler", String(200), primary_key=True),
    Column("aggregate_key", String(600), primary_key=True),
    Column("last_seq", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

commands = Table(
    "commands",
    metadata,
    Column("command_id", String(255), primary_key=True),
    Column("db_name", String(64)),
    Column("kind", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("progress", _JSON),
    Column("result", _JSON),
    Column("error", _JSON),
    Column("history", _JSON, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("entry_id", BigInteger, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("service", String(32), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(400)),
    Column("outcome", String(32), nullable=False),
    Column("client", String(100)),
    Column("details", _JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

pull_requests = Table(
    "pull_requests",
    metadata,
    Column("db_id", BigInteger, primary_key=True),
    Column("pr_id", Integer, primary_key=True),
    Column("title", String(500), nullable=False),
    Column("description", Text),
    Column("source_branch", String(100), nullable=False),
    Column("target_branch", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("author", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("merge_commit", String(64)),
    Column("reviews", _JSON, nullable=False),
    Column("seq", Integer, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column(
        "databases",
        JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql"),
    ),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
)

# Maintenance mode (migration 0009): one row, id 1, switched off when created.
maintenance_mode = Table(
    "maintenance_mode",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("enabled", Boolean, nullable=False),
    Column("message", Text),
    Column("retry_after", Integer, nullable=False),
    Column("changed_at", UtcDateTime),
    Column("changed_by", String(255)),
)
