"""Pull requests over HTTP: open, mergeability, diff, review, merge, close."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings

DB = "reviews"
PRS = f"/api/v1/database/{DB}/pull-requests"


@pytest.fixture
def client(workdir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings())) as test_client:
        test_client.post("/api/v1/database/create", json={"name": DB})
        yield test_client


def put(client: TestClient, branch: str, doc_id: str, data: dict[str, Any]) -> None:
    store: Any = client.app.state.resources.store  # type: ignore[attr-defined]
    change = Change(DocRef.of_instance("Sku", doc_id), ChangeKind.REPLACE, data)
    store.commit(DB, CommitRequest(branch, "t", f"put {doc_id}", (change,)))


def test_a_pull_request_is_opened_reviewed_and_merged(client: TestClient) -> None:
    put(client, "main", "s1", {"color": "red"})
    client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "recolor"})
    put(client, "recolor", "s1", {"color": "blue"})
    put(client, "main", "s2", {"color": "green"})
    opened = client.post(
        PRS, json={"source_branch": "recolor", "title": "Blue skus"}, headers={"X-Actor": "dev"}
    )
    assert opened.status_code == 201, opened.text
    pr = opened.json()["data"]
    assert (pr["id"], pr["status"], pr["mergeable"], pr["review_state"]) == (
        1,
        "open",
        True,
        "pending",
    )
    diff = client.get(f"{PRS}/1/diff").json()["data"]
    assert diff["summary"] == {"added": 0, "modified": 1, "deleted": 0}
    reviewed = client.post(
        f"{PRS}/1/reviews", json={"state": "approved"}, headers={"X-Actor": "lead"}
    )
    assert reviewed.json()["data"]["review_state"] == "approved"
    merged = client.post(f"{PRS}/1/merge", json={}, headers={"X-Actor": "lead"})
    assert merged.status_code == 200, merged.text
    assert merged.json()["data"]["merge"] == "merged"
    final = client.get(f"{PRS}/1").json()["data"]
    assert final["status"] == "merged"
    assert final["merge_commit"] == merged.json()["data"]["commit_id"]
    assert client.get(f"{PRS}?status=open").json()["data"]["total"] == 0
    again = client.post(f"{PRS}/1/merge", json={})
    assert again.status_code == 422


def test_a_conflicting_pull_request_shows_its_conflicts_and_can_be_closed(
    client: TestClient,
) -> None:
    put(client, "main", "s1", {"color": "red"})
    client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "other"})
    put(client, "other", "s1", {"color": "blue"})
    put(client, "main", "s1", {"color": "black"})
    pr = client.post(PRS, json={"source_branch": "other", "title": "clash"}).json()["data"]
    assert pr["mergeable"] is False
    assert pr["conflicts"][0]["path"] == "instances/Sku/s1/color"
    refused = client.post(f"{PRS}/{pr['id']}/merge", json={})
    assert refused.status_code == 409
    duplicate = client.post(PRS, json={"source_branch": "other", "title": "again"})
    assert duplicate.status_code == 409
    closed = client.post(f"{PRS}/{pr['id']}/close")
    assert closed.json()["data"]["status"] == "closed"


def test_bad_pull_requests_are_refused(client: TestClient) -> None:
    same = client.post(PRS, json={"source_branch": "main", "title": "x"})
    assert same.status_code == 422
    missing = client.post(PRS, json={"source_branch": "nope", "title": "x"})
    assert missing.status_code == 404
    assert client.get(f"{PRS}/99").status_code == 404
