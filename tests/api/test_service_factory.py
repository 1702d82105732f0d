"""The shared service factory, in process: envelope, errors, ids, hosts, CORS, limits, health."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel

from spice_harvester.domain.errors import ConcurrencyConflict, NotFound
from spice_harvester.services.factory import ServiceInfo, build_service, create_fastapi_service
from spice_harvester.settings import Settings, load_settings

probe = APIRouter()


class Thing(BaseModel):
    name: str
    size: int


@probe.post("/api/v1/things")
def make_thing(thing: Thing, limit: int = 10) -> dict[str, object]:
    thing.name.encode("utf-8")  # as every store does; a lone surrogate cannot be encoded
    return {"name": thing.name, "limit": limit}


@probe.get("/api/v1/missing")
def missing() -> None:
    raise NotFound("thing 'x' does not exist", field="id")


@probe.get("/api/v1/stale")
def stale() -> None:
    raise ConcurrencyConflict("Person/1", 2, 3)


@probe.get("/api/v1/broken")
def broken() -> None:
    raise RuntimeError("secret internals")


def app_with_probe(settings: Settings) -> TestClient:
    info = ServiceInfo("OMS", "oms", "test", "probe service", settings.oms.server.port)
    return TestClient(
        create_fastapi_service(info, settings, [probe]), raise_server_exceptions=False
    )


@pytest.fixture
def settings(workdir: Path) -> Settings:
    return load_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with app_with_probe(settings) as test_client:
        yield test_client


def test_health_reports_each_dependency(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["data"]["status"] == "healthy"
    assert body["data"]["service"] == "OMS"
    assert body["data"]["dependencies"] == {"database": "ok", "redis": "absent"}


def test_a_redis_that_is_down_is_reported_but_does_not_fail_health(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with app_with_probe(load_settings()) as test_client:
        response = test_client.get("/health")
    assert response.status_code == 200
    assert response.json()["data"]["dependencies"]["redis"] == "down"


@pytest.mark.redis
def test_a_live_redis_is_reported_ok(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with app_with_probe(load_settings()) as test_client:
        response = test_client.get("/health")
    assert response.json()["data"]["dependencies"]["redis"] == "ok"


def test_funnel_has_no_database_and_bff_checks_oms(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS_BASE_URL", "http://127.0.0.1:1")
    settings = load_settings()
    with TestClient(build_service("funnel", [], settings)) as funnel:
        assert funnel.get("/health").json()["data"]["dependencies"] == {"redis": "absent"}
    with TestClient(build_service("bff", [], settings)) as bff:
        response = bff.get("/health")
    # Nothing listens on port 1, so BFF must say OMS is down.
    assert response.status_code == 503
    body = response.json()
    assert body["data"]["dependencies"]["oms"] == "down"
    assert body["errors"][0]["code"] == "dependency_unavailable"
    assert body["errors"][0]["field"] == "oms"
    assert "oms" in body["message"]


def test_unknown_routes_answer_404_in_the_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "status": "error",
        "message": "Not Found",
        "data": None,
        "errors": [{"code": "not_found", "message": "Not Found"}],
    }


def test_domain_errors_map_to_their_status_and_code(client: TestClient) -> None:
    missing_response = client.get("/api/v1/missing")
    assert missing_response.status_code == 404
    assert missing_response.json()["errors"] == [
        {"code": "not_found", "message": "thing 'x' does not exist", "field": "id"}
    ]
    stale_response = client.get("/api/v1/stale")
    assert stale_response.status_code == 409
    body = stale_response.json()
    assert body["errors"][0]["code"] == "occ_conflict"
    assert body["data"] == {"aggregate_id": "Person/1", "expected_seq": 2, "actual_seq": 3}


def test_malformed_json_is_400_and_a_semantic_error_is_422(client: TestClient) -> None:
    malformed = client.post(
        "/api/v1/things", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["code"] == "validation_failed"
    wrong = client.post("/api/v1/things", json={"name": "a", "size": "big"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "size"
    bad_param = client.post("/api/v1/things?limit=many", json={"name": "a", "size": 1})
    assert bad_param.status_code == 400
    assert bad_param.json()["errors"][0]["field"] == "query.limit"


def test_unicode_values_pass_through_untouched(client: TestClient) -> None:
    response = client.post("/api/v1/things", json={"name": "고객 🚚 顧客", "size": 1})
    assert response.status_code == 200
    assert response.json()["name"] == "고객 🚚 顧客"


def test_an_unexpected_error_is_a_500_envelope_that_leaks_nothing(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/broken", headers={"X-Request-ID": "trace-1"})
    assert response.status_code == 500
    body = response.json()
    assert body["errors"][0]["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert "trace-1" in body["message"]
    assert any("trace-1" in record.getMessage() for record in caplog.records)


def test_request_ids_are_echoed_or_generated(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    # A header that could forge log lines is replaced, not echoed.
    assert (
        client.get("/health", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"]
        != "a b\tc"
    )


def test_bodies_over_the_limit_answer_413(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS__SERVER__MAX_REQUEST_BYTES", "2048")
    with app_with_probe(load_settings()) as test_client:
        big = {"name": "x" * 4096, "size": 1}
        declared = test_client.post("/api/v1/things", json=big)
        assert declared.status_code == 413
        assert declared.json()["errors"][0]["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:
            yield b'{"name": "'
            for _ in range(8):
                yield b"x" * 512
            yield b'", "size": 1}'

        streamed = test_client.post(
            "/api/v1/things", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["errors"][0]["code"] == "payload_too_large"
        assert test_client.post("/api/v1/things", json={"name": "ok", "size": 1}).status_code == 200


def test_hosts_outside_allowed_hosts_are_refused(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "api.example.com,*.internal.example")
    with app_with_probe(load_settings()) as test_client:
        refused = test_client.get("/health", headers={"Host": "evil.example"})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["code"] == "invalid_host"
        assert (
            test_client.get("/health", headers={"Host": "api.example.com:8000"}).status_code == 200
        )
        assert (
            test_client.get("/health", headers={"Host": "oms.internal.example"}).status_code == 200
        )


def test_cors_answers_only_configured_origins(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example.com")
    with app_with_probe(load_settings()) as test_client:
        allowed = test_client.options(
            "/health",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        other = test_client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    assert "/health" in schema.json()["paths"]
    assert client.get("/docs").status_code == 200


def test_lone_surrogates_are_refused_with_400_not_500(client: TestClient) -> None:
    response = client.post(
        "/api/v1/things",
        content=b'{"name": "\\ud800", "size": 1}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "validation_failed"
