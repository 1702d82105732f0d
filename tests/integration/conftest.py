"""Fixtures giving each test a fresh, empty database on every engine under test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.meta_store import SqlMetaStore
from spice_harvester.settings.model import DatabasePoolSettings
from tests.integration.sql_engines import POOL, EngineUnderTest, MakeDatabase
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database, unused_port

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(SKIP_POSTGRES, reason="SPICE_TEST_SKIP_POSTGRES=1"),
        ],
    ),
]


@pytest.fixture(params=ENGINES)
def engine_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineUnderTest]:
    if request.param == "sqlite":
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("a file where a directory should be")
        yield EngineUnderTest(
            name="sqlite",
            url=f"sqlite:///{tmp_path / 'data' / 'spice.sqlite3'}",
            unreachable_url=f"sqlite:///{blocker / 'spice.sqlite3'}",
        )
        return
    with fresh_postgres_database() as url:
        yield EngineUnderTest(
            name="postgresql",
            url=url,
            unreachable_url=f"postgresql://postgres@127.0.0.1:{unused_port()}/postgres",
        )


@pytest.fixture
def make_database(engine_under_test: EngineUnderTest) -> Iterator[MakeDatabase]:
    """Opens SqlDatabase objects (on the test's database by default) and closes them all."""
    opened: list[SqlDatabase] = []

    def make(url: str | None = None, pool: DatabasePoolSettings = POOL) -> SqlDatabase:
        database = SqlDatabase(url or engine_under_test.url, pool)
        opened.append(database)
        return database

    yield make
    for database in opened:
        database.close()


@pytest.fixture
def database(make_database: MakeDatabase) -> SqlDatabase:
    return make_database()


@pytest.fixture
def migrated(database: SqlDatabase) -> SqlDatabase:
    database.migrate()
    return database


@pytest.fixture
def meta(migrated: SqlDatabase) -> SqlMetaStore:
    return SqlMetaStore(migrated)
