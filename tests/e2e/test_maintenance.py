"""Maintenance mode across real processes: `spice maintenance on` closes OMS, BFF and Funnel
within seconds (health and admin stay open), `off` reopens them, and nothing is lost.

PostgreSQL, as in production: several processes share the switch through the database
(tests/integration/test_maintenance_contract.py covers the switch on SQLite too). The
installation is tests/e2e/operator_stack.py's, shared with the `spice health` tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.operator_stack import ADMIN_TOKEN, OperatorStack
from tests.postgres import SKIP_POSTGRES

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.skipif(SKIP_POSTGRES, reason="SPICE_TEST_SKIP_POSTGRES=1"),
]
ADMIN = {"X-Admin-Token": ADMIN_TOKEN, "X-Admin-Actor": "ops@example.com"}
# The switch reaches every process within ~2 s; allow scheduling slack on a busy machine.
PROPAGATION_SECONDS = 3.0
CLIENT = {
    "id": "Client",
    "label": "Client",
    "key": ["client_id"],
    "properties": [{"name": "client_id", "type": "string", "required": True}],
}
ANALYZE = {"data": [["1"], ["2"]], "columns": ["amount"]}


def _until(
    request: Callable[[], httpx.Response], status: int, since: float
) -> tuple[httpx.Response, float]:
    """Repeats `request` until it answers `status`; the answer and seconds since `since`."""
    while True:
        response = request()
        waited = time.monotonic() - since
        if response.status_code == status:
            return response, waited
        if waited > PROPAGATION_SECONDS:
            raise AssertionError(
                f"still {response.status_code} after {waited:.1f} s, not {status}: "
                f"{response.text[:300]}"
            )
        time.sleep(0.05)


def _assert_maintenance(response: httpx.Response, message: str) -> None:
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["errors"][0]["code"] == "maintenance"
    assert message in body["message"]
    assert body["data"]["maintenance"] is True
    assert int(response.headers["Retry-After"]) > 0


def test_maintenance_closes_every_service_within_seconds_and_off_restores_everything(
    operator_stack: OperatorStack,
) -> None:
    stack = operator_stack.stack
    oms, bff, funnel = (operator_stack.url(name) for name in ("oms", "bff", "funnel"))
    assert httpx.post(f"{oms}/api/v1/database/create", json={"name": "kept"}).status_code == 202
    created = httpx.post(f"{oms}/api/v1/database/kept/ontology", json=CLIENT)
    assert created.status_code == 202, created.text
    made = httpx.post(
        f"{oms}/api/v1/instances/kept/async/Client/create", json={"data": {"client_id": "c-1"}}
    )
    assert made.status_code == 202, made.text

    switched = stack.run("maintenance", "on", "--message", "Upgrading to 0.2")
    assert switched.returncode == 0, switched.stderr
    assert "maintenance mode is on" in switched.stdout
    since = time.monotonic()

    def write() -> httpx.Response:
        return httpx.post(f"{oms}/api/v1/database/create", json={"name": "during"})

    refused, waited = _until(write, 503, since)
    _assert_maintenance(refused, "Upgrading to 0.2")
    assert waited <= PROPAGATION_SECONDS
    _assert_maintenance(httpx.get(f"{oms}/api/v1/database/list"), "Upgrading to 0.2")
    bff_read, _ = _until(lambda: httpx.get(f"{bff}/api/v1/databases"), 503, since)
    _assert_maintenance(bff_read, "Upgrading to 0.2")
    bff_write = httpx.post(f"{bff}/api/v1/databases", json={"name": "during_bff"})
    _assert_maintenance(bff_write, "Upgrading to 0.2")
    funnel_call, _ = _until(
        lambda: httpx.post(f"{funnel}/api/v1/funnel/analyze", json=ANALYZE), 503, since
    )
    _assert_maintenance(funnel_call, "Upgrading to 0.2")

    for url in (oms, bff, funnel):
        assert httpx.get(f"{url}/health").status_code == 200
    seen = httpx.get(f"{oms}/api/v1/admin/maintenance").json()["data"]
    assert seen["enabled"] is True
    assert seen["message"] == "Upgrading to 0.2"
    assert httpx.get(f"{bff}/api/v1/admin/maintenance", headers=ADMIN).status_code == 200
    assert httpx.get(f"{bff}/api/v1/admin/maintenance").status_code == 403

    reopened = stack.run("maintenance", "off")
    assert reopened.returncode == 0, reopened.stderr
    since = time.monotonic()
    listed, _ = _until(lambda: httpx.get(f"{oms}/api/v1/database/list"), 200, since)
    names = [db["name"] for db in listed.json()["data"]["databases"]]
    assert "kept" in names
    assert "during" not in names
    _until(lambda: httpx.get(f"{bff}/api/v1/databases"), 200, since)
    _until(lambda: httpx.post(f"{funnel}/api/v1/funnel/analyze", json=ANALYZE), 200, since)
    instance = httpx.get(f"{oms}/api/v1/instance/kept/instance/c-1", params={"class_id": "Client"})
    assert instance.status_code == 200, instance.text
    assert instance.json()["data"]["data"]["client_id"] == "c-1"


def test_bff_and_oms_admin_routes_turn_the_switch_and_every_change_is_audited(
    operator_stack: OperatorStack,
) -> None:
    stack = operator_stack.stack
    oms, bff = operator_stack.url("oms"), operator_stack.url("bff")
    turned = httpx.post(
        f"{bff}/api/v1/admin/maintenance",
        json={"message": "Restoring a backup", "retry_after": 60},
        headers=ADMIN,
    )
    assert turned.status_code == 200, turned.text
    assert turned.json()["data"]["enabled"] is True
    # BFF refuses at once (the process that turned it), OMS within the propagation time.
    _assert_maintenance(httpx.get(f"{bff}/api/v1/databases"), "Restoring a backup")
    refused, _ = _until(lambda: httpx.get(f"{oms}/api/v1/database/list"), 503, time.monotonic())
    assert refused.headers["Retry-After"] == "60"

    off = httpx.delete(f"{oms}/api/v1/admin/maintenance", headers={"X-Actor": "ops"})
    assert off.status_code == 200, off.text
    assert off.json()["data"]["enabled"] is False
    _until(lambda: httpx.get(f"{bff}/api/v1/databases"), 200, time.monotonic())

    status = stack.run("maintenance", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["enabled"] is False
    # Newest first; the other test's switching (by the CLI) may come before these.
    audit = httpx.get(f"{bff}/api/v1/admin/audit", params={"limit": 50}, headers=ADMIN)
    assert audit.status_code == 200, audit.text
    switched = [
        (e["service"], e["action"], e["actor"])
        for e in audit.json()["data"]["entries"]
        if e["target"] == "maintenance"
    ]
    assert switched[:2] == [
        ("oms", "maintenance.off", "ops"),
        ("bff", "maintenance.on", "admin:ops@example.com"),
    ]
