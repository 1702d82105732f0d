"""SQLAlchemy Core descriptions of the projection tables (migrations 0007 and 0008), for
queries."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Integer, String, Table, Text
from sqlalchemy.dialects import postgresql

from spice_harvester.adapters.sql.tables import UtcDateTime, metadata

_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")

projection_versions = Table(
    "projection_versions",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("promoted_at", UtcDateTime),
    # A version rebuilt by a recompute job follows only its scope (0008): one database, one
    # branch of it, and the log up to (until_tx_order, until_position); NULL is "all".
    Column("scope_db_id", BigInteger),
    Column("scope_branch", String(100)),
    Column("until_tx_order", BigInteger),
    Column("until_position", BigInteger),
)

projection_checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("tx_order", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

projection_state = Table(
    "projection_state",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("db_id", BigInteger, primary_key=True),
    Column("branch", String(100), primary_key=True),
    Column("commit_id", String(64), nullable=False),
    Column("tx_order", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("letter_id", BigInteger, primary_key=True),
    Column("projection", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("db_id", BigInteger, nullable=False),
    Column("db_name", String(64), nullable=False),
    Column("branch", String(100)),
    Column("commit_id", String(64)),
    Column("event_type", String(64), nullable=False),
    Column("event_ids", _JSON, nullable=False),
    Column("tx_order", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("parked_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolution", String(32)),
)

projection_workers = Table(
    "projection_workers",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("beat_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime),
)

# The read models. `search_docs` also has `tsv` on PostgreSQL (generated, never written).
search_docs = Table(
    "search_docs",
    metadata,
    Column("row_id", BigInteger, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("db_id", BigInteger, nullable=False),
    Column("branch", String(100), nullable=False),
    Column("class_id", String(100), nullable=False),
    Column("doc_id", String(255), nullable=False),
    Column("text", Text, nullable=False),
)

class_counts = Table(
    "class_counts",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("db_id", BigInteger, primary_key=True),
    Column("branch", String(100), primary_key=True),
    Column("class_id", String(100), primary_key=True),
    Column("count", Integer, nullable=False),
)

doc_lineage = Table(
    "doc_lineage",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("db_id", BigInteger, primary_key=True),
    Column("branch", String(100), primary_key=True),
    Column("doc_key", String(400), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("commit_id", String(64), nullable=False),
    Column("command_id", String(255)),
)

projection_jobs = Table(
    "projection_jobs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("projection", String(64), nullable=False),
    Column("version", Integer),
    Column("db_id", BigInteger),
    Column("db_name", String(64)),
    Column("branch", String(100)),
    Column("from_ts", UtcDateTime),
    Column("to_ts", UtcDateTime),
    Column("promote", Boolean, nullable=False),
    Column("allow_delete_base_index", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", _JSON, nullable=False),
    Column("error", Text),
    Column("requested_by", String(255), nullable=False),
    Column("purge_version", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
)
