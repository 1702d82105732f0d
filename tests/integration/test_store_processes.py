"""Optimistic concurrency across OS processes on PostgreSQL: one winner per expected_seq."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from tests.integration.sql_engines import POOL
from tests.integration.store_helpers import DB, create, person, write
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(SKIP_POSTGRES, reason="opted out")]
REPO = Path(__file__).resolve().parents[2]
WRITERS = 8


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


def test_writers_in_separate_processes_with_one_expected_seq_have_exactly_one_winner(
    postgres_url: str, tmp_path: Path
) -> None:
    database = SqlDatabase(postgres_url, POOL)
    database.migrate()
    store = SqlVersionedStore(database)
    store.create_database(DB)
    write(store, "main", create(person("p1"), {"n": "start"}))
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.store_worker",
                postgres_url,
                DB,
                str(go),
                str(n),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    try:
        for writer in writers:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == "ready"
        go.touch()
        outcomes = [writer.communicate(timeout=60)[0].strip() for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.communicate()
    assert sorted(outcomes) == ["conflict"] * (WRITERS - 1) + ["won"]
    state = store.get(DB, "main", person("p1"))
    assert state is not None
    assert state.seq == 2
    assert store.log(DB, "main")[1] == 3
    database.close()
