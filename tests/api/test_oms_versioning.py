"""OMS over HTTP (in process, real SQLite): databases, branches, version control, commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings
from tests.api.projection_support import catch_up

DB = "logistics"


@pytest.fixture
def client(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("ENABLE_OMS_ROLLBACK", "true")
    monkeypatch.setenv("PROTECTED_BRANCHES", "main,release")
    with TestClient(create_app(load_settings())) as test_client:
        yield test_client


def store_of(client: TestClient) -> SqlVersionedStore:
    found: Any = client.app.state.resources.store  # type: ignore[attr-defined]
    assert isinstance(found, SqlVersionedStore)
    return found


def put(client: TestClient, branch: str, doc_id: str, data: dict[str, Any]) -> str:
    ref = DocRef.of_instance("Order", doc_id)
    result = store_of(client).commit(
        DB, CommitRequest(branch, "t", f"put {doc_id}", (Change(ref, ChangeKind.REPLACE, data),))
    )
    return result.commit.commit_id


def create_database(client: TestClient) -> dict[str, Any]:
    response = client.post(
        "/api/v1/database/create",
        json={"name": DB, "description": "3PL"},
        headers={"X-Actor": "alice"},
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def test_creating_a_database_answers_202_with_the_command(client: TestClient) -> None:
    body = create_database(client)
    assert body["status"] == "accepted"
    data = body["data"]
    # Committed and durable; COMPLETED once the projections hold the commit.
    assert data["status"] == "PROCESSING"
    assert data["aggregate_id"] == DB
    assert data["version"] == 1
    assert len(data["commit_id"]) == 40
    status_path = f"/api/v1/commands/{data['command_id']}/status"
    pending = client.get(status_path).json()["data"]
    assert pending["progress"] == {
        "committed": True,
        "projections": {"counts": "pending", "lineage": "pending", "search": "pending"},
    }
    catch_up(client)
    status = client.get(status_path).json()["data"]
    assert status["status"] == "COMPLETED"
    assert [step["status"] for step in status["history"]] == ["PENDING", "PROCESSING", "COMPLETED"]
    listed = client.get("/api/v1/database/list").json()["data"]
    assert listed["total"] == 1
    assert listed["databases"][0]["created_by"] == "alice"
    assert client.get(f"/api/v1/database/exists/{DB}").json()["data"] == {"exists": True}
    assert client.get("/api/v1/database/exists/nothing").json()["data"] == {"exists": False}


def test_database_names_and_duplicates_are_refused(client: TestClient) -> None:
    bad = client.post("/api/v1/database/create", json={"name": "Bad Name"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "name"
    create_database(client)
    again = client.post("/api/v1/database/create", json={"name": DB})
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_exists"


def test_an_idempotency_key_makes_a_retry_return_the_original(client: TestClient) -> None:
    headers = {"Idempotency-Key": "create-logistics-1"}
    first = client.post("/api/v1/database/create", json={"name": DB}, headers=headers)
    second = client.post("/api/v1/database/create", json={"name": DB}, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["data"] == second.json()["data"]
    other = client.post("/api/v1/database/create", json={"name": "other-db"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["errors"][0]["code"] == "idempotency_mismatch"


def test_deleting_a_database_needs_its_current_version(client: TestClient) -> None:
    create_database(client)
    missing = client.delete(f"/api/v1/database/{DB}")
    assert missing.status_code == 400
    stale = client.delete(f"/api/v1/database/{DB}?expected_seq=9")
    assert stale.status_code == 409
    assert stale.json()["data"] == {"aggregate_id": DB, "expected_seq": 9, "actual_seq": 1}
    assert client.delete(f"/api/v1/database/{DB}?expected_seq=1").status_code == 202
    assert client.get(f"/api/v1/database/exists/{DB}").json()["data"]["exists"] is False


def test_branches_are_created_listed_and_protected(client: TestClient) -> None:
    create_database(client)
    created = client.post(
        f"/api/v1/branch/{DB}/create",
        json={"branch_name": "feature/kr-rates", "description": "try"},
    )
    assert created.status_code == 201
    assert created.json()["status"] == "created"
    branches = client.get(f"/api/v1/branch/{DB}/list").json()["data"]["branches"]
    assert {b["name"] for b in branches} == {"main", "feature/kr-rates"}
    info = client.get(f"/api/v1/branch/{DB}/branch/feature/kr-rates/info").json()["data"]
    assert info["from_branch"] == "main"
    assert info["head"] == info["fork_commit"]
    for name in ("main", "release"):
        if name == "release":
            client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "release"})
        refused = client.delete(f"/api/v1/branch/{DB}/branch/{name}?force=true")
        assert refused.status_code == 403
    assert client.delete(f"/api/v1/branch/{DB}/branch/feature/kr-rates").status_code == 202
    assert client.get(f"/api/v1/branch/{DB}/branch/feature/kr-rates/info").status_code == 404
    bad = client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "no spaces"})
    assert bad.status_code == 400


def test_history_diff_and_merge_with_conflicts(client: TestClient) -> None:
    create_database(client)
    put(client, "main", "o1", {"qty": 1, "status": "new"})
    client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "what-if"})
    put(client, "what-if", "o1", {"qty": 2, "status": "new"})
    put(client, "main", "o1", {"qty": 3, "status": "new"})
    diff = client.get(f"/api/v1/version/{DB}/diff?from_ref=main&to_ref=what-if").json()["data"]
    assert diff["summary"] == {"added": 0, "modified": 1, "deleted": 0}
    assert diff["changes"][0]["fields"] == [
        {"field": "qty", "change": "modified", "from": 3, "to": 2}
    ]
    conflict = client.post(
        f"/api/v1/version/{DB}/merge", json={"source_branch": "what-if", "target_branch": "main"}
    )
    assert conflict.status_code == 409
    body = conflict.json()
    assert body["errors"][0]["code"] == "merge_conflict"
    assert body["data"]["conflicts"][0]["path"] == "instances/Order/o1/qty"
    resolved = client.post(
        f"/api/v1/version/{DB}/merge",
        json={
            "source_branch": "what-if",
            "target_branch": "main",
            "resolutions": [{"path": "instances/Order/o1/qty", "choice": "value", "value": 5}],
        },
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["data"]["merge"] == "merged"
    history = client.get(f"/api/v1/version/{DB}/history?branch=main&limit=2").json()["data"]
    assert history["total"] == 5
    newest = history["commits"][0]
    assert len(newest["parents"]) == 2
    ancestor = client.get(f"/api/v1/version/{DB}/common-ancestor?branch1=main&branch2=what-if")
    assert ancestor.json()["data"]["id"] == newest["parents"][1]


def test_a_dry_run_merge_reports_and_writes_nothing(client: TestClient) -> None:
    create_database(client)
    put(client, "main", "o1", {"qty": 1})
    client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "what-if"})
    put(client, "what-if", "o1", {"qty": 2})
    body: dict[str, Any] = {"source_branch": "what-if", "target_branch": "main", "dry_run": True}
    heads = client.get(f"/api/v1/branch/{DB}/list").json()["data"]["branches"]
    preview = client.post(f"/api/v1/version/{DB}/merge", json=body)
    assert preview.status_code == 200, preview.text
    assert preview.json()["data"]["merge"] == "fast_forward"
    assert client.get(f"/api/v1/branch/{DB}/list").json()["data"]["branches"] == heads
    put(client, "main", "o1", {"qty": 3})
    heads = client.get(f"/api/v1/branch/{DB}/list").json()["data"]["branches"]
    conflict = client.post(f"/api/v1/version/{DB}/merge", json=body)
    assert conflict.status_code == 409
    assert conflict.json()["data"]["conflicts"][0]["path"] == "instances/Order/o1/qty"
    body["resolutions"] = [{"path": "instances/Order/o1/qty", "choice": "source"}]
    resolved = client.post(f"/api/v1/version/{DB}/merge", json=body).json()["data"]
    assert (resolved["merge"], resolved["changed"]) == ("would_merge", 1)
    assert client.get(f"/api/v1/branch/{DB}/list").json()["data"]["branches"] == heads
    assert "command_id" not in resolved  # a preview is no command


def test_rollback_is_audited_and_refused_on_protected_branches(client: TestClient) -> None:
    create_database(client)
    client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "work"})
    first = put(client, "work", "o1", {"qty": 1})
    put(client, "work", "o1", {"qty": 2})
    refused = client.post(
        f"/api/v1/version/{DB}/rollback?branch=main",
        json={"target": "HEAD~1"},
        headers={"X-Actor": "ops"},
    )
    assert refused.status_code == 403
    done = client.post(
        f"/api/v1/version/{DB}/rollback?branch=work",
        json={"target": "HEAD~1"},
        headers={"X-Actor": "ops"},
    )
    assert done.status_code == 202, done.text
    assert done.json()["data"]["to"] == first
    audit = client.app.state.resources.audit  # type: ignore[attr-defined]
    entries = audit.query(action="rollback")
    assert [(e.outcome, e.target, e.actor) for e in entries] == [
        ("done", f"{DB}/work", "ops"),
        ("refused", f"{DB}/main", "ops"),
    ]
    assert audit.verify() == []


def test_rollback_is_off_unless_enabled(workdir: Path) -> None:
    with TestClient(create_app(load_settings())) as client:
        create_database(client)
        client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "work"})
        response = client.post(
            f"/api/v1/version/{DB}/rollback?branch=work", json={"target": "HEAD"}
        )
        assert response.status_code == 403
        assert "ENABLE_OMS_ROLLBACK" in response.json()["message"]


def test_revert_rebase_and_an_explicit_commit(client: TestClient) -> None:
    create_database(client)
    put(client, "main", "o1", {"qty": 1})
    bad = put(client, "main", "o2", {"qty": 9})
    reverted = client.post(f"/api/v1/version/{DB}/revert", json={"commit_id": bad[:12]})
    assert reverted.status_code == 202
    assert store_of(client).get(DB, "main", DocRef.of_instance("Order", "o2")) is None
    client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "topic"})
    put(client, "topic", "o3", {"qty": 3})
    put(client, "main", "o4", {"qty": 4})
    rebased = client.post(f"/api/v1/version/{DB}/rebase?branch=topic&onto=main")
    assert rebased.json()["data"]["rebase"] == "rebased"
    marker = client.post(
        f"/api/v1/version/{DB}/commit",
        json={"message": "release 1.0", "author": "alice", "branch": "main"},
    )
    assert marker.status_code == 202
    head = client.get(f"/api/v1/version/{DB}/history").json()["data"]["commits"][0]
    assert (head["message"], head["author"]) == ("release 1.0", "alice")


def test_unknown_things_answer_404(client: TestClient) -> None:
    assert client.get("/api/v1/branch/nothing/list").status_code == 404
    create_database(client)
    assert client.get(f"/api/v1/version/{DB}/diff?from_ref=main&to_ref=nope").status_code == 404
    assert client.get("/api/v1/commands/unknown/status").status_code == 404
