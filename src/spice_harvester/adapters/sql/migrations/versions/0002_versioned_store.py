"""The versioned store: databases, timelines, commits, branches, documents, events, registry."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_versioned_store"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "spice_databases",
        sa.Column("db_id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "timelines",
        sa.Column("timeline_id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("db_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_timeline_id", sa.BigInteger(), nullable=True),
        sa.Column("fork_pos", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("tip_pos", sa.Integer(), nullable=False),
        # The branch that opened the timeline: only it appends there, so a branch's first
        # commit never takes over the end of its base's timeline (which would push the base
        # onto a deeper chain).
        sa.Column("owner_branch", sa.String(100), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_timelines_db", "timelines", ["db_id"])
    op.create_table(
        "commits",
        sa.Column("db_id", sa.BigInteger(), primary_key=True),
        sa.Column("commit_id", sa.String(64), primary_key=True),
        sa.Column("timeline_id", sa.BigInteger(), nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        # Ordered parent ids, so reading a commit is one row; commit_parents indexes merges.
        sa.Column("parent_ids", JSON, nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("command_id", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("doc_count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("timeline_id", "pos", name="uq_commits_timeline_pos"),
    )
    op.create_index(
        "ix_commits_command",
        "commits",
        ["db_id", "command_id"],
        unique=True,
        sqlite_where=sa.text("command_id IS NOT NULL"),
        postgresql_where=sa.text("command_id IS NOT NULL"),
    )
    op.create_table(
        "commit_parents",
        sa.Column("db_id", sa.BigInteger(), primary_key=True),
        sa.Column("commit_id", sa.String(64), primary_key=True),
        sa.Column("idx", sa.Integer(), primary_key=True),
        sa.Column("parent_id", sa.String(64), nullable=False),
        sa.Column("parent_timeline_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_pos", sa.Integer(), nullable=False),
        sa.Column("child_timeline_id", sa.BigInteger(), nullable=False),
        sa.Column("child_pos", sa.Integer(), nullable=False),
    )
    # Merge commits by where they sit, for the ancestry frontier walk.
    op.create_index(
        "ix_commit_parents_merges", "commit_parents", ["child_timeline_id", "child_pos"]
    )
    op.create_table(
        "branches",
        sa.Column("db_id", sa.BigInteger(), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("head_commit", sa.String(64), nullable=False),
        sa.Column("from_branch", sa.String(100), nullable=True),
        sa.Column("fork_commit", sa.String(64), nullable=True),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
    )
    op.create_table(
        "doc_versions",
        sa.Column("row_id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("db_id", sa.BigInteger(), nullable=False),
        sa.Column("timeline_id", sa.BigInteger(), nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("doc_key", sa.String(400), nullable=False),
        sa.Column("doc_type", sa.String(16), nullable=False),
        sa.Column("class_id", sa.String(100), nullable=True),
        sa.Column("doc_id", sa.String(255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("data", JSON, nullable=True),
        sa.Column("doc_hash", sa.String(64), nullable=True),
        sa.Column("commit_id", sa.String(64), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_doc_point", "doc_versions", ["doc_key", "timeline_id", "pos"])
    op.create_index(
        "ix_doc_list", "doc_versions", ["timeline_id", "doc_type", "class_id", "doc_key"]
    )
    op.create_index("ix_doc_changes", "doc_versions", ["timeline_id", "pos"])
    op.create_index("ix_doc_by_id", "doc_versions", ["db_id", "doc_id"])
    op.create_table(
        "events",
        sa.Column("position", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(255), nullable=False, unique=True),
        sa.Column("db_id", sa.BigInteger(), nullable=False),
        sa.Column("db_name", sa.String(64), nullable=False),
        sa.Column("commit_id", sa.String(64), nullable=True),
        sa.Column("branch", sa.String(100), nullable=True),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(400), nullable=False),
        sa.Column("class_id", sa.String(100), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_commit", "events", ["db_id", "commit_id"])
    if op.get_bind().dialect.name == "postgresql":
        # The writer's transaction id: readers order by (txid, position) and stay below the
        # oldest running transaction, so a late commit never lands behind a checkpoint.
        op.execute("ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()")
        op.create_index("ix_events_txid", "events", ["txid", "position"])
    op.create_table(
        "processed_events",
        sa.Column("handler", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("retry_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_processed_status", "processed_events", ["handler", "status"])
    op.create_table(
        "aggregate_versions",
        sa.Column("handler", sa.String(200), primary_key=True),
        sa.Column("aggregate_key", sa.String(600), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "aggregate_versions",
        "processed_events",
        "events",
        "doc_versions",
        "branches",
        "commit_parents",
        "commits",
        "timelines",
        "spice_databases",
    ):
        op.drop_table(table)
