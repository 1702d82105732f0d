"""Pull requests in SQL: proposals to merge a branch, their reviews and their outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import branches, pull_requests
from spice_harvester.adapters.sql.versioned.admin import find_database
from spice_harvester.domain.errors import AlreadyExists, NotFound, ValidationFailed

OPEN, MERGED, CLOSED = "open", "merged", "closed"
REVIEW_STATES = ("approved", "changes_requested", "commented")
_p = pull_requests.c


def _as_dict(row: Any) -> dict[str, Any]:
    reviews = list(row.reviews)
    verdicts = [r["state"] for r in reviews if r["state"] != "commented"]
    return {
        "id": row.pr_id,
        "title": row.title,
        "description": row.description,
        "source_branch": row.source_branch,
        "target_branch": row.target_branch,
        "status": row.status,
        "author": row.author,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "merge_commit": row.merge_commit,
        "reviews": reviews,
        "review_state": verdicts[-1] if verdicts else "pending",
        "version": row.seq,
    }


class SqlPullRequests:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def open(
        self,
        db_name: str,
        *,
        source: str,
        target: str,
        title: str,
        description: str | None,
        author: str,
    ) -> dict[str, Any]:
        if source == target:
            raise ValidationFailed(
                "source and target must be different branches", field="source_branch"
            )
        with self._db.transaction() as connection:
            # Locking the database row numbers pull requests without gaps or races.
            db_id = find_database(connection, db_name, lock=True).db_id
            for field, name in (("source_branch", source), ("target_branch", target)):
                _require_branch(connection, db_id, name, field)
            duplicate = connection.execute(
                select(_p.pr_id).where(
                    _p.db_id == db_id,
                    _p.source_branch == source,
                    _p.target_branch == target,
                    _p.status == OPEN,
                )
            ).first()
            if duplicate is not None:
                raise AlreadyExists(
                    f"pull request #{duplicate.pr_id} already proposes {source} into {target}",
                    field="source_branch",
                )
            pr_id = (
                connection.execute(select(func.max(_p.pr_id)).where(_p.db_id == db_id)).scalar()
                or 0
            ) + 1
            now = datetime.now(UTC)
            connection.execute(
                insert(pull_requests).values(
                    db_id=db_id,
                    pr_id=pr_id,
                    title=title,
                    description=description,
                    source_branch=source,
                    target_branch=target,
                    status=OPEN,
                    author=author,
                    created_at=now,
                    updated_at=now,
                    merge_commit=None,
                    reviews=[],
                    seq=1,
                )
            )
            return _as_dict(self._row(connection, db_id, pr_id))

    def list(self, db_name: str, status: str | None = None) -> list[dict[str, Any]]:
        with self._db.read() as connection:
            db_id = find_database(connection, db_name).db_id
            query = select(pull_requests).where(_p.db_id == db_id).order_by(_p.pr_id.desc())
            if status is not None:
                query = query.where(_p.status == status)
            return [_as_dict(row) for row in connection.execute(query)]

    def get(self, db_name: str, pr_id: int) -> dict[str, Any]:
        with self._db.read() as connection:
            db_id = find_database(connection, db_name).db_id
            return _as_dict(self._row(connection, db_id, pr_id))

    def review(
        self, db_name: str, pr_id: int, *, reviewer: str, state: str, body: str | None
    ) -> dict[str, Any]:
        if state not in REVIEW_STATES:
            raise ValidationFailed(
                f"state must be one of {', '.join(REVIEW_STATES)}", field="state"
            )
        with self._db.transaction() as connection:
            db_id = find_database(connection, db_name).db_id
            row = self._row(connection, db_id, pr_id, lock=True)
            _require_open(row)
            review = {
                "reviewer": reviewer,
                "state": state,
                "body": body,
                "at": datetime.now(UTC).isoformat(),
            }
            self._set(connection, db_id, pr_id, reviews=[*row.reviews, review])
            return _as_dict(self._row(connection, db_id, pr_id))

    def finish(
        self, db_name: str, pr_id: int, *, status: str, merge_commit: str | None = None
    ) -> dict[str, Any]:
        with self._db.transaction() as connection:
            db_id = find_database(connection, db_name).db_id
            _require_open(self._row(connection, db_id, pr_id, lock=True))
            self._set(connection, db_id, pr_id, status=status, merge_commit=merge_commit)
            return _as_dict(self._row(connection, db_id, pr_id))

    @staticmethod
    def _set(connection: Connection, db_id: int, pr_id: int, **values: Any) -> None:
        connection.execute(
            update(pull_requests)
            .where(_p.db_id == db_id, _p.pr_id == pr_id)
            .values(updated_at=datetime.now(UTC), seq=_p.seq + 1, **values)
        )

    @staticmethod
    def _row(connection: Connection, db_id: int, pr_id: int, *, lock: bool = False) -> Any:
        query = select(pull_requests).where(_p.db_id == db_id, _p.pr_id == pr_id)
        row = connection.execute(query.with_for_update() if lock else query).one_or_none()
        if row is None:
            raise NotFound(f"pull request #{pr_id} does not exist", field="pr_id")
        return row


def _require_branch(connection: Connection, db_id: int, name: str, field: str) -> None:
    found = connection.execute(
        select(branches.c.name).where(branches.c.db_id == db_id, branches.c.name == name)
    ).first()
    if found is None:
        raise NotFound(f"branch '{name}' does not exist", field=field)


def _require_open(row: Any) -> None:
    if row.status != OPEN:
        raise ValidationFailed(f"pull request #{row.pr_id} is {row.status}", field="status")
