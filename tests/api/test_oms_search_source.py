"""OMS search answers from the search read model when it reflects the branch head, from the
store otherwise, and the same hits either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spice_harvester.adapters.sql.projections.worker import ProjectionWorker
from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings

DB = "searchable"
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "key": ["sku"],
    "properties": [
        {"name": "sku", "type": "string", "required": True},
        {"name": "name", "type": "string"},
    ],
}
NAMES = {"p1": "Spice grinder", "p2": "Pepper mill", "p3": "스파이스 세트"}


@pytest.fixture
def client(workdir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings())) as created:
        assert created.post("/api/v1/database/create", json={"name": DB}).status_code == 202
        assert created.post(f"/api/v1/database/{DB}/ontology", json=PRODUCT).status_code == 202
        rows = [{"sku": sku, "name": name} for sku, name in NAMES.items()]
        bulk = created.post(
            f"/api/v1/instances/{DB}/async/Product/bulk-create", json={"instances": rows}
        )
        assert bulk.status_code == 202, bulk.text
        yield created


def catch_up(client: TestClient) -> None:
    database = client.app.state.resources.database  # type: ignore[attr-defined]
    worker = ProjectionWorker(database, load_settings().worker)
    worker.delivery.drain()


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/search/{DB}", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["data"]
    return found


def ids(answer: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in answer["hits"]]


def test_a_read_model_behind_the_head_leaves_auto_to_the_store(client: TestClient) -> None:
    answer = search(client, q="spice")
    assert answer["source"] == "store"
    assert ids(answer) == ["p1"]
    behind = search(client, q="spice", source="index")
    assert behind["source"] == "index"
    assert behind["index_status"]["fresh"] is False
    assert ids(behind) == []  # nothing applied yet: the read model is empty, and says so


def test_a_caught_up_read_model_answers_auto_with_the_stores_hits(client: TestClient) -> None:
    catch_up(client)
    for q in ("spice", "스파이스", "mill", "p2"):
        indexed, stored = search(client, q=q), search(client, q=q, source="store")
        assert indexed["source"] == "index"
        assert indexed["index_status"]["fresh"] is True
        assert indexed["commit_id"] == stored["commit_id"]
        assert ids(indexed) == ids(stored)
        assert [h["data"] for h in indexed["hits"]] == [h["data"] for h in stored["hits"]]
        assert [h["matched_fields"] for h in indexed["hits"]] == [
            h["matched_fields"] for h in stored["hits"]
        ]


def test_a_write_after_catching_up_sends_auto_back_to_the_store(client: TestClient) -> None:
    catch_up(client)
    created = client.post(
        f"/api/v1/instances/{DB}/async/Product/create",
        json={"data": {"sku": "p4", "name": "Spice rack"}},
    )
    assert created.status_code in (200, 202), created.text
    answer = search(client, q="spice")
    assert answer["source"] == "store"
    assert ids(answer) == ["p1", "p4"]  # the acknowledged write is never missed
    catch_up(client)
    assert search(client, q="spice")["source"] == "index"
    assert sorted(ids(search(client, q="spice"))) == ["p1", "p4"]


def test_source_index_with_at_or_an_unknown_source_is_refused(client: TestClient) -> None:
    at = client.get(f"/api/v1/search/{DB}", params={"q": "x", "source": "index", "at": "main~1"})
    assert at.status_code == 422
    assert at.json()["errors"][0]["field"] == "source"
    unknown = client.get(f"/api/v1/search/{DB}", params={"q": "x", "source": "fast"})
    assert unknown.status_code == 400
    assert "source" in unknown.text
