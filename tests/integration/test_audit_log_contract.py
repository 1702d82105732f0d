"""The hash-chained audit log on every engine: filters, counts, and every kind of tampering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, update

from spice_harvester.adapters.sql.audit import SqlAuditLog, entry_hash
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import audit_log
from spice_harvester.ports.audit import AuditLog, ChainProblem


@pytest.fixture
def audit(migrated: SqlDatabase) -> SqlAuditLog:
    log = SqlAuditLog(migrated)
    for actor, action in (("ops", "admin.a"), ("dev", "admin.b"), ("ops", "admin.b")):
        log.append(service="bff", actor=actor, action=action, outcome="allowed", client="::1")
    return log


def _change(db: SqlDatabase, entry_id: int, **values: object) -> None:
    with db.transaction() as connection:
        connection.execute(update(audit_log).where(audit_log.c.entry_id == entry_id).values(values))


def test_the_adapter_satisfies_the_port(audit: SqlAuditLog) -> None:
    port: AuditLog = audit
    assert port is audit


def test_each_entry_records_the_hash_of_the_one_before(audit: SqlAuditLog) -> None:
    oldest, middle, newest = reversed(audit.query())
    assert oldest.prev_hash == "0" * 64
    assert middle.prev_hash == oldest.entry_hash
    assert newest.prev_hash == middle.entry_hash
    check = audit.check()
    assert (check.count, check.holds, audit.verify()) == (3, True, [])


def test_entries_filter_and_count_by_actor_action_and_time(audit: SqlAuditLog) -> None:
    assert [entry.action for entry in audit.query(actor="ops")] == ["admin.b", "admin.a"]
    assert audit.count(actor="ops") == 2
    assert audit.count(action="admin.b") == 2
    assert audit.count(actor="ops", action="admin.b") == 1
    now = datetime.now(UTC)
    assert audit.count(since=now + timedelta(minutes=1)) == 0
    assert audit.count(until=now + timedelta(minutes=1)) == 3
    assert [entry.actor for entry in audit.query(limit=1, offset=1)] == ["dev"]


def test_an_edited_entry_is_named(audit: SqlAuditLog, migrated: SqlDatabase) -> None:
    _change(migrated, 2, outcome="refused")
    assert audit.check().problems == [ChainProblem(2, "edited", 1)]
    assert audit.verify() == [2]


def test_a_removed_entry_is_caught_at_the_one_after_it(
    audit: SqlAuditLog, migrated: SqlDatabase
) -> None:
    with migrated.transaction() as connection:
        connection.execute(delete(audit_log).where(audit_log.c.entry_id == 2))
    check = audit.check()
    assert (check.count, check.problems) == (2, [ChainProblem(3, "unlinked", 1)])
    assert "entry 3 does not record the hash of entry 1" in check.problems[0].describe()


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_link_after_it(
    audit: SqlAuditLog, migrated: SqlDatabase
) -> None:
    middle = audit.query(actor="dev")[0]
    fields = {
        "at": middle.at.isoformat(),
        "service": middle.service,
        "actor": "someone-else",
        "action": middle.action,
        "target": middle.target,
        "outcome": middle.outcome,
        "client": middle.client,
        "details": middle.details,
    }
    _change(migrated, 2, actor="someone-else", entry_hash=entry_hash(middle.prev_hash, fields))
    assert audit.check().problems == [ChainProblem(3, "unlinked", 2)]
