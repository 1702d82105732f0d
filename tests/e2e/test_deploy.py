"""The deployment files: OMS really serving under gunicorn with deploy/gunicorn_config.py,
docker-compose.full.yml and the Dockerfile agreeing with the settings, and the systemd units
passing `systemd-analyze verify`."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from spice_harvester.settings import SERVICES, Settings, load_settings
from tests.conftest import SETTING_PREFIXES, scrubbed_environ
from tests.e2e.conftest import free_port, wait_for

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.full.yml"
UNITS = {
    name: REPO / "deploy" / "systemd" / f"spice-harvester-{name}.service"
    for name in ("oms", "bff", "funnel", "worker")
}
SPICE = "/opt/spice-harvester/.venv/bin/spice"
APP_SERVICES = ("migrate", "oms", "bff", "funnel", "worker")
SECRET = "compose-test-secret-key-0123456789abcdef"


# -- gunicorn ----------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_oms_serves_under_gunicorn_with_two_workers_and_stops_cleanly(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    port = free_port()
    env = {
        **scrubbed_environ(),
        "SPICE_SERVICE": "oms",
        "SPICE_CONFIG_DIR": str(tmp_path / "config"),
        "OMS_HOST": "127.0.0.1",
        "OMS_PORT": str(port),
        "GUNICORN_WORKERS": "2",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    output = (tmp_path / "gunicorn.out").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(REPO / "deploy" / "gunicorn_config.py")],
        cwd=tmp_path,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        health = wait_for(f"{url}/health", timeout=60).json()
        assert health["data"]["dependencies"]["database"] == "ok"
        assert len(_children(server.pid)) == 2
        created = httpx.post(f"{url}/api/v1/database/create", json={"name": "under_gunicorn"})
        assert created.status_code == 202, created.text
        for _ in range(4):  # whichever worker answers, the write is there
            listed = httpx.get(f"{url}/api/v1/database/list").json()["data"]["databases"]
            assert [db["name"] for db in listed] == ["under_gunicorn"]
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        output.close()
    said = (tmp_path / "gunicorn.out").read_text()
    assert "uvicorn_worker.UvicornWorker" in said
    # Preloaded in the arbiter, each forked worker still writes the service's own logs.
    started = re.findall(
        r"Started server process \[(\d+)\]", (tmp_path / "logs" / "oms.log").read_text()
    )
    assert len(set(started)) == 2
    assert "POST /api/v1/database/create" in (tmp_path / "logs" / "access.log").read_text()


# -- docker compose ---------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def _interpolated(value: Any, given: dict[str, str]) -> Any:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, from `given` or the default."""
    if isinstance(value, dict):
        return {key: _interpolated(item, given) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolated(item, given) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if given.get(name):
            return given[name]
        if op == ":?":
            raise AssertionError(f"{name} is required: {arg}")
        return arg or ""

    return _VARIABLE.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE.read_text())
    document: dict[str, Any] = _interpolated(raw, {"SECRET_KEY": SECRET})
    return document


def _settings_in(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a container would read: its environment over the image's config/."""
    for key in list(os.environ):
        if key.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("SPICE_CONFIG_DIR", str(REPO / "config"))
    return load_settings()


def _known_variables() -> set[str]:
    fields = {name.upper() for name in Settings.model_fields}
    aliases = {f"{s.upper()}_{k}" for s in SERVICES for k in ("PORT", "HOST", "WORKERS")}
    # The image's own: where its HEALTHCHECK asks.
    return fields | aliases | {"SPICE_HEALTH_URL"}


def test_compose_runs_the_whole_stack_from_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*APP_SERVICES, "postgres", "redis", "nats"}
    assert services["migrate"]["command"] == ["spice", "db", "migrate"]
    for name in ("oms", "bff", "funnel", "worker"):
        assert services[name]["command"] == ["spice", "serve", name]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert images == {"spice-harvester:latest"}
    assert "-js" in services["nats"]["command"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_compose_variable_is_a_setting_and_the_urls_reach_their_services(
    compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = compose["services"]
    environment: dict[str, str] = services[name]["environment"]
    assert set(environment) <= _known_variables(), set(environment) - _known_variables()
    settings = _settings_in(environment, monkeypatch)
    assert settings.is_production

    database = urlsplit(settings.database_dsn)
    postgres = services["postgres"]["environment"]
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path == f"/{postgres['POSTGRES_DB']}"
    assert settings.redis_url is not None
    assert urlsplit(settings.redis_url.get_secret_value()).hostname == "redis"
    assert settings.nats_url is not None
    assert urlsplit(settings.nats_url).netloc == "nats:4222"
    for peer in SERVICES:
        port = settings.service(peer).server.port
        assert settings.base_url(peer) == f"http://{peer}:{port}"
        assert peer in settings.allowed_hosts
    assert "127.0.0.1" in settings.allowed_hosts  # where the health checks come from

    if name in SERVICES:
        port = settings.service(name).server.port
        assert services[name]["ports"] == [f"{port}:{port}"]
        assert environment["SPICE_HEALTH_URL"] == f"http://127.0.0.1:{port}/health"


def test_compose_starts_each_service_once_what_it_needs_is_ready(compose: dict[str, Any]) -> None:
    services = compose["services"]
    ready = {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "nats": "service_healthy",
        "migrate": "service_completed_successfully",
    }
    for name in ("oms", "bff", "worker"):
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert ready.items() <= conditions.items(), name
    assert services["bff"]["depends_on"]["oms"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name, service in services.items():
        check = service["healthcheck"]
        assert check.get("disable") is True if name == "migrate" else check["test"], name


def _compose_cli() -> list[str] | None:
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, check=False)
        if probe.returncode == 0 and b"v2" in probe.stdout + probe.stderr:
            return command
    return None


def test_docker_compose_accepts_the_file() -> None:
    command = _compose_cli()
    if command is None:
        pytest.skip("no Docker Compose v2 CLI on this machine")
    checked = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        env={**os.environ, "SECRET_KEY": SECRET},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_dockerfile_installs_from_the_lock_and_runs_oms_as_a_user() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "--require-hashes -r requirements.lock" in text
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user
    assert user[-1] not in ("root", "0")
    assert re.search(r"^EXPOSE 8000 8002 8003$", text, re.MULTILINE)
    assert 'CMD ["spice", "serve", "oms"]' in text
    assert "HEALTHCHECK" in text
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert {".git", ".venv", "data", "logs"} <= set(ignored)


# -- systemd ----------------------------------------------------------------------------------


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


@pytest.mark.parametrize("name", list(UNITS))
def test_each_unit_runs_its_service_hardened_and_restarts_on_failure(name: str) -> None:
    unit = _unit(UNITS[name])
    service = unit["Service"]
    assert service["ExecStart"] == f"{SPICE} serve {name}"
    assert service["EnvironmentFile"] == "/etc/spice-harvester/spice-harvester.env"
    assert service["Restart"] == "on-failure"
    assert service["User"] == "spice"
    for option, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[option] == value, option
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    if not Path(found).is_file():
        pytest.skip("systemd-analyze is not installed")
    return found


def test_systemd_analyze_verify_finds_nothing_but_the_release_not_installed_here(
    systemd_analyze: str,
) -> None:
    checked = subprocess.run(
        [systemd_analyze, "verify", "--man=no", *map(str, UNITS.values())],
        capture_output=True,
        text=True,
        check=False,
    )
    # The units point at the release's virtual environment, which this machine lacks.
    missing_release = f"Command {SPICE} is not executable: No such file or directory"
    complaints = [
        line
        for line in (checked.stdout + checked.stderr).splitlines()
        if line.strip() and missing_release not in line
    ]
    assert complaints == []
