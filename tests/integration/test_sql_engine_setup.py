"""What each engine is set up to do beyond the shared contract: URLs, SQLite locking, logging."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import pytest
from pydantic import SecretStr
from sqlalchemy import inspect

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.engine import create_sql_engine
from spice_harvester.adapters.sql.meta_store import SqlMetaStore
from spice_harvester.domain.errors import ConfigurationError, DependencyUnavailable
from spice_harvester.settings.model import BffSettings, DatabasePoolSettings, Settings
from tests.integration.sql_engines import FAST_FAIL, POOL, REVISIONS


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[SqlDatabase]:
    database = SqlDatabase(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'spice.sqlite3'}", POOL)
    yield database
    database.close()


def _try_to_take_the_write_lock(path: Path) -> str | None:
    """None when another connection could start a write transaction, else SQLite's error."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        other.close()
    return None


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"]
)
def test_in_memory_sqlite_is_refused_because_processes_must_share_the_file(url: str) -> None:
    with pytest.raises(ConfigurationError, match="file"):
        create_sql_engine(url, POOL)


@pytest.mark.parametrize("url", ["mysql://user@host/db", "postgresql+psycopg2://h/db", "nonsense"])
def test_an_unsupported_url_is_a_configuration_error_naming_the_scheme(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_sql_engine(url, POOL)
    assert url.split(":")[0] in caught.value.message or "cannot read" in caught.value.message


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_postgres_urls_use_psycopg_3_with_the_configured_pool(scheme: str) -> None:
    pool = DatabasePoolSettings(pool_size=3, max_overflow=4, pool_timeout=7)
    engine = create_sql_engine(f"{scheme}://app:pw@db.invalid:5432/spice", pool)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.dialect.driver == "psycopg"
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 4  # type: ignore[attr-defined]
        assert engine.pool._timeout == 7  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_from_settings_uses_the_dsn_and_the_services_pool(workdir: Path) -> None:
    settings = Settings(
        database_url=SecretStr(f"sqlite:///{workdir / 'from-settings.sqlite3'}"),
        bff=BffSettings(database=DatabasePoolSettings(pool_size=2, max_overflow=1, pool_timeout=3)),
    )
    database = SqlDatabase.from_settings(settings, "bff")
    try:
        assert database.engine_name == "sqlite"
        assert database.display_url.endswith("from-settings.sqlite3")
        assert database.engine.pool.size() == 2  # type: ignore[attr-defined]
        database.ping()
        assert (workdir / "from-settings.sqlite3").exists()
    finally:
        database.close()


def test_sqlite_creates_the_missing_directory_and_sets_its_pragmas(
    sqlite_db: SqlDatabase, tmp_path: Path
) -> None:
    with sqlite_db.read() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert (tmp_path / "nested" / "dir" / "spice.sqlite3").is_file()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": int(POOL.pool_timeout * 1000),
    }


def test_a_sqlite_write_transaction_holds_the_write_lock_from_its_start(
    sqlite_db: SqlDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "nested" / "dir" / "spice.sqlite3"
    sqlite_db.ping()
    with sqlite_db.transaction():
        assert _try_to_take_the_write_lock(path) == "database is locked"
    assert _try_to_take_the_write_lock(path) is None


def test_a_sqlite_read_transaction_leaves_writers_alone(
    sqlite_db: SqlDatabase, tmp_path: Path
) -> None:
    sqlite_db.migrate()
    with sqlite_db.read() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM spice_meta").scalar()
        assert _try_to_take_the_write_lock(tmp_path / "nested" / "dir" / "spice.sqlite3") is None


def test_a_sqlite_writer_waits_out_a_short_lock_instead_of_failing(sqlite_db: SqlDatabase) -> None:
    sqlite_db.migrate()
    second_engine = SqlDatabase(str(sqlite_db.engine.url), POOL)
    store = SqlMetaStore(second_engine)
    try:
        with ThreadPoolExecutor(1) as pool, sqlite_db.transaction():
            started = time.monotonic()
            queued = pool.submit(store.put, "late", "but written")
            time.sleep(0.3)
            assert not queued.done()
        assert queued.result(timeout=5).version == 1
        assert time.monotonic() - started >= 0.3
    finally:
        second_engine.close()
    assert SqlMetaStore(sqlite_db).get("late") is not None


def test_echo_logs_statements_through_the_standard_sqlalchemy_logger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = SqlDatabase(f"sqlite:///{tmp_path / 'echo.sqlite3'}", POOL, echo=True)
    try:
        with caplog.at_level(logging.INFO):
            database.ping()
    finally:
        database.close()
    statements = [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert "SELECT 1" in statements


def test_a_sqlite_writer_locked_out_past_pool_timeout_gets_dependency_unavailable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "busy.sqlite3"
    database = SqlDatabase(f"sqlite:///{path}", FAST_FAIL)
    try:
        database.migrate()
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            with pytest.raises(DependencyUnavailable, match="locked"):
                SqlMetaStore(database).put("blocked", "x")
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        # The connection that failed to begin went back to the pool in working order.
        assert SqlMetaStore(database).put("free", "x").version == 1
    finally:
        database.close()


def test_one_process_can_migrate_several_databases_at_once(tmp_path: Path) -> None:
    databases = [SqlDatabase(f"sqlite:///{tmp_path / f'db{n}.sqlite3'}", POOL) for n in range(4)]
    start = Barrier(len(databases), timeout=10)

    def migrate(database: SqlDatabase) -> list[str]:
        start.wait()
        return database.migrate()

    try:
        with ThreadPoolExecutor(len(databases)) as pool:
            assert list(pool.map(migrate, databases)) == [list(REVISIONS)] * len(databases)
        for database in databases:
            with database.read() as connection:
                assert "spice_meta" in inspect(connection).get_table_names()
    finally:
        for database in databases:
            database.close()
