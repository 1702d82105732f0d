"""Fixtures every test layer shares: a clean settings environment in a scratch folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Variables that change settings; tests start without any of them.
SETTING_PREFIXES = (
    "APP_",
    "DEBUG",
    "LOG_",
    "DATA_DIR",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CORS_ORIGINS",
    "BFF_",
    "OMS_",
    "FUNNEL_",
    "ENABLE_OMS_ROLLBACK",
    "PROTECTED_BRANCHES",
    "DATABASE_URL",
    "REDIS_URL",
    "NATS_URL",
    "TERMINUS_",
    "WORKER_",
    "REQUEST_TIMEOUT",
    "SPICE_CONFIG_DIR",
    "OMS__",
    "BFF__",
    "FUNNEL__",
)


def scrubbed_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch folder as the working directory, with no setting variables set."""
    for key in list(os.environ):
        if key.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(key)
    (tmp_path / "config").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path
