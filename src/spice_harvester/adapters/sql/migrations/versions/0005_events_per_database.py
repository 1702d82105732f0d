"""Event ids are unique per database, not per physical database.

A clone, or commits pulled from another database, carry their original event ids (a commit
id hashes them), so the same event id may now live in several logical databases of one
physical database. Consumers key what they have processed by `StoredEvent.key`
(`<db_id>:<event_id>`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_events_per_database"
down_revision: str | None = "0004_pull_requests"
branch_labels: str | None = None
depends_on: str | None = None

# The columns of `events` in table order (SQLite copies them positionally).
_SQLITE_EVENTS = """
CREATE TABLE events_new (
    position INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event_id VARCHAR(255) NOT NULL,
    db_id BIGINT NOT NULL,
    db_name VARCHAR(64) NOT NULL,
    commit_id VARCHAR(64),
    branch VARCHAR(100),
    aggregate_type VARCHAR(32) NOT NULL,
    aggregate_id VARCHAR(400) NOT NULL,
    class_id VARCHAR(100),
    seq INTEGER NOT NULL,
    event_type VARCHAR(64) NOT NULL,
    payload JSON NOT NULL,
    payload_hash VARCHAR(64) NOT NULL,
    actor VARCHAR(255) NOT NULL,
    occurred_at DATETIME NOT NULL
)
"""
_COPY = """
INSERT INTO events_new (position, event_id, db_id, db_name, commit_id, branch, aggregate_type,
    aggregate_id, class_id, seq, event_type, payload, payload_hash, actor, occurred_at)
SELECT position, event_id, db_id, db_name, commit_id, branch, aggregate_type,
    aggregate_id, class_id, seq, event_type, payload, payload_hash, actor, occurred_at
FROM events
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for constraint in sa.inspect(bind).get_unique_constraints("events"):
            if constraint["column_names"] == ["event_id"] and constraint["name"]:
                op.drop_constraint(constraint["name"], "events", type_="unique")
    else:
        # SQLite cannot drop a column's inline UNIQUE: copy into a table without it.
        op.execute(_SQLITE_EVENTS)
        op.execute(_COPY)
        op.execute("DROP TABLE events")
        op.execute("ALTER TABLE events_new RENAME TO events")
        op.create_index("ix_events_commit", "events", ["db_id", "commit_id"])
    op.create_index("ux_events_db_event", "events", ["db_id", "event_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_events_db_event", "events")
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint("events_event_id_key", "events", ["event_id"])
    else:
        op.create_index("ux_events_event_id", "events", ["event_id"], unique=True)
