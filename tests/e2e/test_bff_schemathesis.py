"""schemathesis against a real BFF process in front of a real OMS process, with API keys on:
generated requests to every operation of BFF's OpenAPI (valid ones, and a few that break the
schema), each sent with an admin key and the admin token, half of them aimed at a database,
classes (by English or Korean label), an instance, a branch, a pull request and a command
that exist, so the checks reach past the 404s. No answer may be a 5xx, break the response
schema BFF declares or carry a content type it does not declare."""

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
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import scrubbed_environ
from tests.e2e.conftest import free_port, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef"
DB = "fuzzed"
LABELS = ("Customer", "고객")
EXAMPLES = int(os.environ.get("SPICE_FUZZ_EXAMPLES", "20"))
MAINTENANCE_ON = "POST /api/v1/admin/maintenance"
CUSTOMER = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "key": ["customer_id"],
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
        {"name": "phone", "type": "phone", "label": {"en": "Phone", "ko": "전화"}},
    ],
}
ORDER = {
    "id": "Order",
    "label": {"en": "Order", "ko": "주문"},
    "key": ["order_id"],
    "properties": [{"name": "order_id", "type": "string", "required": True}],
    "relationships": [
        {"predicate": "placed_by", "target": "고객", "cardinality": "n:1", "label": "Placed by"}
    ],
}


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _seed(client: httpx.Client) -> dict[str, Any]:
    """The named things generated requests are aimed at, made through BFF with labels."""
    _ok(client.post("/api/v1/databases", json={"name": DB}))
    for cls in (CUSTOMER, ORDER):
        _ok(client.post(f"/api/v1/database/{DB}/ontology", json=cls))
    made = _ok(
        client.post(
            f"/api/v1/database/{DB}/instances/고객/create",
            json={"data": {"customer_id": "C1", "이름": "김민수", "Phone": "+82 2 1234 5678"}},
        )
    )
    _ok(
        client.post(
            f"/api/v1/database/{DB}/instances/Order/create",
            json={"data": {"order_id": "O1", "Placed by": "C1"}},
        )
    )
    _ok(client.post(f"/api/v1/databases/{DB}/branches", json={"branch_name": "feature"}))
    _ok(
        client.post(
            f"/api/v1/database/{DB}/instances/Customer/create",
            params={"branch": "feature"},
            json={"data": {"customer_id": "C2"}},
        )
    )
    pr = _ok(
        client.post(
            f"/api/v1/database/{DB}/pull-requests",
            json={"source_branch": "feature", "title": "C2"},
        )
    )
    return {
        "db": DB,
        "instance_id": "C1",
        "branch": "feature",
        "pr_id": pr["id"],
        "command_id": made["command_id"],
    }


def _start(root: Path, env: dict[str, str], service: str) -> subprocess.Popen[bytes]:
    with (root / f"{service}.out").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "spice_harvester", "serve", service],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="module")
def bff_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Any]]]:
    """BFF's OpenAPI with the real values to aim at; the admin key is in `real["key"]`."""
    root = tmp_path_factory.mktemp("fuzz_bff")
    (root / "config").mkdir()
    ports = {"oms": free_port(), "bff": free_port(), "funnel": free_port()}
    env = scrubbed_environ()
    env.update(
        {
            "SPICE_CONFIG_DIR": str(root / "config"),
            "DATABASE_URL": f"sqlite:///{root / 'spice.sqlite3'}",
            "OMS_PORT": str(ports["oms"]),
            "BFF_PORT": str(ports["bff"]),
            "FUNNEL_PORT": str(ports["funnel"]),
            "OMS_HOST": "127.0.0.1",
            "BFF_HOST": "127.0.0.1",
            "FUNNEL_HOST": "127.0.0.1",
            "OMS_BASE_URL": f"http://127.0.0.1:{ports['oms']}",
            # BFF's suggest-schema-from-data asks Funnel.
            "FUNNEL_BASE_URL": f"http://127.0.0.1:{ports['funnel']}",
            "PYTHONPATH": os.pathsep.join(sys.path),
            "BFF__AUTHENTICATION__API_KEY_ENABLED": "true",
            "BFF__RATE_LIMITING__ENABLED": "false",
            "BFF_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    processes = [_start(root, env, "oms"), _start(root, env, "funnel")]
    try:
        wait_for(f"http://127.0.0.1:{ports['oms']}/health")
        wait_for(f"http://127.0.0.1:{ports['funnel']}/health")
        command = ["apikey", "create", "--name", "fuzzer", "--role", "admin"]
        created = subprocess.run(
            [sys.executable, "-m", "spice_harvester", *command],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        key = created.stdout.strip()
        processes.append(_start(root, env, "bff"))
        url = f"http://127.0.0.1:{ports['bff']}"
        wait_for(f"{url}/health")
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
            real = {**_seed(client), "key": key}
        yield schemathesis.openapi.from_url(f"{url}/openapi.json"), real
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
        for service in ("bff", "funnel", "oms"):
            _assert_no_tracebacks(root / f"{service}.out")


def _assert_no_tracebacks(log: Path) -> None:
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-5000:]


def _fuzz(operation: Any, real: dict[str, Any], mode: GenerationMode, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy(mode))
    def run(case: Any) -> None:
        # Every other case is aimed at the seeded data instead of at random names, its class
        # named in English or in Korean; those read answers in Korean.
        aim = zlib.crc32(repr((case.path_parameters, case.body)).encode())
        headers = {"X-API-Key": real["key"], "X-Admin-Token": ADMIN_TOKEN}
        if aim % 2 == 0 and case.path_parameters:
            aimed = {**real, "class_label": LABELS[(aim >> 1) % 2]}
            for name in case.path_parameters:
                if name in aimed:
                    case.path_parameters[name] = aimed[name]
            headers["Accept-Language"] = "ko, en;q=0.5"
        case.call_and_validate(checks=CHECKS, headers=headers)

    run()


def test_bff_answers_every_generated_request_without_a_server_error(
    bff_schema: tuple[Any, dict[str, Any]],
) -> None:
    schema, real = bff_schema
    # Turning maintenance mode on would close the service to every later case; the switch
    # has its own tests (tests/e2e/test_maintenance.py).
    operations = [
        result.ok() for result in schema.get_all_operations() if result.ok().label != MAINTENANCE_ON
    ]
    assert len(operations) > 30
    # Deletes last, so that a generated delete that hits the seeded data leaves it in place
    # for every other operation first.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    failures: list[str] = []
    for operation in operations:
        # Valid requests, then a few that break the schema (wrong types, missing fields).
        for mode, examples in (
            (GenerationMode.POSITIVE, EXAMPLES),
            (GenerationMode.NEGATIVE, max(1, EXAMPLES // 4)),
        ):
            try:
                _fuzz(operation, real, mode, examples)
            except Unsatisfiable:
                pass  # nothing to break: the operation takes no input
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
