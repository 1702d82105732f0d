"""Whole-schema export in every form, and import that round-trips it into another database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings
from tests.api.test_oms_ontology import CLIENT, PRODUCT


@pytest.fixture
def client(workdir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings())) as test_client:
        for name in ("source-db", "copy-json", "copy-ttl", "copy-xml", "copy-jsonld"):
            assert (
                test_client.post("/api/v1/database/create", json={"name": name}).status_code == 202
            )
        for body in (CLIENT, PRODUCT):
            created = test_client.post("/api/v1/database/source-db/ontology", json=body)
            assert created.status_code == 202, created.text
        yield test_client


def classes(client: TestClient, db: str) -> list[dict[str, Any]]:
    found = client.get(f"/api/v1/database/{db}/ontology").json()["data"]["ontologies"]
    return [{k: v for k, v in c.items() if k not in ("version", "commit_id")} for c in found]


@pytest.mark.parametrize(
    ("target", "export", "import_format"),
    [
        ("copy-json", "format=json", "json"),
        ("copy-ttl", "format=owl&syntax=turtle", "turtle"),
        ("copy-xml", "format=owl&syntax=xml", "xml"),
        ("copy-jsonld", "format=jsonld", "jsonld"),
    ],
)
def test_an_export_imports_into_another_database_unchanged(
    client: TestClient, target: str, export: str, import_format: str
) -> None:
    exported = client.get(f"/api/v1/database/source-db/schema?{export}")
    assert exported.status_code == 200
    body = exported.content
    if import_format == "json":
        body = json.dumps(exported.json()["data"]).encode()
    if import_format == "turtle":
        assert b"owl:Class" in body
    imported = client.post(
        f"/api/v1/database/{target}/schema/import?format={import_format}", content=body
    )
    assert imported.status_code == 202, imported.text
    assert imported.json()["data"]["classes"] == ["Client", "Product"]
    assert classes(client, target) == classes(client, "source-db")


def test_one_class_exports_as_owl(client: TestClient) -> None:
    turtle = client.get("/api/v1/database/source-db/ontology/Client/schema?format=owl")
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert "고객사" in turtle.text


def test_a_broken_document_is_refused_and_nothing_is_written(client: TestClient) -> None:
    refused = client.post(
        "/api/v1/database/copy-ttl/schema/import?format=turtle", content=b"this is not turtle"
    )
    assert refused.status_code == 400
    assert classes(client, "copy-ttl") == []
