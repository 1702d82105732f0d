"""Shared by the BFF security tests: a BFF in process on SQLite and Redis, keys, probe routes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import pytest
import redis
from fastapi import APIRouter
from fastapi.testclient import TestClient
from httpx2 import Response

from spice_harvester.adapters.sql.api_keys import SqlApiKeys
from spice_harvester.bootstrap import open_database
from spice_harvester.ports.api_keys import Role
from spice_harvester.services.bff.access import Caller, requires
from spice_harvester.services.bff.app import create_app
from spice_harvester.settings import Settings, load_settings

REDIS_URL = os.environ.get("SPICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_TOKEN = "admin-token-for-tests-0123456789"

# Routes of each role, with `{db}` in the path, until BFF's own routes exist to test against.
probe = APIRouter(prefix="/api/v1/probe")


@probe.get("/{db}/read")
def read(db: str, caller: Annotated[Caller, requires("viewer")]) -> dict[str, str]:
    return {"db": db, "actor": caller.actor}


@probe.post("/{db}/write")
def write(db: str, caller: Annotated[Caller, requires("editor")]) -> dict[str, str]:
    return {"db": db, "actor": caller.actor}


@probe.delete("/settings")
def administer(caller: Annotated[Caller, requires("admin")]) -> dict[str, str]:
    return {"actor": caller.actor}


MakeSettings = Callable[..., Settings]


def settings_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeSettings]:
    """Settings on the scratch folder's SQLite file and the test Redis, with buckets of this
    test only (deleted afterwards); keyword arguments are environment variables."""
    prefix = f"spice-test:{uuid.uuid4().hex}:"
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("BFF__RATE_LIMITING__REDIS_PREFIX", prefix)

    def make(**variables: str) -> Settings:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return load_settings()

    yield make
    client = redis.Redis.from_url(REDIS_URL)
    try:
        found = list(client.scan_iter(match=f"{prefix}*"))
        if found:
            client.delete(*found)
    finally:
        client.close()


def issue_key(
    settings: Settings, name: str, role: Role, databases: list[str] | None = None
) -> tuple[str, str]:
    """A new key in the settings' database: (secret, key id)."""
    database = open_database(settings, "bff")
    try:
        issued = SqlApiKeys(database).create(
            name=name, role=role, databases=databases, created_by="tests"
        )
    finally:
        database.close()
    return issued.secret, issued.key.key_id


def revoke_key(settings: Settings, key_id: str) -> None:
    database = open_database(settings, "bff")
    try:
        SqlApiKeys(database).revoke(key_id)
    finally:
        database.close()


@contextmanager
def bff(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    app.include_router(probe)
    with TestClient(app) as client:
        yield client


def limit_headers(response: Response) -> dict[str, str]:
    return {
        name: response.headers[name]
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
        if name in response.headers
    }
