"""Running the projection worker's loop in the test's process, and faults for it.

`assert_read_models_match` is the check every projection scenario ends with: each read model
equals a fresh rebuild from the store at the commit it reflects (and, once caught up, every
branch is reflected at its head).
"""

from __future__ import annotations

import time

from sqlalchemy import text

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.event_log import SqlEventLog
from spice_harvester.adapters.sql.projections.applier import SqlApplier
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.application.projections.delivery import Delivery, RoundReport
from spice_harvester.application.projections.retry import RetryPolicy

# Quick retries, so a poisoned unit is parked within a fraction of a second.
FAST_RETRY = RetryPolicy(max_attempts=3, base_seconds=0.01, max_seconds=0.05)


def delivery(
    database: SqlDatabase,
    *,
    owner: str = "test-worker",
    batch_size: int = 7,
    retry: RetryPolicy = FAST_RETRY,
) -> Delivery:
    """A small batch size, so commits straddle batches and several rounds are needed."""
    return Delivery(
        SqlApplier(database, owner), SqlEventLog(database), batch_size=batch_size, retry=retry
    )


def settle(worker: Delivery, *, max_rounds: int = 500, timeout: float = 30) -> RoundReport:
    """Rounds until nothing is left, waiting out retries; a bounded number of them."""
    total = RoundReport()
    deadline = time.monotonic() + timeout
    for _ in range(max_rounds):
        report = worker.run_once()
        total.add(report)
        if report.progressed or report.more:
            continue
        if not report.blocked:
            return total
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise AssertionError(f"the worker did not settle: {total}")


def assert_read_models_match(database: SqlDatabase, *, require_fresh: bool = True) -> None:
    problems = compare_with_rebuild(database, require_fresh=require_fresh)
    assert not problems, "\n".join(str(problem) for problem in problems)


def poison(database: SqlDatabase, doc_id: str) -> None:
    """Makes the database refuse a search row for `doc_id`: a real failure inside the
    unit's transaction, the way a broken index or a constraint would fail it."""
    with database.transaction() as connection:
        if database.engine_name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN IF NEW.doc_id = '"
                    + doc_id
                    + "' THEN RAISE EXCEPTION 'poisoned document'; END IF; RETURN NEW; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON search_docs "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
                )
            )
            return
        connection.execute(
            text(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON search_docs WHEN NEW.doc_id = '"
                + doc_id
                + "' BEGIN SELECT RAISE(ABORT, 'poisoned document'); END"
            )
        )


def cure(database: SqlDatabase) -> None:
    with database.transaction() as connection:
        connection.execute(
            text(
                "DROP TRIGGER refuse_poison"
                + (" ON search_docs" if database.engine_name == "postgresql" else "")
            )
        )
        if database.engine_name == "postgresql":
            connection.execute(text("DROP FUNCTION refuse_poison()"))
