"""BFF version control over a real OMS: versions, diff, merge simulated and resolved, pull
requests, and command status once or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.bff_support import accepted, bff_client, error_of, new_db, ok, oms_process

CUSTOMER: dict[str, Any] = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "properties": [
        {"name": "customer_id", "type": "string"},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
    ],
}


@pytest.fixture(scope="module")
def oms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from oms_process(tmp_path_factory)


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    yield from bff_client(tmp_path_factory, oms_url)


@pytest.fixture
def db(bff: TestClient) -> str:
    """Customer c1 "Kim" on main, and a branch `edit` from there."""
    name = new_db(bff, "vc")
    accepted(bff.post(f"/api/v1/database/{name}/ontology", json=CUSTOMER))
    path = f"/api/v1/database/{name}/instances/고객/create"
    accepted(bff.post(path, json={"data": {"customer_id": "c1", "이름": "Kim"}}))
    branch = bff.post(f"/api/v1/branch/{name}/create", json={"branch_name": "edit"})
    assert branch.status_code == 201, branch.text
    return name


def rename(bff: TestClient, db: str, branch: str, new: str, version: int) -> None:
    path = f"/api/v1/database/{db}/instances/Customer/c1/update"
    params: dict[str, Any] = {"branch": branch, "expected_seq": version}
    accepted(bff.put(path, params=params, json={"data": {"Name": new}}))


def name_on(bff: TestClient, db: str, branch: str) -> str:
    path = f"/api/v1/database/{db}/class/Customer/instance/c1"
    data = ok(bff.get(path, params={"branch": branch}))
    name: str = data["data"]["name"]
    return name


def test_versions_are_the_branch_s_commits_newest_first(bff: TestClient, db: str) -> None:
    rename(bff, db, "edit", "Lee", 1)
    main = ok(bff.get(f"/api/v1/databases/{db}/versions"))
    assert [v["message"] for v in main["versions"]][:2] == [
        "Create Customer/c1",
        "Create class Customer",
    ]
    assert main["versions"][0]["author"] == "anonymous"
    assert main["total"] == len(main["versions"])
    edit = ok(bff.get(f"/api/v1/databases/{db}/versions", params={"branch": "edit", "limit": 1}))
    assert edit["total"] == main["total"] + 1
    assert edit["versions"][0]["parents"][0] == main["versions"][0]["id"]


def test_diff_counts_documents_between_refs(bff: TestClient, db: str) -> None:
    rename(bff, db, "edit", "Lee", 1)
    diff = ok(bff.get(f"/api/v1/database/{db}/diff", params={"from_ref": "main", "to_ref": "edit"}))
    assert diff["summary"] == {"added": 0, "modified": 1, "deleted": 0}
    assert diff["changes"][0]["path"] == "instances/Customer/c1"
    missing = bff.get(f"/api/v1/database/{db}/diff", params={"from_ref": "main"})
    assert error_of(missing, 400)["field"] == "query.to_ref"


def test_a_merge_is_simulated_without_writing(bff: TestClient, db: str) -> None:
    rename(bff, db, "edit", "Lee", 1)
    body = {"source_branch": "edit", "target_branch": "main"}
    preview = ok(bff.post(f"/api/v1/database/{db}/merge/simulate", json=body))
    assert preview["mergeable"] is True
    assert preview["merge"] == "fast_forward"
    assert name_on(bff, db, "main") == "Kim"  # nothing written

    rename(bff, db, "main", "Park", 1)
    conflicted = ok(bff.post(f"/api/v1/database/{db}/merge/simulate", json=body))
    assert conflicted["mergeable"] is False
    [conflict] = conflicted["conflicts"]
    assert conflict["path"] == "instances/Customer/c1/name"
    assert (conflict["source"], conflict["target"]) == ("Lee", "Park")
    resolution = [{"path": conflict["path"], "choice": "source"}]
    resolved = ok(
        bff.post(f"/api/v1/database/{db}/merge/simulate", json={**body, "resolutions": resolution})
    )
    assert (resolved["mergeable"], resolved["merge"]) == (True, "would_merge")
    assert name_on(bff, db, "main") == "Park"


def test_a_merge_is_resolved_or_refused_with_its_conflicts(bff: TestClient, db: str) -> None:
    rename(bff, db, "edit", "Lee", 1)
    rename(bff, db, "main", "Park", 1)
    body: dict[str, Any] = {"source_branch": "edit", "target_branch": "main"}
    refused = bff.post(f"/api/v1/database/{db}/merge/resolve", json=body)
    assert error_of(refused, 409)["code"] == "merge_conflict"
    assert refused.json()["data"]["conflicts"][0]["path"] == "instances/Customer/c1/name"
    body["resolutions"] = [
        {"path": "instances/Customer/c1/name", "choice": "value", "value": "Choi"}
    ]
    merged = bff.post(f"/api/v1/database/{db}/merge/resolve", json=body)
    assert merged.status_code == 200, merged.text
    assert merged.json()["data"]["merge"] == "merged"
    assert name_on(bff, db, "main") == "Choi"
    theirs = bff.post(
        f"/api/v1/database/{db}/merge/resolve",
        json={"source_branch": "edit", "target_branch": "main", "strategy": "theirs"},
    )
    assert theirs.json()["data"]["merge"] == "up_to_date"


def test_a_pull_request_is_opened_reviewed_and_merged(bff: TestClient, db: str) -> None:
    rename(bff, db, "edit", "Lee", 1)
    prs = f"/api/v1/database/{db}/pull-requests"
    opened = bff.post(prs, json={"source_branch": "edit", "title": "이름 변경"})
    assert opened.status_code == 201, opened.text
    pr = opened.json()["data"]
    assert (pr["mergeable"], pr["author"]) == (True, "anonymous")
    assert [p["id"] for p in ok(bff.get(prs, params={"status": "open"}))["pull_requests"]] == [
        pr["id"]
    ]
    assert ok(bff.get(f"{prs}/{pr['id']}"))["title"] == "이름 변경"
    diff = ok(bff.get(f"{prs}/{pr['id']}/diff"))
    assert diff["summary"] == {"added": 0, "modified": 1, "deleted": 0}
    review = bff.post(f"{prs}/{pr['id']}/reviews", json={"state": "approved"})
    assert review.status_code == 201, review.text
    merged = bff.post(f"{prs}/{pr['id']}/merge", json={})
    assert merged.status_code == 200, merged.text
    assert name_on(bff, db, "main") == "Lee"
    assert error_of(bff.get(f"{prs}/999"), 404)["code"] == "not_found"
    second = bff.post(prs, json={"source_branch": "edit", "title": "again"}).json()["data"]
    closed = ok(bff.post(f"{prs}/{second['id']}/close"))
    assert closed["status"] == "closed"


def test_command_status_and_its_event_stream(bff: TestClient, db: str) -> None:
    path = f"/api/v1/database/{db}/instances/Customer/create"
    command = accepted(bff.post(path, json={"data": {"customer_id": "c2"}}))["command_id"]
    with bff.stream("GET", f"/api/v1/commands/{command}/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    events = [block for block in text.split("\n\n") if block.strip()]
    # Ends with COMPLETED once the worker beside OMS has projected the commit; a PROCESSING
    # event (committed, projections pending) may come first.
    last = events[-1].splitlines()
    assert last[:2] == ["event: status", f"id: {len(events)}"]
    assert json.loads(last[2].removeprefix("data: "))["status"] == "COMPLETED"
    status = ok(bff.get(f"/api/v1/commands/{command}/status"))
    assert status["status"] == "COMPLETED"
    assert status["result"]["aggregate_id"] == "c2"
    assert status["progress"]["committed"] is True
    unknown = bff.get("/api/v1/commands/no-such-command/events")
    assert error_of(unknown, 404)["code"] == "not_found"
    assert error_of(bff.get("/api/v1/commands/no-such-command/status"), 404)
