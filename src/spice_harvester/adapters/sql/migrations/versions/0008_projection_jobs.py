"""Recompute jobs (docs/design/0005, "Recompute (as built)").

`projection_jobs` holds each recompute an operator asked for, its status and progress. A
version rebuilt for part of the log records its scope on `projection_versions` (a database, a
branch of it, the log up to a checkpoint), so the worker applies only those units to it.

A promotion swaps the `version` of the scope's rows between the rebuilt and the serving
version. On SQLite the FTS5 index over `search_docs.text` was kept in step by a trigger on any
UPDATE; it now fires only when `text` changes, so relabelling rows costs the index nothing
(its content is the text, its rowid the row's, and neither moves).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_projection_jobs"
down_revision: str | None = "0007_projections"
branch_labels: str | None = None
depends_on: str | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# One active job per projection: a second one is refused while the first runs.
ACTIVE = sa.text("status IN ('queued', 'building', 'promoting')")


def _scope_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("scope_db_id", sa.BigInteger(), nullable=True),
        sa.Column("scope_branch", sa.String(100), nullable=True),
        sa.Column("until_tx_order", sa.BigInteger(), nullable=True),
        sa.Column("until_position", sa.BigInteger(), nullable=True),
    ]


_UPDATE_TRIGGER = """CREATE TRIGGER search_docs_au AFTER UPDATE {of}ON search_docs BEGIN
        INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.row_id, old.text);
        INSERT INTO search_fts(rowid, text) VALUES (new.row_id, new.text);
    END"""


def upgrade() -> None:
    for column in _scope_columns():
        op.add_column("projection_versions", column)
    op.create_table(
        "projection_jobs",
        sa.Column("job_id", sa.String(32), primary_key=True),
        sa.Column("projection", sa.String(64), nullable=False),
        # The version it builds, allocated when a worker starts it.
        sa.Column("version", sa.Integer(), nullable=True),
        # NULL: every database (db_id, db_name) or every branch.
        sa.Column("db_id", sa.BigInteger(), nullable=True),
        sa.Column("db_name", sa.String(64), nullable=True),
        sa.Column("branch", sa.String(100), nullable=True),
        sa.Column("from_ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("to_ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promote", sa.Boolean(), nullable=False),
        sa.Column("allow_delete_base_index", sa.Boolean(), nullable=False),
        # queued | building | promoting | done | failed | cancelled
        sa.Column("status", sa.String(16), nullable=False),
        # events done and in all, the new version's checkpoint, the target, where it started.
        sa.Column("progress", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(255), nullable=False),
        # A version whose leftovers (its rows if dropped, its claims and seqs) are still to
        # be deleted, a chunk at a time; NULL when nothing is left.
        sa.Column("purge_version", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_projection_jobs_status", "projection_jobs", ["status", "created_at"])
    op.create_index(
        "ux_projection_jobs_active",
        "projection_jobs",
        ["projection"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER search_docs_au")
        op.execute(_UPDATE_TRIGGER.format(of="OF text "))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER search_docs_au")
        op.execute(_UPDATE_TRIGGER.format(of=""))
    op.drop_index("ux_projection_jobs_active", "projection_jobs")
    op.drop_index("ix_projection_jobs_status", "projection_jobs")
    op.drop_table("projection_jobs")
    with op.batch_alter_table("projection_versions") as batch:
        for column in reversed(_scope_columns()):
            batch.drop_column(column.name)
