"""BFF databases and branches over a real OMS: both path forms, OMS's statuses passed on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from tests.api.bff_support import accepted, bff_client, error_of, new_db, ok, oms_process
from tests.postgres import unused_port


@pytest.fixture(scope="module")
def oms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from oms_process(tmp_path_factory)


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    yield from bff_client(tmp_path_factory, oms_url)


def test_health_checks_oms(bff: TestClient) -> None:
    health = ok(bff.get("/health"))
    assert health["dependencies"]["oms"] == "ok"


def test_a_database_is_created_listed_read_and_deleted(bff: TestClient) -> None:
    created = bff.post("/api/v1/databases", json={"name": "shop_db", "description": "가게"})
    assert accepted(created)["aggregate_id"] == "shop_db"
    listed = ok(bff.get("/api/v1/databases", params={"limit": 1000}))
    assert "shop_db" in [d["name"] for d in listed["databases"]]
    assert {"databases", "total", "limit", "offset"} <= set(listed)
    read = ok(bff.get("/api/v1/databases/shop_db"))
    assert read["description"] == "가게"
    stale = bff.delete("/api/v1/databases/shop_db", params={"expected_seq": read["version"] + 5})
    assert error_of(stale, 409)["code"] == "occ_conflict"
    assert stale.json()["data"]["actual_seq"] == read["version"]
    accepted(bff.delete("/api/v1/databases/shop_db", params={"expected_seq": read["version"]}))
    assert error_of(bff.get("/api/v1/databases/shop_db"), 404)["code"] == "not_found"


def test_branches_in_both_path_forms(bff: TestClient) -> None:
    db = new_db(bff, "branches")
    created = bff.post(
        f"/api/v1/databases/{db}/branches", json={"branch_name": "feature/x", "from_branch": "main"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "created"
    manual = bff.post(f"/api/v1/branch/{db}/create", json={"branch_name": "backup"})
    assert manual.status_code == 201, manual.text
    names = [b["name"] for b in ok(bff.get(f"/api/v1/databases/{db}/branches"))["branches"]]
    assert sorted(names) == ["backup", "feature/x", "main"]
    listed = ok(bff.get(f"/api/v1/branch/{db}/list", params={"limit": 1, "offset": 1}))
    assert (listed["total"], len(listed["branches"])) == (3, 1)
    info = ok(bff.get(f"/api/v1/databases/{db}/branches/feature/x"))
    assert info["name"] == "feature/x"
    assert info["head"] == ok(bff.get(f"/api/v1/databases/{db}/branches/main"))["head"]
    accepted(bff.delete(f"/api/v1/databases/{db}/branches/feature/x"))
    missing = bff.get(f"/api/v1/databases/{db}/branches/feature/x")
    assert error_of(missing, 404)["code"] == "not_found"
    taken = bff.post(f"/api/v1/branch/{db}/create", json={"branch_name": "backup"})
    assert error_of(taken, 409)["code"] == "already_exists"


def test_main_is_never_deleted_even_with_force(bff: TestClient) -> None:
    db = new_db(bff, "branches")
    refused = bff.delete(f"/api/v1/databases/{db}/branches/main", params={"force": "true"})
    assert error_of(refused, 403)["code"] == "forbidden"


def test_an_unknown_database_is_404_from_oms(bff: TestClient) -> None:
    assert error_of(bff.get("/api/v1/branch/nowhere_db/list"), 404)["code"] == "not_found"
    bad_name = bff.post("/api/v1/databases", json={"name": "Bad Name!"})
    assert error_of(bad_name, 422)["field"] == "name"


def test_with_oms_unreachable_routes_and_health_answer_503(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    nowhere = f"http://127.0.0.1:{unused_port()}"
    with contextmanager(bff_client)(tmp_path_factory, nowhere) as down:
        for response in (
            down.get("/api/v1/databases"),
            down.post("/api/v1/databases", json={"name": "never_made"}),
            down.get("/api/v1/database/some_db/class/Thing/instances"),
        ):
            error = error_of(response, 503)
            assert error["code"] == "dependency_unavailable"
            assert "oms" in error["message"]
        health = down.get("/health")
        assert health.status_code == 503
        assert health.json()["data"]["dependencies"]["oms"] == "down"
