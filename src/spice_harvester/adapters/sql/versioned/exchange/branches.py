"""The branch records of an import: collected, checked against the commits, then written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from spice_harvester.adapters.sql.tables import branches, commits
from spice_harvester.adapters.sql.versioned import admin
from spice_harvester.adapters.sql.versioned.exchange import limits
from spice_harvester.adapters.sql.versioned.exchange.records import BranchRecord
from spice_harvester.domain.errors import MalformedInput, ValidationFailed

_c = commits.c


class Branches:
    """Branch rows wait until every commit is written: a branch may name any of them."""

    def __init__(self, db_id: int) -> None:
        self.db_id = db_id
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, record: BranchRecord) -> None:
        if record.name in self.rows:
            raise MalformedInput(f"branch '{record.name}' appears twice")
        self.rows[record.name] = {
            "db_id": self.db_id,
            "name": record.name,
            "head_commit": record.head,
            "from_branch": record.from_branch,
            "fork_commit": record.fork_commit,
            "protected": record.protected,
            "description": record.description,
            "seq": record.seq,
            "created_at": record.created_at,
            "created_by": record.created_by,
        }

    def check(self, connection: Connection) -> None:
        """`main` is among the branches, and every commit they name is in the database
        (so every commit must have been written)."""
        if admin.MAIN not in self.rows:
            raise ValidationFailed(f"a history needs its '{admin.MAIN}' branch")
        named = {row["head_commit"] for row in self.rows.values()}
        named |= {row["fork_commit"] for row in self.rows.values() if row["fork_commit"]}
        wanted = sorted(named)
        known: set[str] = set()
        # One IN list per chunk rather than reads.commit_exists per commit: a history may
        # have many branches.
        for start in range(0, len(wanted), limits.CHUNK):
            rows = connection.execute(
                select(_c.commit_id).where(
                    _c.db_id == self.db_id, _c.commit_id.in_(wanted[start : start + limits.CHUNK])
                )
            )
            known.update(row.commit_id for row in rows)
        for row in self.rows.values():
            for column in ("head_commit", "fork_commit"):
                if row[column] and row[column] not in known:
                    raise ValidationFailed(
                        f"branch '{row['name']}': commit {row[column]} is not in the file"
                    )

    def write(self, connection: Connection) -> None:
        connection.execute(insert(branches), list(self.rows.values()))
