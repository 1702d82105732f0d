"""The admin guard: the token, a strict limit per address, and every call in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spice_harvester.adapters.sql.audit import SqlAuditLog
from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.bootstrap import open_database
from spice_harvester.settings import Settings
from tests.api.bff_security_helpers import (
    ADMIN_TOKEN,
    MakeSettings,
    bff,
    limit_headers,
    settings_factory,
)

pytestmark = pytest.mark.redis
AUDIT = "/api/v1/admin/audit"
OPERATOR = {"X-Admin-Token": ADMIN_TOKEN, "X-Admin-Actor": "ops@example.com"}


@pytest.fixture
def make_settings(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeSettings]:
    yield from settings_factory(monkeypatch)


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings(BFF_ADMIN_TOKEN=ADMIN_TOKEN)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with bff(settings) as test_client:
        yield test_client


def audit_entries(settings: Settings) -> list[dict[str, Any]]:
    """Oldest first, read straight from the database."""
    database = SqlDatabase.from_settings(settings, "bff")
    try:
        return [entry.as_dict() for entry in reversed(SqlAuditLog(database).query(limit=1000))]
    finally:
        database.close()


def test_with_no_admin_token_set_every_admin_call_is_403_and_audited(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings()
    with bff(settings) as client:
        response = client.get(AUDIT, headers=OPERATOR)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "forbidden"
    assert "BFF_ADMIN_TOKEN is not set" in response.json()["message"]
    (entry,) = audit_entries(settings)
    assert entry["outcome"] == "refused"
    assert entry["details"]["status"] == 403
    assert entry["actor"] == "ops@example.com"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Admin-Token": "wrong-token"},
        {"X-Admin-Token": ADMIN_TOKEN[:-1]},
        {"X-Admin-Token": ADMIN_TOKEN + "x"},
        {},
    ],
    ids=["wrong", "prefix", "longer", "missing"],
)
def test_a_wrong_or_missing_token_is_403(
    client: TestClient, settings: Settings, headers: dict[str, str]
) -> None:
    response = client.get(AUDIT, headers=headers)
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "X-Admin-Token"
    (entry,) = audit_entries(settings)
    assert (entry["outcome"], entry["actor"]) == ("refused", "anonymous")


def test_the_right_token_reads_the_audit_with_hashes_and_records_the_actor(
    client: TestClient, settings: Settings
) -> None:
    client.get(AUDIT, headers={"X-Admin-Token": "nope", "X-Admin-Actor": "mallory"})
    response = client.get(AUDIT, headers=OPERATOR)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["total"] == 2
    newest, oldest = data["entries"]
    assert (newest["actor"], newest["outcome"]) == ("ops@example.com", "allowed")
    assert (oldest["actor"], oldest["outcome"]) == ("mallory", "refused")
    assert newest["service"] == "bff"
    assert newest["action"] == "admin.read_audit"
    assert newest["target"] == "GET /api/v1/admin/audit"
    assert newest["client"] == "testclient"
    assert newest["prev_hash"] == oldest["hash"]
    assert len(newest["hash"]) == 64
    assert limit_headers(response)["x-ratelimit-limit"] == "10"


def test_the_audit_filters_by_actor_action_and_time_and_pages(
    client: TestClient, settings: Settings
) -> None:
    for actor in ("a", "b", "a"):
        client.get(AUDIT, headers={**OPERATOR, "X-Admin-Actor": actor})
    mine = client.get(AUDIT, params={"actor": "a", "limit": 1}, headers=OPERATOR).json()["data"]
    assert (mine["total"], len(mine["entries"]), mine["limit"]) == (2, 1, 1)
    second = client.get(AUDIT, params={"actor": "a", "offset": 1}, headers=OPERATOR)
    assert [entry["actor"] for entry in second.json()["data"]["entries"]] == ["a"]
    later = client.get(AUDIT, params={"since": "2999-01-01T00:00:00"}, headers=OPERATOR)
    assert later.json()["data"]["total"] == 0
    earlier = client.get(
        AUDIT,
        params={"until": "2999-01-01T00:00:00+09:00", "action": "admin.read_audit"},
        headers=OPERATOR,
    )
    assert earlier.json()["data"]["total"] == 7
    assert client.get(AUDIT, params={"limit": 0}, headers=OPERATOR).status_code == 400


def test_the_eleventh_admin_call_in_a_minute_is_429_and_audited_too(
    client: TestClient, settings: Settings
) -> None:
    answers = [client.get(AUDIT, headers=OPERATOR) for _ in range(11)]
    assert [answer.status_code for answer in answers] == [200] * 10 + [429]
    refused = answers[-1]
    assert refused.json()["errors"][0]["code"] == "rate_limited"
    assert 5 <= int(refused.headers["retry-after"]) <= 6
    assert refused.headers.get_list("retry-after") == [refused.headers["retry-after"]]
    assert refused.headers["x-ratelimit-remaining"] == "0"
    entries = audit_entries(settings)
    assert [entry["outcome"] for entry in entries] == ["allowed"] * 10 + ["refused"]
    assert entries[-1]["details"]["status"] == 429


def test_the_admin_bucket_is_apart_from_the_general_one(make_settings: MakeSettings) -> None:
    settings = make_settings(
        BFF_ADMIN_TOKEN=ADMIN_TOKEN,
        BFF__RATE_LIMITING__DEFAULT_LIMIT="2",
        BFF__RATE_LIMITING__ENABLED="true",
    )
    with bff(settings) as client:
        assert [client.get("/api/v1/whoami").status_code for _ in range(3)] == [200, 200, 429]
        assert client.get(AUDIT, headers=OPERATOR).status_code == 200


def test_the_chain_holds_after_admin_calls(client: TestClient, settings: Settings) -> None:
    for headers in (OPERATOR, {}, OPERATOR):
        client.get(AUDIT, headers=headers)
    database = SqlDatabase.from_settings(settings, "bff")
    try:
        check = SqlAuditLog(database).check()
    finally:
        database.close()
    assert (check.count, check.holds) == (3, True)


RECOMPUTE = "/api/v1/admin/recompute-projection"


@pytest.fixture
def shop(settings: Settings) -> str:
    """A database in the store BFF shares its SQL database with."""
    database = open_database(settings, "bff")
    try:
        SqlVersionedStore(database).create_database("shop", actor="tests")
    finally:
        database.close()
    return "shop"


def test_recompute_projection_queues_a_job_whose_status_reads_back(
    client: TestClient, settings: Settings, shop: str
) -> None:
    body = {"db_name": shop, "projection": "search", "branch": "main", "promote": True}
    answer = client.post(RECOMPUTE, json=body, headers=OPERATOR)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"
    data = answer.json()["data"]
    assert data["status"] == "queued"
    job_id = data["job_id"]

    read = client.get(f"{RECOMPUTE}/{job_id}", headers=OPERATOR)
    assert read.status_code == 200
    job = read.json()["data"]
    assert job["job_id"] == job_id
    assert (job["projection"], job["db_name"], job["branch"]) == ("search", shop, "main")
    assert (job["promote"], job["allow_delete_base_index"]) == (True, False)
    assert job["status"] == "queued"
    assert job["requested_by"] == "admin:ops@example.com"
    assert job["progress"]["events_done"] == 0
    actions = [entry["action"] for entry in audit_entries(settings)]
    assert actions == ["admin.recompute_projection", "admin.read_recompute_job"]


def test_recompute_projection_needs_the_admin_token(client: TestClient, shop: str) -> None:
    body = {"db_name": shop, "projection": "search"}
    assert client.post(RECOMPUTE, json=body).status_code == 403
    assert client.get(f"{RECOMPUTE}/anything").status_code == 403
    wrong = {"X-Admin-Token": "wrong-token"}
    assert client.post(RECOMPUTE, json=body, headers=wrong).status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"projection": "nope"}, 400, "projection", "unknown projection 'nope'"),
        ({"projection": "search", "db_name": "missing"}, 404, "db_name", "'missing'"),
        (
            {"projection": "search", "db_name": "shop", "branch": "missing"},
            404,
            "branch",
            "branch 'missing' does not exist",
        ),
        (
            {"projection": "search", "from_ts": "2024-02-01T00:00:00", "to_ts": "2024-01-01"},
            400,
            "from_ts",
            "is after to_ts",
        ),
        ({"projection": "search", "branch": "main"}, 400, "branch", "needs its database"),
    ],
    ids=["projection", "database", "branch", "window", "branch-alone"],
)
def test_recompute_projection_names_what_is_wrong(
    client: TestClient,
    shop: str,
    body: dict[str, Any],
    status: int,
    field: str,
    words: str,
) -> None:
    answer = client.post(RECOMPUTE, json=body, headers=OPERATOR)
    assert answer.status_code == status, answer.text
    error = answer.json()["errors"][0]
    assert error["field"] == field
    assert words in answer.json()["message"]


def test_a_second_recompute_of_a_projection_waits_and_an_unknown_job_is_404(
    client: TestClient, shop: str
) -> None:
    body = {"projection": "counts", "db_name": shop}
    assert client.post(RECOMPUTE, json=body, headers=OPERATOR).status_code == 202
    again = client.post(RECOMPUTE, json={"projection": "counts"}, headers=OPERATOR)
    assert again.status_code == 409
    assert "still active" in again.json()["message"]
    unknown = client.get(f"{RECOMPUTE}/no-such-job", headers=OPERATOR)
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["field"] == "job_id"
