"""A real OMS process on each engine, driven over HTTP through a modeller's day."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack, wait_for
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

pytestmark = pytest.mark.e2e
DB = "threepl"

WAREHOUSE = {
    "id": "Warehouse",
    "label": {"en": "Warehouse", "ko": "창고", "ja": "倉庫"},
    "key": ["warehouse_id"],
    "properties": [
        {"name": "warehouse_id", "type": "string", "required": True},
        {"name": "city", "type": "xsd:string"},
    ],
}
LOCATION = {
    "id": "Location",
    "label": "Location",
    "key": ["location_id"],
    "properties": [{"name": "location_id", "type": "STRING", "required": True}],
    "relationships": [
        {
            "predicate": "warehouse",
            "target": "Warehouse",
            "cardinality": "n:1",
            "inverse_predicate": "locations",
            "required": True,
        }
    ],
}


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=[pytest.mark.postgres, pytest.mark.skipif(SKIP_POSTGRES, reason="opted out")],
        ),
    ]
)
def oms(request: pytest.FixtureRequest, stack: Stack) -> Iterator[httpx.Client]:
    env = {"ENABLE_OMS_ROLLBACK": "true"}
    # A projection worker beside OMS: commands are COMPLETED once it holds their commits.
    if request.param == "sqlite":
        process = stack.spice("serve", "oms", **env)
        wait_for(f"{stack.url('oms')}/health")
        worker = stack.spice("serve", "worker", WORKER__POLL_SECONDS="0.05")
        with httpx.Client(base_url=stack.url("oms"), timeout=30) as client:
            yield client
        stack.stop(worker)
        stack.stop(process)
        return
    with fresh_postgres_database() as url:
        process = stack.spice("serve", "oms", DATABASE_URL=url, **env)
        wait_for(f"{stack.url('oms')}/health")
        worker = stack.spice("serve", "worker", DATABASE_URL=url)
        with httpx.Client(base_url=stack.url("oms"), timeout=30) as client:
            yield client
        stack.stop(worker)
        stack.stop(process)


def test_a_schema_is_built_branched_reviewed_and_merged_over_http(oms: httpx.Client) -> None:
    assert oms.post("/api/v1/database/create", json={"name": DB}).status_code == 202
    base = f"/api/v1/database/{DB}/ontology"
    assert oms.post(base, json=WAREHOUSE).status_code == 202
    oms.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "locations"})
    created = oms.post(f"{base}?branch=locations", json=LOCATION)
    assert created.status_code == 202, created.text
    assert oms.get(f"{base}/Location").status_code == 404

    pr = oms.post(
        f"/api/v1/database/{DB}/pull-requests",
        json={"source_branch": "locations", "title": "Add locations"},
    ).json()["data"]
    assert pr["mergeable"] is True
    diff = oms.get(f"/api/v1/database/{DB}/pull-requests/{pr['id']}/diff").json()["data"]
    assert diff["summary"] == {"added": 1, "modified": 1, "deleted": 0}
    merged = oms.post(f"/api/v1/database/{DB}/pull-requests/{pr['id']}/merge", json={})
    assert merged.status_code == 200, merged.text
    assert merged.json()["data"]["merge"] == "fast_forward"
    warehouse = oms.get(f"{base}/Warehouse").json()["data"]
    assert warehouse["relationships"][0]["predicate"] == "locations"
    assert warehouse["label"]["ja"] == "倉庫"

    history = oms.get(f"/api/v1/version/{DB}/history?branch=main").json()["data"]
    assert [c["message"] for c in history["commits"][:2]] == [
        "Create class Location",
        "Create class Warehouse",
    ]
    command = merged.json()["data"]["command_id"]
    status = completed(oms, command)
    assert status["progress"]["projections"] == {
        "counts": "applied",
        "lineage": "applied",
        "search": "applied",
    }


def completed(client: httpx.Client, command_id: str, timeout: float = 30) -> dict[str, Any]:
    """The command's status once COMPLETED (the worker has projected its commit)."""
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = client.get(f"/api/v1/commands/{command_id}/status").json()["data"]
        if status["status"] != "PROCESSING" or time.monotonic() > deadline:
            assert status["status"] == "COMPLETED", status
            return status
        time.sleep(0.05)


def test_errors_keep_their_shape_over_http(oms: httpx.Client) -> None:
    oms.post("/api/v1/database/create", json={"name": DB})
    malformed = oms.post(
        "/api/v1/database/create", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    bad_class = oms.post(f"/api/v1/database/{DB}/ontology", json={"id": "9bad", "label": "x"})
    assert bad_class.status_code == 422
    assert bad_class.json()["errors"][0]["field"] == "id"
    missing = oms.get(f"/api/v1/database/{DB}/ontology/Nothing")
    assert missing.status_code == 404
    stale = oms.delete(f"/api/v1/database/{DB}?expected_seq=41")
    assert stale.status_code == 409
    assert stale.json()["data"]["actual_seq"] == 1
    refused = oms.post(f"/api/v1/version/{DB}/rollback?branch=main", json={"target": "HEAD~1"})
    assert refused.status_code == 403


def test_instances_are_written_linked_and_protected_over_http(oms: httpx.Client) -> None:
    oms.post("/api/v1/database/create", json={"name": DB})
    base = f"/api/v1/database/{DB}/ontology"
    oms.post(base, json=WAREHOUSE)
    oms.post(base, json=LOCATION)
    writes = f"/api/v1/instances/{DB}/async"
    created = oms.post(
        f"{writes}/Warehouse/create", json={"data": {"warehouse_id": "ICN-1", "city": "인천"}}
    )
    assert created.status_code == 202, created.text
    assert created.json()["data"]["aggregate_id"] == "ICN-1"
    bulk = oms.post(
        f"{writes}/Location/bulk-create",
        json={
            "instances": [{"location_id": f"L{i:03d}", "warehouse": "ICN-1"} for i in range(500)]
        },
    )
    assert bulk.status_code == 202, bulk.text
    assert bulk.json()["data"]["count"] == 500
    count = oms.get(f"/api/v1/instance/{DB}/class/Location/count").json()["data"]
    assert count == {"count": 500}
    # The bulk kept the inverse in step: the warehouse lists its 500 locations (version 2).
    # Their `warehouse` is required, so they protect it from a delete.
    refused = oms.delete(f"{writes}/Warehouse/ICN-1/delete?expected_seq=2")
    assert refused.status_code == 409
    assert refused.json()["data"]["referrer_count"] == 500
    read = oms.get(f"/api/v1/instance/{DB}/instance/ICN-1?class_id=Warehouse").json()["data"]
    assert read["data"]["city"] == "인천"
    assert len(read["data"]["locations"]) == 500
    assert read["version"] == 2
