"""A disaster-recovery drill with real processes: OMS on PostgreSQL takes writes over HTTP
while `spice backup create` runs; the database is dropped; `spice backup restore` into a new
one gives the same histories, state hashes, read models and audit chain (`spice verify`)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from spice_harvester.adapters.sql.api_keys import SqlApiKeys
from spice_harvester.adapters.sql.audit import SqlAuditLog
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections.verify import compare_with_rebuild
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from tests.e2e.conftest import Stack, wait_for
from tests.integration.sql_engines import POOL
from tests.integration.store_helpers import DB
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

pytestmark = pytest.mark.e2e
WAREHOUSE = {
    "id": "Warehouse",
    "label": "Warehouse",
    "key": ["warehouse_id"],
    "properties": [
        {"name": "warehouse_id", "type": "string", "required": True},
        {"name": "city", "type": "string"},
    ],
}


def _history(url: str, db: str, ref: str) -> list[tuple[str, tuple[str, ...], str]]:
    database = SqlDatabase(url, POOL)
    try:
        commits, _ = SqlVersionedStore(database).log(db, ref, limit=1000)
    finally:
        database.close()
    return [(c.commit_id, c.parents, c.state_hash) for c in commits]


class HttpWriter(threading.Thread):
    """Creates warehouses through OMS until stopped."""

    def __init__(self, base_url: str) -> None:
        super().__init__(daemon=True)
        self.base_url = base_url
        self.stop = threading.Event()
        self.written = 0
        self.failures: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while not self.stop.is_set():
                response = client.post(
                    f"/api/v1/instances/{DB}/async/Warehouse/create",
                    json={"data": {"warehouse_id": f"W-{self.written}", "city": "busy"}},
                )
                if response.status_code != 202:
                    self.failures.append(response.text)
                    return
                self.written += 1


@pytest.mark.postgres
@pytest.mark.skipif(SKIP_POSTGRES, reason="opted out")
def test_postgresql_is_restored_identically_from_a_backup_taken_while_oms_took_writes(
    stack: Stack,
) -> None:
    backup = stack.root / "backup"
    with fresh_postgres_database() as source:
        oms = stack.spice("serve", "oms", DATABASE_URL=source)
        wait_for(f"{stack.url('oms')}/health")
        with httpx.Client(base_url=stack.url("oms"), timeout=30) as client:
            assert client.post("/api/v1/database/create", json={"name": DB}).status_code == 202
            client.post(f"/api/v1/database/{DB}/ontology", json=WAREHOUSE)
            writes = f"/api/v1/instances/{DB}/async/Warehouse"
            rows = [{"warehouse_id": f"ICN-{i}", "city": "인천"} for i in range(20)]
            assert client.post(f"{writes}/bulk-create", json={"instances": rows}).is_success
            client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "feature"})
            changed = client.put(
                f"{writes}/ICN-1/update?branch=feature&expected_seq=1",
                json={"data": {"city": "부산"}},
            )
            assert changed.status_code == 202, changed.text
            client.put(f"{writes}/ICN-2/update?expected_seq=1", json={"data": {"city": "대구"}})
            merged = client.post(
                f"/api/v1/version/{DB}/merge",
                json={"source_branch": "feature", "target_branch": "main"},
            )
            assert merged.json()["data"]["merge"] == "merged", merged.text
        database = SqlDatabase(source, POOL)
        secret = (
            SqlApiKeys(database)
            .create(name="ops", role="admin", databases=None, created_by="drill")
            .secret
        )
        SqlAuditLog(database).append(service="bff", actor="ops", action="drill", outcome="ok")
        database.close()
        writer = HttpWriter(stack.url("oms"))
        writer.start()
        while writer.written < 3:
            time.sleep(0.02)
        started = writer.written
        taken = stack.run("backup", "create", "--output", str(backup), DATABASE_URL=source)
        during = writer.written - started
        writer.stop.set()
        writer.join(30)
        assert taken.returncode == 0, taken.stderr
        assert not writer.failures, writer.failures
        assert during > 0  # OMS kept taking writes while the backup ran
        metadata = json.loads((backup / "metadata.json").read_text())
        heads = {b: h["head"] for b, h in metadata["databases"][DB]["branch_heads"].items()}
        expected = {branch: _history(source, DB, head) for branch, head in heads.items()}
        stack.stop(oms)
    # The PostgreSQL database is dropped; restore into a new one.
    with fresh_postgres_database() as target:
        restored = stack.run("backup", "restore", str(backup), DATABASE_URL=target)
        assert restored.returncode == 0, restored.stderr
        assert "every commit id and state hash checked" in restored.stdout
        for branch in heads:
            assert _history(target, DB, branch) == expected[branch]
        # `spice verify` replays the log against the store and compares the read models
        # with a rebuild (what `spice projection verify` does).
        verified = stack.run("verify", DATABASE_URL=target)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "replays to every stored state and every read model" in verified.stdout
        database = SqlDatabase(target, POOL)
        try:
            assert compare_with_rebuild(database, require_fresh=True) == []
            assert SqlAuditLog(database).check().holds
            assert SqlApiKeys(database).authenticate(secret).name == "ops"
        finally:
            database.close()
