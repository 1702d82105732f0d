"""The audit log in SQL: appends are serialised so the hash chain stays one line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Select, func, insert, select, text

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import audit_log
from spice_harvester.domain.versioning.hashing import canonical_json, sha256_hex
from spice_harvester.ports.audit import AuditCheck, AuditEntry, ChainProblem

GENESIS: Final = "0" * 64
_AUDIT_LOCK: Final = 0x53504943454155  # "SPICEAU": one appender at a time on PostgreSQL
_a = audit_log.c


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return sha256_hex(prev_hash + "\n" + canonical_json(fields))


def _fields(row: Any) -> dict[str, Any]:
    return {
        "at": row.at.isoformat(),
        "service": row.service,
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "client": row.client,
        "details": row.details,
    }


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        row.entry_id,
        row.at,
        row.service,
        row.actor,
        row.action,
        row.target,
        row.outcome,
        row.client,
        row.details,
        row.prev_hash,
        row.entry_hash,
    )


class SqlAuditLog:
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def append(
        self,
        *,
        service: str,
        actor: str,
        action: str,
        outcome: str,
        target: str | None = None,
        client: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        # Microseconds survive both engines, so the hash recomputed from a read row matches.
        at = datetime.now(UTC)
        fields = {
            "at": at.isoformat(),
            "service": service,
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "client": client,
            "details": details or {},
        }
        with self._db.transaction() as connection:
            prev = self._last_hash(connection)
            digest = entry_hash(prev, fields)
            created = connection.execute(
                insert(audit_log).values(
                    at=at,
                    service=service,
                    actor=actor,
                    action=action,
                    target=target,
                    outcome=outcome,
                    client=client,
                    details=details or {},
                    prev_hash=prev,
                    entry_hash=digest,
                )
            )
            key = created.inserted_primary_key
            assert key is not None
        return AuditEntry(
            int(key[0]),
            at,
            service,
            actor,
            action,
            target,
            outcome,
            client,
            details or {},
            prev,
            digest,
        )

    def _last_hash(self, connection: Connection) -> str:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK})
        last = connection.execute(
            select(_a.entry_hash).order_by(_a.entry_id.desc()).limit(1)
        ).scalar_one_or_none()
        return last or GENESIS

    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        query = select(audit_log).order_by(_a.entry_id.desc()).limit(limit).offset(offset)
        query = _filtered(query, actor, action, since, until)
        with self._db.read() as connection:
            return [_entry(row) for row in connection.execute(query)]

    def count(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        query = _filtered(select(func.count()).select_from(audit_log), actor, action, since, until)
        with self._db.read() as connection:
            return int(connection.execute(query).scalar_one())

    def verify(self) -> list[int]:
        return [problem.entry_id for problem in self.check().problems]

    def check(self) -> AuditCheck:
        """Walks the chain oldest first: each entry must hash to what it records, and record
        the hash of the entry before it."""
        problems: list[ChainProblem] = []
        prev, prev_id, count = GENESIS, None, 0
        with self._db.read() as connection:
            rows = connection.execute(
                select(audit_log).order_by(_a.entry_id), execution_options={"yield_per": 1000}
            )
            for row in rows:
                count += 1
                if entry_hash(row.prev_hash, _fields(row)) != row.entry_hash:
                    problems.append(ChainProblem(row.entry_id, "edited", prev_id))
                elif row.prev_hash != prev:
                    problems.append(ChainProblem(row.entry_id, "unlinked", prev_id))
                prev, prev_id = row.entry_hash, row.entry_id
        return AuditCheck(count, problems)


def _filtered(
    query: Select[Any],
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    if actor is not None:
        query = query.where(_a.actor == actor)
    if action is not None:
        query = query.where(_a.action == action)
    if since is not None:
        query = query.where(_a.at >= since)
    if until is not None:
        query = query.where(_a.at <= until)
    return query
