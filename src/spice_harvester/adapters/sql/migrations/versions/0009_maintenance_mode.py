"""Maintenance mode: one row every service process reads (at most once a second each).

The row exists from the start (switched off), so turning the switch is always an UPDATE and
two operators at once cannot both insert it. The CHECK keeps it a single row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_maintenance_mode"
down_revision: str | None = "0008_projection_jobs"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    table = op.create_table(
        "maintenance_mode",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("retry_after", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_by", sa.String(255), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_maintenance_mode_single_row"),
    )
    op.bulk_insert(table, [{"id": 1, "enabled": False, "message": None, "retry_after": 300}])


def downgrade() -> None:
    op.drop_table("maintenance_mode")
