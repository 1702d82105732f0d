"""The admin guard: the token, a strict limit per address, and every call in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spice_harvester.adapters.sql.audit import SqlAuditLog
from spice_harvester.adapters.sql.database import SqlDatabase
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
