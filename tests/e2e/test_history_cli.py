"""`spice history export|import|verify` as real processes, SQLite into PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import doc_versions
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from tests.e2e.conftest import Stack
from tests.integration.sql_engines import POOL
from tests.integration.store_helpers import DB, create, person, write
from tests.integration.store_helpers import update as update_doc
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

pytestmark = pytest.mark.e2e


@pytest.fixture
def source(stack: Stack) -> str:
    url = f"sqlite:///{stack.root / 'source.sqlite3'}"
    database = SqlDatabase(url, POOL)
    database.migrate()
    store = SqlVersionedStore(database)
    store.create_database(DB)
    write(store, "main", create(person("p1"), {"name": "서연"}), create(person("p2"), {}))
    store.create_branch(DB, "feature")
    write(store, "feature", update_doc(person("p1"), {"city": "大阪"}))
    database.close()
    return url


@pytest.mark.postgres
@pytest.mark.skipif(SKIP_POSTGRES, reason="opted out")
def test_a_history_exported_from_sqlite_imports_into_postgresql_and_verifies(
    stack: Stack, source: str
) -> None:
    target_file = stack.root / "history.jsonl.gz"
    exported = stack.run("history", "export", DB, str(target_file), DATABASE_URL=source)
    assert exported.returncode == 0, exported.stderr
    assert "2 branches" in exported.stdout
    with fresh_postgres_database() as target:
        imported = stack.run(
            "history", "import", str(target_file), "--name", "copy", DATABASE_URL=target
        )
        assert imported.returncode == 0, imported.stderr
        assert "imported" in imported.stdout
        verified = stack.run("history", "verify", "copy", DATABASE_URL=target)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.count(" ok") == 2
        copied, kept = SqlDatabase(target, POOL), SqlDatabase(source, POOL)
        try:
            for branch in ("main", "feature"):
                assert SqlVersionedStore(copied).resolve("copy", branch) == SqlVersionedStore(
                    kept
                ).resolve(DB, branch)
        finally:
            copied.close()
            kept.close()


def test_verify_exits_1_when_a_row_was_changed_behind_the_stores_back(
    stack: Stack, source: str
) -> None:
    assert stack.run("history", "verify", DB, DATABASE_URL=source).returncode == 0
    database = SqlDatabase(source, POOL)
    with database.transaction() as connection:
        connection.execute(
            update(doc_versions)
            .values(data={"name": "forged"})
            .where(doc_versions.c.doc_id == "p1")
        )
    database.close()
    result = stack.run("history", "verify", DB, DATABASE_URL=source)
    assert result.returncode == 1
    assert "MISMATCH" in result.stdout
    assert "do not match their stored state hash" in result.stderr


def test_importing_a_missing_file_fails_with_one_line(stack: Stack) -> None:
    result = stack.run("history", "import", str(stack.root / "nothing.jsonl"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"spice: no such file: {stack.root / 'nothing.jsonl'}"
