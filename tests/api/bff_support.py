"""Shared by `tests/api/test_bff_*.py`: BFF in process, in front of a real OMS process.

Each module wraps `oms_process` and `bff_client` in module-scoped fixtures, so one OMS process
serves the module; each test then uses a database of its own (`new_db`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from spice_harvester.services.bff.app import create_app
from spice_harvester.settings import Settings
from tests.conftest import SETTING_PREFIXES
from tests.oms_process import running_oms


def oms_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OMS (`spice serve oms`) on its own SQLite file; yields its base URL."""
    with running_oms(tmp_path_factory.mktemp("oms")) as url:
        yield url


def bff_client(
    tmp_path_factory: pytest.TempPathFactory, oms_url: str, **settings: Any
) -> Iterator[TestClient]:
    """The BFF app with its lifespan run (so its pooled OMS client is open), on default
    settings but for OMS's URL and `settings`."""
    root = tmp_path_factory.mktemp("bff")
    (root / "config").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith(SETTING_PREFIXES):
                patch.delenv(key)
        patch.setenv("SPICE_CONFIG_DIR", str(root / "config"))
        patch.chdir(root)
        app = create_app(bff_settings(root, oms_url, **settings))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client


def bff_settings(root: Path, oms_url: str, **overrides: Any) -> Settings:
    return Settings(
        oms_base_url=oms_url, data_dir=root / "data", log_dir=root / "logs", **overrides
    )


def new_db(bff: TestClient, prefix: str = "bff") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    created = bff.post("/api/v1/databases", json={"name": name})
    assert created.status_code == 202, created.text
    return name


def accepted(response: Response) -> dict[str, Any]:
    """The data of a 202 answer."""
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "accepted"
    data: dict[str, Any] = body["data"]
    return data


def ok(response: Response) -> Any:
    """The data of a 200 answer."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "success"
    return body["data"]


def error_of(response: Response, status: int) -> dict[str, Any]:
    """The first error of an error answer with `status`."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    error: dict[str, Any] = body["errors"][0]
    return error
