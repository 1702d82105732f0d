"""The Database contract, run unchanged against every engine: migrations, errors, transactions."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from threading import Barrier

import pytest
from alembic import command
from sqlalchemy import Connection, func, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.migrator import alembic_config
from spice_harvester.adapters.sql.tables import spice_meta
from spice_harvester.domain.errors import (
    AlreadyExists,
    ConfigurationError,
    DependencyUnavailable,
)
from spice_harvester.ports.database import Database
from tests.integration.sql_engines import (
    FAST_FAIL,
    HEAD,
    REVISIONS,
    EngineUnderTest,
    MakeDatabase,
)

# Waits for a go-file so that both processes call migrate() at the same moment.
MIGRATE_IN_A_PROCESS = """
import json, sys, time
from pathlib import Path
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.settings.model import DatabasePoolSettings

url, go = sys.argv[1], Path(sys.argv[2])
db = SqlDatabase(url, DatabasePoolSettings(pool_size=1, max_overflow=0, pool_timeout=30))
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
try:
    print(json.dumps(db.migrate()), flush=True)
finally:
    db.close()
"""


def _row(key: str) -> dict[str, object]:
    return {"key": key, "value": "v", "version": 1, "updated_at": datetime.now(UTC)}


def _count_meta_rows(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(spice_meta)).scalar_one()


def test_the_adapter_satisfies_the_database_port(database: SqlDatabase) -> None:
    port: Database = database
    assert port.engine_name in {"sqlite", "postgresql"}


def test_the_display_url_hides_the_password(
    engine_under_test: EngineUnderTest, make_database: MakeDatabase
) -> None:
    if engine_under_test.name == "sqlite":
        assert make_database().display_url.endswith("spice.sqlite3")
        return
    secret = "s3cr3t-pw"
    with_password = make_database(engine_under_test.url.replace("postgres@", f"postgres:{secret}@"))
    assert secret not in with_password.display_url
    assert "***" in with_password.display_url


def test_ping_round_trips_a_query(
    database: SqlDatabase, engine_under_test: EngineUnderTest
) -> None:
    database.ping()
    assert database.engine_name == engine_under_test.name


def test_an_empty_database_has_every_migration_pending(database: SqlDatabase) -> None:
    status = database.migration_status()
    assert status.current is None
    assert status.head == HEAD
    assert status.pending == REVISIONS
    assert not status.up_to_date


def test_migrating_an_empty_database_applies_every_revision_and_reaches_head(
    database: SqlDatabase,
) -> None:
    assert database.migrate() == list(REVISIONS)
    status = database.migration_status()
    assert status.current == status.head == HEAD
    assert status.pending == ()
    assert status.up_to_date
    with database.read() as connection:
        tables = set(inspect(connection).get_table_names())
    assert {"spice_meta", "spice_schema_version"} <= tables


def test_migrating_again_applies_nothing(database: SqlDatabase) -> None:
    database.migrate()
    assert database.migrate() == []
    assert database.migration_status().current == HEAD


def test_the_initial_migration_downgrades_cleanly_and_upgrades_again(
    migrated: SqlDatabase,
) -> None:
    with migrated.transaction() as connection:
        command.downgrade(alembic_config(connection), "base")
    status = migrated.migration_status()
    assert (status.current, status.pending) == (None, REVISIONS)
    with migrated.read() as connection:
        assert "spice_meta" not in inspect(connection).get_table_names()
    assert migrated.migrate() == list(REVISIONS)


def test_threads_migrating_at_once_apply_each_revision_exactly_once(
    make_database: MakeDatabase,
) -> None:
    # One SqlDatabase per thread, as separate processes would have.
    databases = [make_database() for _ in range(6)]
    start = Barrier(len(databases), timeout=10)

    def migrate(database: SqlDatabase) -> list[str]:
        start.wait()
        return database.migrate()

    with ThreadPoolExecutor(len(databases)) as pool:
        results = list(pool.map(migrate, databases))
    assert sorted(results) == [[]] * 5 + [list(REVISIONS)]
    assert databases[0].migration_status().up_to_date


def test_processes_migrating_at_once_apply_each_revision_exactly_once(
    engine_under_test: EngineUnderTest, database: SqlDatabase, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_IN_A_PROCESS, engine_under_test.url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    try:
        for process in processes:
            assert process.stdout is not None
            ready = process.stdout.readline().strip()
            assert ready == "ready", ready or process.communicate()[1]
        go.touch()
        for process in processes:
            stdout, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, stderr
            outputs.append(json.loads(stdout))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert sorted(outputs) == [[], list(REVISIONS)]
    assert database.migration_status().up_to_date


def test_every_operation_on_an_unreachable_database_raises_dependency_unavailable(
    engine_under_test: EngineUnderTest, make_database: MakeDatabase
) -> None:
    unreachable = make_database(engine_under_test.unreachable_url, FAST_FAIL)
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable) as caught:
        unreachable.ping()
    assert caught.value.dependency == "database"
    with pytest.raises(DependencyUnavailable):
        unreachable.migration_status()
    with pytest.raises(DependencyUnavailable):
        unreachable.migrate()
    assert time.monotonic() - started < 5


def test_an_exhausted_pool_raises_dependency_unavailable_after_pool_timeout(
    make_database: MakeDatabase,
) -> None:
    database = make_database(pool=FAST_FAIL)
    with database.read():
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable) as caught:
            database.ping()
        waited = time.monotonic() - started
    assert caught.value.dependency == "database"
    assert 0.15 < waited < 2
    database.ping()  # the held connection went back to the pool


def test_a_committed_transaction_is_visible_to_later_reads(migrated: SqlDatabase) -> None:
    with migrated.transaction() as connection:
        connection.execute(insert(spice_meta).values(_row("kept")))
    with migrated.read() as connection:
        assert connection.execute(select(spice_meta.c.key)).scalars().all() == ["kept"]


def test_a_transaction_that_raises_leaves_nothing_behind(migrated: SqlDatabase) -> None:
    def insert_then_fail() -> None:
        with migrated.transaction() as connection:
            connection.execute(insert(spice_meta).values(_row("lost")))
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError, match="abandon"):
        insert_then_fail()
    with migrated.read() as connection:
        assert _count_meta_rows(connection) == 0


def test_schema_changes_in_a_failed_transaction_are_rolled_back(migrated: SqlDatabase) -> None:
    def create_then_fail() -> None:
        with migrated.transaction() as connection:
            connection.execute(text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError, match="abandon"):
        create_then_fail()
    with migrated.read() as connection:
        assert "scratch" not in inspect(connection).get_table_names()


def test_a_unique_violation_raises_already_exists_and_writes_nothing(
    migrated: SqlDatabase,
) -> None:
    def insert_twice() -> None:
        with migrated.transaction() as connection:
            connection.execute(insert(spice_meta).values(_row("once")))
            connection.execute(insert(spice_meta).values(_row("twice")))
            connection.execute(insert(spice_meta).values(_row("twice")))

    with pytest.raises(AlreadyExists):
        insert_twice()
    with migrated.read() as connection:
        assert _count_meta_rows(connection) == 0


def test_a_read_transaction_refuses_writes(migrated: SqlDatabase) -> None:
    with pytest.raises(DBAPIError), migrated.read() as connection:
        connection.execute(insert(spice_meta).values(_row("sneaky")))
    with migrated.read() as connection:
        assert _count_meta_rows(connection) == 0


def test_a_schema_from_a_newer_release_is_reported_not_migrated(migrated: SqlDatabase) -> None:
    with migrated.transaction() as connection:
        connection.execute(text("UPDATE spice_schema_version SET version_num = '9999_future'"))
    with pytest.raises(ConfigurationError, match="9999_future"):
        migrated.migration_status()
    with pytest.raises(ConfigurationError, match="9999_future"):
        migrated.migrate()


def test_a_read_transaction_sees_one_snapshot_throughout(migrated: SqlDatabase) -> None:
    with migrated.read() as reading:
        before = _count_meta_rows(reading)
        with migrated.transaction() as writing:
            writing.execute(insert(spice_meta).values(_row("meanwhile")))
        assert _count_meta_rows(reading) == before == 0
    with migrated.read() as reading:
        assert _count_meta_rows(reading) == 1
