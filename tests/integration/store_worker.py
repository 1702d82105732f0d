"""A store writer in its own process, for the multi-process optimistic-concurrency test.

    python -m tests.integration.store_worker URL DB GO_FILE VALUE

Prints "ready" once connected, waits for GO_FILE, then updates Person/p1 with
expected_seq=1 and prints "won" or "conflict".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.errors import ConcurrencyConflict
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.settings.model import DatabasePoolSettings


def main(url: str, db: str, go: Path, value: str) -> int:
    database = SqlDatabase(url, DatabasePoolSettings(pool_size=1, max_overflow=0))
    try:
        database.ping()
        store = SqlVersionedStore(database)
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.001)
        change = Change(
            DocRef.of_instance("Person", "p1"), ChangeKind.UPDATE, {"n": value}, expected_seq=1
        )
        try:
            store.commit(db, CommitRequest("main", f"writer-{value}", "race", (change,)))
            print("won", flush=True)
        except ConcurrencyConflict:
            print("conflict", flush=True)
    finally:
        database.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]))
