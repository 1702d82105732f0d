"""Projections (docs/design/0005): read models beside the store, their state and dead letters.

Read models are keyed by (projection version, db_id, branch). On SQLite `search_fts` is an
FTS5 index over `search_docs.text` (external content, kept in step by triggers, trigram
tokens so a term is found inside longer words); on PostgreSQL `search_docs` carries a
generated tsvector with a GIN index and a pg_trgm GIN index on the text. Every writer of
`events` on PostgreSQL wakes the workers: a statement trigger NOTIFYs `spice_events` inside
the writing transaction, so the wake-up is delivered exactly when the events become visible.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_projections"
down_revision: str | None = "0006_api_keys"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The projections this release ships, each serving its first version from the start.
SHIPPED = ("search", "counts", "lineage")

_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "text, content='search_docs', content_rowid='row_id', tokenize='trigram')"
)
# The FTS5 documentation's pattern for an external-content table.
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
        INSERT INTO search_fts(rowid, text) VALUES (new.row_id, new.text);
    END""",
    """CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.row_id, old.text);
    END""",
    """CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.row_id, old.text);
        INSERT INTO search_fts(rowid, text) VALUES (new.row_id, new.text);
    END""",
)
_PG_NOTIFY = (
    """CREATE FUNCTION spice_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('spice_events', '');
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER events_notify AFTER INSERT ON events
        FOR EACH STATEMENT EXECUTE FUNCTION spice_notify_events()""",
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _bookkeeping()
    _search(postgres)
    op.create_table(
        "class_counts",
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("db_id", sa.BigInteger(), primary_key=True),
        sa.Column("branch", sa.String(100), primary_key=True),
        sa.Column("class_id", sa.String(100), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "doc_lineage",
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("db_id", sa.BigInteger(), primary_key=True),
        sa.Column("branch", sa.String(100), primary_key=True),
        sa.Column("doc_key", sa.String(400), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("commit_id", sa.String(64), nullable=False),
        sa.Column("command_id", sa.String(255), nullable=True),
    )
    _seed()
    if postgres:
        for statement in _PG_NOTIFY:
            op.execute(statement)


def _bookkeeping() -> None:
    op.create_table(
        "projection_versions",
        sa.Column("projection", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        # building | serving | retired; exactly one serving version per projection.
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "projection_checkpoints",
        sa.Column("projection", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        # The LogCheckpoint of the last event handled (applied, skipped or parked).
        sa.Column("tx_order", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "projection_state",
        sa.Column("projection", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("db_id", sa.BigInteger(), primary_key=True),
        sa.Column("branch", sa.String(100), primary_key=True),
        # The commit whose state the branch's read model holds.
        sa.Column("commit_id", sa.String(64), nullable=False),
        # The log checkpoint of the last event that changed it: a parked event behind it
        # has been covered by a later one.
        sa.Column("tx_order", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("letter_id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("projection", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("db_id", sa.BigInteger(), nullable=False),
        sa.Column("db_name", sa.String(64), nullable=False),
        sa.Column("branch", sa.String(100), nullable=True),
        sa.Column("commit_id", sa.String(64), nullable=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        # The events parked together (one commit's document events, or one branch event).
        sa.Column("event_ids", JSON, nullable=False),
        sa.Column("tx_order", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        # parked | resolved
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution", sa.String(32), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_dead_letters_status", "dead_letters", ["status", "letter_id"])
    op.create_table(
        "projection_workers",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
    )


def _search(postgres: bool) -> None:
    columns: list[sa.Column[object]] = [
        sa.Column("row_id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("db_id", sa.BigInteger(), nullable=False),
        sa.Column("branch", sa.String(100), nullable=False),
        sa.Column("class_id", sa.String(100), nullable=False),
        sa.Column("doc_id", sa.String(255), nullable=False),
        # The instance's id and string values, folded (NFKC, case folded), one per line.
        sa.Column("text", sa.Text(), nullable=False),
    ]
    if postgres:
        columns.append(
            sa.Column(
                "tsv",
                postgresql.TSVECTOR(),
                sa.Computed("to_tsvector('simple', text)", persisted=True),
                nullable=False,
            )
        )
    op.create_table("search_docs", *columns, sqlite_autoincrement=True)
    op.create_index(
        "ux_search_docs_doc",
        "search_docs",
        ["version", "db_id", "branch", "class_id", "doc_id"],
        unique=True,
    )
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index("ix_search_docs_tsv", "search_docs", ["tsv"], postgresql_using="gin")
        op.execute("CREATE INDEX ix_search_docs_trgm ON search_docs USING gin (text gin_trgm_ops)")
        return
    op.execute(_SQLITE_FTS)
    for trigger in _SQLITE_TRIGGERS:
        op.execute(trigger)


def _seed() -> None:
    now = datetime.now(UTC)
    versions = sa.table(
        "projection_versions",
        sa.column("projection", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("promoted_at", sa.DateTime(timezone=True)),
    )
    checkpoints = sa.table(
        "projection_checkpoints",
        sa.column("projection", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("tx_order", sa.BigInteger()),
        sa.column("position", sa.BigInteger()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        versions,
        [
            {"projection": p, "version": 1, "status": "serving", "created_at": now}
            | {"promoted_at": now}
            for p in SHIPPED
        ],
    )
    op.bulk_insert(
        checkpoints,
        [
            {"projection": p, "version": 1, "tx_order": 0, "position": 0, "updated_at": now}
            for p in SHIPPED
        ],
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_notify ON events")
        op.execute("DROP FUNCTION IF EXISTS spice_notify_events()")
    else:
        for trigger in ("search_docs_ai", "search_docs_ad", "search_docs_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    for table in (
        "doc_lineage",
        "class_counts",
        "search_docs",
        "projection_workers",
        "dead_letters",
        "projection_state",
        "projection_checkpoints",
        "projection_versions",
    ):
        op.drop_table(table)
