"""A write retried after its commit but before its status was recorded (a crash in between)
answers the original result and applies nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from spice_harvester.adapters.sql.tables import commands
from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings

DB = "retries"
WRITES = f"/api/v1/instances/{DB}/async"
AUTHOR = {
    "id": "Author",
    "label": "Author",
    "key": ["author_id"],
    "properties": [{"name": "author_id", "type": "string", "required": True}],
}
BOOK = {
    "id": "Book",
    "label": "Book",
    "key": ["book_id"],
    "properties": [{"name": "book_id", "type": "string", "required": True}],
    "relationships": [
        {
            "predicate": "author",
            "target": "Author",
            "cardinality": "n:1",
            "inverse_predicate": "books",
        }
    ],
}


@pytest.fixture
def client(workdir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings())) as created:
        assert created.post("/api/v1/database/create", json={"name": DB}).status_code == 202
        for definition in (AUTHOR, BOOK):
            response = created.post(f"/api/v1/database/{DB}/ontology", json=definition)
            assert response.status_code == 202, response.text
        yield created


def crash_before_status(client: TestClient, command_id: str) -> None:
    """What a process killed right after the commit leaves: the status still PROCESSING."""
    database = client.app.state.resources.database  # type: ignore[attr-defined]
    with database.transaction() as connection:
        connection.execute(
            update(commands)
            .where(commands.c.command_id == command_id)
            .values(status="PROCESSING", result=None)
        )


def send(client: TestClient, method: str, url: str, key: str, **kwargs: Any) -> dict[str, Any]:
    response = client.request(method, url, headers={"Idempotency-Key": key}, **kwargs)
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def commit_count(client: TestClient) -> int:
    history = client.get(f"/api/v1/version/{DB}/history?limit=1000").json()["data"]
    return int(history["total"])


def test_each_kind_of_write_retried_after_a_crash_answers_its_first_result(
    client: TestClient,
) -> None:
    send(client, "POST", f"{WRITES}/Author/create", "a1", json={"data": {"author_id": "A1"}})
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "POST",
            f"{WRITES}/Book/create",
            "b1",
            {"json": {"data": {"book_id": "B1", "author": "A1"}}},
        ),
        (
            "POST",
            f"{WRITES}/Book/bulk-create",
            "bulk",
            {"json": {"instances": [{"book_id": "B2", "author": "A1"}, {"book_id": "B3"}]}},
        ),
        (
            "PUT",
            f"{WRITES}/Book/B3/update?expected_seq=1",
            "u3",
            {"json": {"data": {"author": "A1"}}},
        ),
        ("DELETE", f"{WRITES}/Book/B2/delete?expected_seq=1", "d2", {}),
    ]
    for method, url, key, kwargs in cases:
        first = send(client, method, url, key, **kwargs)
        before = commit_count(client)
        crash_before_status(client, key)

        again = send(client, method, url, key, **kwargs)

        assert again == first, key
        assert commit_count(client) == before, key
    author = client.get(f"/api/v1/instance/{DB}/instance/A1?class_id=Author").json()["data"]
    assert sorted(author["data"]["books"]) == ["B1", "B3"]


def test_class_writes_retried_after_a_crash_answer_their_first_result(client: TestClient) -> None:
    base = f"/api/v1/database/{DB}/ontology"
    shelf = {"id": "Shelf", "label": "Shelf", "properties": [{"name": "code", "type": "string"}]}
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        ("POST", base, "c1", {"json": shelf}),
        ("PUT", f"{base}/Shelf?expected_seq=1", "c2", {"json": {**shelf, "label": "Rack"}}),
        ("DELETE", f"{base}/Shelf?expected_seq=2", "c3", {}),
    ]
    for method, url, key, kwargs in cases:
        first = send(client, method, url, key, **kwargs)
        before = commit_count(client)
        crash_before_status(client, key)

        again = send(client, method, url, key, **kwargs)

        assert again == first, key
        assert commit_count(client) == before, key
