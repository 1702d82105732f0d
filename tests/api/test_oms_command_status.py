"""Command status with Redis in front of the database, and without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings
from tests.api.projection_support import catch_up, worker_running

REDIS_URL = "redis://127.0.0.1:6379/0"


def create_database(client: TestClient, name: str) -> str:
    response = client.post("/api/v1/database/create", json={"name": name})
    assert response.status_code == 202, response.text
    command_id: str = response.json()["data"]["command_id"]
    return command_id


@pytest.mark.redis
def test_status_is_kept_in_redis_when_it_is_configured(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    with TestClient(create_app(load_settings())) as client:
        command_id = create_database(client, "cached")
        catch_up(client)
        status = client.get(f"/api/v1/commands/{command_id}/status").json()["data"]
        assert status["status"] == "COMPLETED"
        cached = redis.Redis.from_url(REDIS_URL).get(f"spice:command:{command_id}")
        assert cached is not None
        assert json.loads(cached)["status"] == "COMPLETED"


def test_writes_and_status_go_on_when_redis_is_down(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with TestClient(create_app(load_settings())) as client:
        command_id = create_database(client, "no-cache")
        catch_up(client)
        status = client.get(f"/api/v1/commands/{command_id}/status")
        assert status.status_code == 200
        assert status.json()["data"]["status"] == "COMPLETED"
        health = client.get("/health").json()["data"]["dependencies"]
        assert health["redis"] == "down"


def test_wait_answers_once_the_projections_hold_the_commit(workdir: Path) -> None:
    with TestClient(create_app(load_settings())) as client, worker_running(client):
        created = client.post("/api/v1/database/create?wait=true", json={"name": "waited"})
        assert created.status_code == 202, created.text
        data = created.json()["data"]
        assert data["status"] == "COMPLETED"
        status = client.get(f"/api/v1/commands/{data['command_id']}/status").json()["data"]
        assert status["progress"]["projections"] == {
            "counts": "applied",
            "lineage": "applied",
            "search": "applied",
        }


def test_wait_without_a_worker_answers_processing_after_its_timeout(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS__COMMANDS__WAIT_TIMEOUT_SECONDS", "0.3")
    with TestClient(create_app(load_settings())) as client:
        created = client.post("/api/v1/database/create?wait=true", json={"name": "unwatched"})
        assert created.status_code == 202
        data = created.json()["data"]
        assert data["status"] == "PROCESSING"
        assert data["commit_id"]  # durable all the same
        assert client.get("/api/v1/database/exists/unwatched").json()["data"]["exists"] is True


def test_committed_completion_needs_no_worker(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMS__COMMANDS__COMPLETE_WHEN", "committed")
    with TestClient(create_app(load_settings())) as client:
        command_id = create_database(client, "plain")
        status = client.get(f"/api/v1/commands/{command_id}/status").json()["data"]
        assert status["status"] == "COMPLETED"
        assert status["progress"] is None
