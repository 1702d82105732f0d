"""BFF's rate limits: token buckets in Redis shared by apps, in process when Redis is down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from spice_harvester.settings import Settings
from tests.api.bff_security_helpers import (
    REDIS_URL,
    MakeSettings,
    bff,
    issue_key,
    limit_headers,
    settings_factory,
)
from tests.postgres import unused_port

pytestmark = pytest.mark.redis


@pytest.fixture
def make_settings(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeSettings]:
    yield from settings_factory(monkeypatch)


def small_limit(make_settings: MakeSettings, limit: int = 3, **variables: str) -> Settings:
    return make_settings(
        BFF__RATE_LIMITING__DEFAULT_LIMIT=str(limit),
        BFF__RATE_LIMITING__WINDOW_SECONDS="60",
        **variables,
    )


def test_every_api_answer_carries_the_limit_headers(make_settings: MakeSettings) -> None:
    with bff(small_limit(make_settings, 10)) as client:
        answers = [
            client.get("/api/v1/whoami"),
            client.get("/api/v1/no-such-route"),
            client.post("/api/v1/whoami"),
        ]
    assert [answer.status_code for answer in answers] == [200, 404, 405]
    headers = [limit_headers(answer) for answer in answers]
    assert [found["x-ratelimit-limit"] for found in headers] == ["10", "10", "10"]
    assert [found["x-ratelimit-remaining"] for found in headers] == ["9", "8", "7"]
    # 10 per 60 s refill one token every 6 s: three spent are back within 18 s.
    assert [int(found["x-ratelimit-reset"]) for found in headers] == [6, 12, 18]


def test_past_the_limit_the_answer_is_429_with_retry_after(
    make_settings: MakeSettings,
) -> None:
    with bff(small_limit(make_settings)) as client:
        allowed = [client.get("/api/v1/whoami") for _ in range(3)]
        refused = client.get("/api/v1/whoami")
    assert [answer.status_code for answer in allowed] == [200, 200, 200]
    assert [answer.headers["x-ratelimit-remaining"] for answer in allowed] == ["2", "1", "0"]
    assert refused.status_code == 429
    body = refused.json()
    assert body["errors"][0]["code"] == "rate_limited"
    # 3 tokens per 60 s: one is back 20 s after the last was taken.
    assert 19 <= int(refused.headers["retry-after"]) <= 20
    assert body["data"] == {"retry_after": int(refused.headers["retry-after"])}
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert 59 <= int(refused.headers["x-ratelimit-reset"]) <= 60
    assert "x-request-id" in refused.headers


def test_each_key_has_its_own_budget_apart_from_the_address(
    make_settings: MakeSettings,
) -> None:
    settings = small_limit(make_settings, 2, BFF__AUTHENTICATION__API_KEY_ENABLED="true")
    first, _ = issue_key(settings, "first", "viewer")
    second, _ = issue_key(settings, "second", "viewer")
    with bff(settings) as client:
        for _ in range(2):
            assert client.get("/api/v1/whoami", headers={"X-API-Key": first}).status_code == 200
        assert client.get("/api/v1/whoami", headers={"X-API-Key": first}).status_code == 429
        assert client.get("/api/v1/whoami", headers={"X-API-Key": second}).status_code == 200
        # Without a valid key the client address is the bucket: unknown keys share it.
        assert client.get("/api/v1/whoami").status_code == 401
        assert client.get("/api/v1/whoami", headers={"X-API-Key": "sh_x"}).status_code == 401
        assert client.get("/api/v1/whoami", headers={"X-API-Key": "sh_y"}).status_code == 429


def test_the_bucket_lives_in_redis_and_is_shared_by_every_app_on_it(
    make_settings: MakeSettings,
) -> None:
    settings = small_limit(make_settings, 4)
    with bff(settings) as one, bff(settings) as other:
        assert one.get("/api/v1/whoami").headers["x-ratelimit-remaining"] == "3"
        assert other.get("/api/v1/whoami").headers["x-ratelimit-remaining"] == "2"
        assert one.get("/api/v1/whoami").headers["x-ratelimit-remaining"] == "1"
        assert other.get("/api/v1/whoami").headers["x-ratelimit-remaining"] == "0"
        assert one.get("/api/v1/whoami").status_code == 429
        assert other.get("/api/v1/whoami").status_code == 429
    prefix = settings.bff.rate_limiting.redis_prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.exists(f"{prefix}ip:testclient") == 1
        assert 0 < client.pttl(f"{prefix}ip:testclient") <= 60_000
    finally:
        client.close()


def test_when_redis_is_down_limits_hold_in_process_and_requests_go_on(
    make_settings: MakeSettings,
) -> None:
    settings = small_limit(make_settings, 2, REDIS_URL=f"redis://127.0.0.1:{unused_port()}/0")
    with bff(settings) as client:
        answers = [client.get("/api/v1/whoami") for _ in range(3)]
        health = client.get("/health").json()["data"]["dependencies"]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[1].headers["x-ratelimit-remaining"] == "0"
    assert "retry-after" in answers[2].headers
    assert health["redis"] == "down"


def test_health_is_never_limited(make_settings: MakeSettings) -> None:
    with bff(small_limit(make_settings, 1)) as client:
        answers = [client.get("/health") for _ in range(5)]
    # OMS is not running here, so BFF is unhealthy; what matters is that it is never 429.
    assert {answer.status_code for answer in answers} == {503}
    assert all(limit_headers(answer) == {} for answer in answers)


def test_rate_limiting_can_be_switched_off(make_settings: MakeSettings) -> None:
    settings = small_limit(make_settings, 1, BFF__RATE_LIMITING__ENABLED="false")
    with bff(settings) as client:
        answers = [client.get("/api/v1/whoami") for _ in range(5)]
    assert {answer.status_code for answer in answers} == {200}
    assert all(limit_headers(answer) == {} for answer in answers)
