"""schemathesis against a real OMS process: generated requests to every operation of its
OpenAPI, half of them aimed at a database, class and instance that exist, so the checks
reach past the 404s. No answer may be a 5xx or break the response schema OMS declares."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import scrubbed_environ
from tests.e2e.conftest import free_port, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
DB = "fuzzed"
REAL = {
    "db": DB,
    "class_id": "Depot",
    "instance_id": "D1",
    "name": "feature",
    "branch": "main",
    "pr_id": 1,
}
EXAMPLES = int(os.environ.get("SPICE_FUZZ_EXAMPLES", "20"))
MAINTENANCE_ON = "POST /api/v1/admin/maintenance"


def _seed(client: httpx.Client) -> None:
    def ok(response: httpx.Response) -> None:
        assert response.status_code < 300, response.text

    ok(client.post("/api/v1/database/create", json={"name": DB}))
    ok(
        client.post(
            f"/api/v1/database/{DB}/ontology",
            json={
                "id": "Depot",
                "label": {"en": "Depot", "ko": "창고"},
                "key": ["depot_id"],
                "properties": [
                    {"name": "depot_id", "type": "string", "required": True},
                    {"name": "phone", "type": "phone"},
                    {"name": "opened", "type": "date"},
                ],
            },
        )
    )
    writes = f"/api/v1/instances/{DB}/async/Depot"
    ok(client.post(f"{writes}/create", json={"data": {"depot_id": "D1", "opened": "2024-01-02"}}))
    ok(client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "feature"}))
    ok(client.post(f"{writes}/create?branch=feature", json={"data": {"depot_id": "D2"}}))
    ok(
        client.post(
            f"/api/v1/database/{DB}/pull-requests",
            json={"source_branch": "feature", "title": "D2"},
        )
    )


@pytest.fixture(scope="module")
def oms_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "config").mkdir()
    port = free_port()
    env = scrubbed_environ()
    env.update(
        {
            "SPICE_CONFIG_DIR": str(root / "config"),
            "OMS_PORT": str(port),
            "OMS_HOST": "127.0.0.1",
            "PYTHONPATH": os.pathsep.join(sys.path),
            "ENABLE_OMS_ROLLBACK": "true",
        }
    )
    log = (root / "oms.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "spice_harvester", "serve", "oms"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/health")
        with httpx.Client(base_url=url, timeout=60) as client:
            _seed(client)
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        _show_tracebacks(root / "oms.log")


def _show_tracebacks(log: Path) -> None:
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-5000:]


def _fuzz(operation: Any) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        # Every other case is aimed at the seeded data instead of at random names.
        if zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 2 == 0:
            for name, value in REAL.items():
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = value
        case.call_and_validate(checks=CHECKS)

    run()


def test_oms_answers_every_generated_request_without_a_server_error(oms_schema: Any) -> None:
    failures: list[str] = []
    # Turning maintenance mode on would close the service to every later case; the switch
    # has its own tests (tests/e2e/test_maintenance.py).
    operations = [
        result.ok()
        for result in oms_schema.get_all_operations()
        if result.ok().label != MAINTENANCE_ON
    ]
    assert len(operations) > 50
    for operation in operations:
        try:
            _fuzz(operation)
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
