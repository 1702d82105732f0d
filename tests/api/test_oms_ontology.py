"""OMS classes over HTTP (in process, real SQLite): create, read, replace, delete, validate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings

DB = "catalogue"
BASE = f"/api/v1/database/{DB}/ontology"

CLIENT = {
    "id": "Client",
    "label": {"en": "Client", "ko": "고객사", "ja": "顧客"},
    "key": ["client_id"],
    "properties": [
        {"name": "client_id", "type": "xsd:string", "required": True},
        {"name": "brand_name", "type": "STRING"},
    ],
}
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "key": ["product_id"],
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "unit_price", "type": "money", "constraints": {"currency": "USD"}},
    ],
    "relationships": [
        {
            "predicate": "client",
            "target": "Client",
            "cardinality": "n:1",
            "inverse_predicate": "products",
        },
    ],
}


@pytest.fixture
def client(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("OMS__VALIDATION__MAX_PROPERTY_COUNT", "5")
    with TestClient(create_app(load_settings())) as test_client:
        assert test_client.post("/api/v1/database/create", json={"name": DB}).status_code == 202
        yield test_client


def post_class(client: TestClient, body: dict[str, Any], branch: str = "main") -> Any:
    return client.post(f"{BASE}?branch={branch}", json=body)


def test_a_class_is_created_and_reads_back_normalised_with_its_version(
    client: TestClient,
) -> None:
    created = post_class(client, CLIENT)
    assert created.status_code == 202, created.text
    assert created.json()["data"]["aggregate_id"] == "Client"
    read = client.get(f"{BASE}/Client").json()["data"]
    assert read["version"] == 1
    assert read["label"]["ko"] == "고객사"
    assert [p["type"] for p in read["properties"]] == ["string", "string"]
    listed = client.get(BASE).json()["data"]
    assert listed["total"] == 1
    assert listed["ontologies"][0]["id"] == "Client"


def test_an_inverse_relationship_is_written_on_the_target_in_the_same_commit(
    client: TestClient,
) -> None:
    post_class(client, CLIENT)
    created = post_class(client, PRODUCT)
    assert created.status_code == 202, created.text
    assert created.json()["data"]["updated"] == ["class:Client", "class:Product"]
    target = client.get(f"{BASE}/Client").json()["data"]
    assert target["version"] == 2
    assert target["relationships"][0]["predicate"] == "products"
    assert target["relationships"][0]["cardinality"] == "1:n"


def test_bad_classes_are_refused_naming_the_field(client: TestClient) -> None:
    unknown_type = post_class(
        client, {**CLIENT, "properties": [{"name": "client_id", "type": "xsd:nonsense"}]}
    )
    assert unknown_type.status_code == 422
    assert unknown_type.json()["errors"][0]["field"] == "properties[0].type"
    missing_target = post_class(client, PRODUCT)
    assert missing_target.status_code == 422
    assert "Client" in missing_target.json()["message"]
    too_many = post_class(
        client,
        {
            "id": "Wide",
            "label": "Wide",
            "properties": [{"name": f"p{i}", "type": "string"} for i in range(6)],
        },
    )
    assert too_many.status_code == 422
    assert client.get(BASE).json()["data"]["total"] == 0


def test_validate_checks_without_saving(client: TestClient) -> None:
    post_class(client, CLIENT)
    checked = client.post(f"{BASE}/validate", json=PRODUCT)
    assert checked.status_code == 200
    assert checked.json()["data"]["inverse_updates"][0]["id"] == "Client"
    assert client.get(f"{BASE}/Product").status_code == 404


def test_replacing_a_class_needs_its_version_and_deleting_checks_dependents(
    client: TestClient,
) -> None:
    post_class(client, CLIENT)
    post_class(client, PRODUCT)
    changed = {**PRODUCT, "label": {"en": "Product", "ko": "상품"}}
    stale = client.put(f"{BASE}/Product?expected_seq=7", json=changed)
    assert stale.status_code == 409
    assert stale.json()["errors"][0]["code"] == "occ_conflict"
    replaced = client.put(f"{BASE}/Product?expected_seq=1", json=changed)
    assert replaced.status_code == 202, replaced.text
    assert client.get(f"{BASE}/Product").json()["data"]["version"] == 2
    post_class(client, {"id": "VipClient", "label": "VIP", "parent_class": "Client"})
    refused = client.delete(f"{BASE}/Client?expected_seq=2")
    assert refused.status_code == 422
    assert "VipClient" in refused.text
    assert client.delete(f"{BASE}/Product?expected_seq=2").status_code == 202
    # The inverse end on Client goes with it, in the same commit.
    client_class = client.get(f"{BASE}/Client").json()["data"]
    assert client_class.get("relationships", []) == []
    assert client_class["version"] == 3


def test_classes_live_on_branches_and_travel_in_time(client: TestClient) -> None:
    post_class(client, CLIENT)
    client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "schema-v2"})
    post_class(client, PRODUCT, branch="schema-v2")
    assert client.get(f"{BASE}/Product").status_code == 404
    assert client.get(f"{BASE}/Product?branch=schema-v2").status_code == 200
    assert client.get(f"{BASE}?at=schema-v2~1").json()["data"]["total"] == 1
    diff = client.get(f"/api/v1/version/{DB}/diff?from_ref=main&to_ref=schema-v2").json()
    assert diff["data"]["summary"] == {"added": 1, "modified": 1, "deleted": 0}


def test_the_relationship_graph_reports_cycles_and_paths(client: TestClient) -> None:
    post_class(client, CLIENT)
    post_class(client, PRODUCT)
    cycles = client.get(f"{BASE}/graph/cycles").json()["data"]
    assert cycles["cycles"] == [["Client", "Product"]]
    paths = client.get(f"{BASE}/graph/paths?source=Product&target=Client").json()["data"]
    assert paths["paths"][0] == [{"from": "Product", "predicate": "client", "to": "Client"}]
    schema = client.get(f"{BASE}/Product/schema").json()["data"]
    assert schema["effective_key"] == ["product_id"]
