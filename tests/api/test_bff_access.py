"""Who may call BFF: API keys, roles and database lists, in process on SQLite and Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.ports.api_keys import Role
from spice_harvester.services.bff.security.keys import KEY_CACHE_SECONDS
from tests.api.bff_security_helpers import (
    MakeSettings,
    bff,
    issue_key,
    limit_headers,
    revoke_key,
    settings_factory,
)

pytestmark = pytest.mark.redis
KEYS_ON = {"BFF__AUTHENTICATION__API_KEY_ENABLED": "true"}


@pytest.fixture
def make_settings(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeSettings]:
    yield from settings_factory(monkeypatch)


def _error_code(body: dict[str, object]) -> object:
    errors = body["errors"]
    assert isinstance(errors, list)
    return errors[0]["code"]


def test_without_keys_enabled_every_caller_is_the_anonymous_admin(
    make_settings: MakeSettings,
) -> None:
    with bff(make_settings()) as client:
        response = client.get("/api/v1/whoami")
        assert response.status_code == 200
        assert response.json()["data"] == {
            "actor": "anonymous",
            "role": "admin",
            "databases": None,
            "key_id": None,
        }
        assert client.delete("/api/v1/probe/settings").status_code == 200


def test_a_missing_key_is_401_with_rate_limit_headers(make_settings: MakeSettings) -> None:
    with bff(make_settings(**KEYS_ON)) as client:
        response = client.get("/api/v1/whoami")
    assert response.status_code == 401
    body = response.json()
    assert _error_code(body) == "unauthorized"
    assert "X-API-Key" in body["message"]
    assert body["errors"][0]["field"] == "X-API-Key"
    assert set(limit_headers(response)) == {
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    }


def test_an_unknown_key_is_401(make_settings: MakeSettings) -> None:
    with bff(make_settings(**KEYS_ON)) as client:
        response = client.get("/api/v1/whoami", headers={"X-API-Key": "sh_made-up"})
    assert response.status_code == 401
    assert response.json()["message"] == "unknown API key"


def test_a_revoked_key_is_401(make_settings: MakeSettings) -> None:
    settings = make_settings(**KEYS_ON)
    secret, key_id = issue_key(settings, "gone", "admin")
    revoke_key(settings, key_id)
    with bff(settings) as client:
        response = client.get("/api/v1/whoami", headers={"X-API-Key": secret})
    assert response.status_code == 401
    assert _error_code(response.json()) == "unauthorized"
    assert "revoked" in response.json()["message"]


def test_a_key_revoked_while_in_use_is_refused_within_the_cache_time(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(**KEYS_ON)
    secret, key_id = issue_key(settings, "leaving", "viewer")
    with bff(settings) as client:
        headers = {"X-API-Key": secret}
        assert client.get("/api/v1/whoami", headers=headers).status_code == 200
        revoke_key(settings, key_id)
        deadline = time.monotonic() + KEY_CACHE_SECONDS + 2
        while client.get("/api/v1/whoami", headers=headers).status_code == 200:
            assert time.monotonic() < deadline, "a revoked key was still accepted"
            time.sleep(0.25)
        assert client.get("/api/v1/whoami", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("role", "read", "write", "administer"),
    [
        ("viewer", 200, 403, 403),
        ("editor", 200, 200, 403),
        ("admin", 200, 200, 200),
    ],
)
def test_each_role_may_do_what_its_rank_allows(
    make_settings: MakeSettings, role: Role, read: int, write: int, administer: int
) -> None:
    settings = make_settings(**KEYS_ON)
    secret, key_id = issue_key(settings, f"{role}-key", role)
    headers = {"X-API-Key": secret}
    with bff(settings) as client:
        whoami = client.get("/api/v1/whoami", headers=headers)
        got_read = client.get("/api/v1/probe/sales/read", headers=headers)
        got_write = client.post("/api/v1/probe/sales/write", headers=headers)
        got_admin = client.delete("/api/v1/probe/settings", headers=headers)
    assert whoami.json()["data"] == {
        "actor": f"{role}-key",
        "role": role,
        "databases": None,
        "key_id": key_id,
    }
    assert (got_read.status_code, got_write.status_code, got_admin.status_code) == (
        read,
        write,
        administer,
    )
    assert got_read.json() == {"db": "sales", "actor": f"{role}-key"}
    for refused in (r for r in (got_write, got_admin) if r.status_code == 403):
        assert _error_code(refused.json()) == "forbidden"
        assert f"is {role}" in refused.json()["message"]


def test_a_key_limited_to_some_databases_is_403_on_the_others(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(**KEYS_ON)
    secret, _ = issue_key(settings, "sales-team", "editor", ["sales", "sales_eu"])
    headers = {"X-API-Key": secret}
    with bff(settings) as client:
        assert client.get("/api/v1/whoami", headers=headers).json()["data"]["databases"] == [
            "sales",
            "sales_eu",
        ]
        assert client.post("/api/v1/probe/sales_eu/write", headers=headers).status_code == 200
        assert client.get("/api/v1/probe/sales/read", headers=headers).status_code == 200
        refused = client.get("/api/v1/probe/payroll/read", headers=headers)
    assert refused.status_code == 403
    assert _error_code(refused.json()) == "forbidden"
    assert "'payroll'" in refused.json()["message"]


def test_production_checks_keys_even_when_the_setting_says_not_to(
    make_settings: MakeSettings, workdir: Path
) -> None:
    development = make_settings()
    secret, _ = issue_key(development, "prod-reader", "viewer")  # migrates the database too
    production = make_settings(
        APP_ENV="production",
        SECRET_KEY="p" * 40,
        BFF__AUTHENTICATION__API_KEY_ENABLED="false",
    )
    with bff(production) as client:
        assert client.get("/api/v1/whoami").status_code == 401
        assert client.get("/api/v1/whoami", headers={"X-API-Key": secret}).status_code == 200


def test_a_key_in_use_records_when_it_was_last_used(make_settings: MakeSettings) -> None:
    from spice_harvester.adapters.sql.api_keys import SqlApiKeys

    settings = make_settings(**KEYS_ON)
    secret, _ = issue_key(settings, "tracked", "viewer")
    with bff(settings) as client:
        for _ in range(3):
            assert client.get("/api/v1/whoami", headers={"X-API-Key": secret}).status_code == 200
    database = SqlDatabase.from_settings(settings, "bff")
    try:
        (key,) = SqlApiKeys(database).list_keys()
    finally:
        database.close()
    assert key.last_used_at is not None
