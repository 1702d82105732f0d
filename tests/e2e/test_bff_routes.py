"""Real BFF and OMS processes: the error answers of the BFF routes that tests/api covers only
on their happy path (branches in the REST form, the class list, versions, merge simulation,
pull requests), each with OMS's status, code and field passed through."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import stack_in, wait_for

pytestmark = pytest.mark.e2e
DB = "routes"
CUSTOMER = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "properties": [
        {"name": "customer_id", "type": "string"},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
    ],
}


def data_of(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The first error item of an error answer with `status`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    first: dict[str, Any] = body["errors"][0]
    return first


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One OMS and one BFF process for the module, with customer c1 on main and a branch
    `edit` where c1 is renamed."""
    with stack_in(tmp_path_factory.mktemp("routes")) as stack:
        stack.spice("serve", "oms")
        wait_for(f"{stack.url('oms')}/health")
        stack.spice("serve", "bff")
        wait_for(f"{stack.url('bff')}/health")
        with httpx.Client(base_url=stack.url("bff"), timeout=30) as client:
            data_of(client.post("/api/v1/databases", json={"name": DB}), 202)
            data_of(client.post(f"/api/v1/database/{DB}/ontology", json=CUSTOMER), 202)
            create = f"/api/v1/database/{DB}/instances/고객/create"
            data_of(client.post(create, json={"data": {"customer_id": "c1", "이름": "Kim"}}), 202)
            branch = client.post(f"/api/v1/databases/{DB}/branches", json={"branch_name": "edit"})
            data_of(branch, 201)
            data_of(
                client.put(
                    f"/api/v1/database/{DB}/instances/Customer/c1/update",
                    params={"branch": "edit", "expected_seq": 1},
                    json={"data": {"Name": "Lee"}},
                ),
                202,
            )
            yield client


def test_branches_in_the_rest_form_answer_oms_s_errors(bff: httpx.Client) -> None:
    branches = f"/api/v1/databases/{DB}/branches"
    names = [b["name"] for b in data_of(bff.get(branches), 200)["branches"]]
    assert sorted(names) == ["edit", "main"]
    missing = error_of(bff.get("/api/v1/databases/nowhere/branches"), 404)
    assert (missing["code"], missing["field"]) == ("not_found", "db_name")
    taken = error_of(bff.post(branches, json={"branch_name": "edit"}), 409)
    assert (taken["code"], taken["field"]) == ("already_exists", "branch_name")
    unknown_start = bff.post(branches, json={"branch_name": "x", "from_branch": "nope"})
    assert error_of(unknown_start, 404)["field"] == "ref"


def test_the_class_list_of_an_unknown_database_is_404(bff: httpx.Client) -> None:
    listed = data_of(bff.get(f"/api/v1/database/{DB}/ontology/list"), 200)
    assert [c["class_label"] for c in listed["ontologies"]] == ["Customer"]
    missing = error_of(bff.get("/api/v1/database/nowhere/ontology/list"), 404)
    assert "'nowhere'" in missing["message"]


def test_versions_of_an_unknown_database_or_branch_are_404(bff: httpx.Client) -> None:
    versions = data_of(bff.get(f"/api/v1/databases/{DB}/versions", params={"branch": "edit"}), 200)
    assert versions["versions"][0]["message"] == "Update Customer/c1"
    assert error_of(bff.get("/api/v1/databases/nowhere/versions"), 404)["field"] == "db_name"
    unknown = bff.get(f"/api/v1/databases/{DB}/versions", params={"branch": "nope"})
    assert "'nope'" in error_of(unknown, 404)["message"]


def test_a_merge_simulated_from_an_unknown_branch_is_404(bff: httpx.Client) -> None:
    simulate = f"/api/v1/database/{DB}/merge/simulate"
    preview = data_of(bff.post(simulate, json={"source_branch": "edit"}), 200)
    assert (preview["mergeable"], preview["merge"]) == (True, "fast_forward")
    assert error_of(bff.post(simulate, json={"source_branch": "nope"}), 404)["field"] == "ref"
    refused = bff.post(simulate, json={"source_branch": "edit", "strategy": "sideways"})
    assert error_of(refused, 422)["field"] == "strategy"


def test_pull_requests_answer_every_refusal(bff: httpx.Client) -> None:
    prs = f"/api/v1/database/{DB}/pull-requests"
    unknown_branch = bff.post(prs, json={"source_branch": "nope", "title": "t"})
    assert error_of(unknown_branch, 404)["field"] == "source_branch"
    onto_itself = bff.post(prs, json={"source_branch": "main", "title": "t"})
    assert error_of(onto_itself, 422)["field"] == "source_branch"
    assert error_of(bff.get("/api/v1/database/nowhere/pull-requests"), 404)["field"] == "db_name"
    assert error_of(bff.get(prs, params={"status": "weird"}), 400)["field"] == "query.status"
    for method, action in (
        ("GET", "/diff"),
        ("POST", "/reviews"),
        ("POST", "/merge"),
        ("POST", "/close"),
    ):
        body = {"state": "approved"} if action == "/reviews" else None
        gone = bff.request(method, f"{prs}/99{action}", json=body)
        assert error_of(gone, 404)["field"] == "pr_id", action

    pr = data_of(bff.post(prs, json={"source_branch": "edit", "title": "rename c1"}), 201)
    review = bff.post(f"{prs}/{pr['id']}/reviews", json={"state": "lgtm"})
    assert error_of(review, 422)["field"] == "state"
    assert data_of(bff.post(f"{prs}/{pr['id']}/close"), 200)["status"] == "closed"
    for action in ("/close", "/merge"):
        closed = error_of(bff.post(f"{prs}/{pr['id']}{action}"), 422)
        assert (closed["code"], closed["field"]) == ("validation_failed", "status")
