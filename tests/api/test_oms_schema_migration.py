"""A class change that would break its instances is refused with a report, or migrates them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings

DB = "migrate"
CLASSES = f"/api/v1/database/{DB}/ontology"
SKU = {
    "id": "Sku",
    "label": "SKU",
    "key": ["sku_id"],
    "properties": [
        {"name": "sku_id", "type": "string", "required": True},
        {"name": "colour", "type": "string"},
        {"name": "weight", "type": "integer"},
    ],
}


@pytest.fixture
def client(workdir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings())) as test_client:
        test_client.post("/api/v1/database/create", json={"name": DB})
        assert test_client.post(CLASSES, json=SKU).status_code == 202
        for n, colour in enumerate(["red", "blue", None]):
            data: dict[str, Any] = {"sku_id": f"S{n}", "weight": 100 + n}
            if colour:
                data["colour"] = colour
            created = test_client.post(
                f"/api/v1/instances/{DB}/async/Sku/create", json={"data": data}
            )
            assert created.status_code == 202, created.text
        yield test_client


def sku(client: TestClient, doc_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(
        f"/api/v1/instance/{DB}/instance/{doc_id}?class_id=Sku"
    ).json()["data"]["data"]
    return found


def with_properties(*properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**SKU, "properties": [SKU["properties"][0], *properties], **extra}


def test_a_change_that_breaks_instances_is_refused_with_a_report(client: TestClient) -> None:
    required_colour = with_properties(
        {"name": "colour", "type": "string", "required": True},
        {"name": "weight", "type": "integer"},
    )
    refused = client.put(f"{CLASSES}/Sku?expected_seq=1", json=required_colour)
    assert refused.status_code == 422
    body = refused.json()
    assert body["data"]["invalid_count"] == 1
    assert body["data"]["instances"][0]["id"] == "S2"
    assert "migration" in body["message"]
    assert client.get(f"{CLASSES}/Sku").json()["data"]["version"] == 1


def test_a_migration_renames_fills_defaults_and_casts_in_the_same_commit(
    client: TestClient,
) -> None:
    changed = with_properties(
        {"name": "color", "type": "string", "required": True},
        {"name": "weight", "type": "string"},
        migration={
            "rename": {"colour": "color"},
            "defaults": {"color": "unknown"},
            "cast": ["weight"],
        },
    )
    done = client.put(f"{CLASSES}/Sku?expected_seq=1", json=changed)
    assert done.status_code == 202, done.text
    assert sku(client, "S0") == {"sku_id": "S0", "color": "red", "weight": "100"}
    assert sku(client, "S2") == {"sku_id": "S2", "color": "unknown", "weight": "102"}
    head = client.get(f"/api/v1/version/{DB}/history").json()["data"]["commits"][0]
    assert head["message"] == "Update class Sku"
    diff = client.get(f"/api/v1/version/{DB}/diff?from_ref=main~1&to_ref=main").json()["data"]
    assert diff["summary"]["modified"] == 4  # the class and its three instances, one commit


def test_a_bad_migration_is_refused(client: TestClient) -> None:
    refused = client.put(
        f"{CLASSES}/Sku?expected_seq=1", json={**SKU, "migration": {"rename": "colour"}}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].startswith("migration")
