"""`spice projection recompute|jobs` as real processes beside a real OMS and worker: a
recompute promoted with --wait, after which `spice projection verify` passes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Stack, wait_for
from tests.e2e.test_worker import PRODUCT

pytestmark = pytest.mark.e2e
DB = "shop"
WORKER_ENV = {"WORKER__POLL_SECONDS": "0.05", "WORKER__IDLE_SECONDS": "1"}


@pytest.fixture
def oms(stack: Stack, database_url: str) -> Iterator[httpx.Client]:
    stack.spice("serve", "oms", DATABASE_URL=database_url)
    wait_for(f"{stack.url('oms')}/health")
    with httpx.Client(base_url=stack.url("oms"), timeout=60) as client:
        assert client.post("/api/v1/database/create", json={"name": DB}).status_code == 202
        created = client.post(f"/api/v1/database/{DB}/ontology", json=PRODUCT)
        assert created.status_code == 202, created.text
        rows = [{"sku": f"SKU-{n:04}", "title": f"Spice jar {n}"} for n in range(200)]
        answer = client.post(
            f"/api/v1/instances/{DB}/async/Product/bulk-create", json={"instances": rows}
        )
        assert answer.status_code == 202, answer.text
        yield client


def test_a_promoted_recompute_with_wait_exits_0_and_verify_passes(
    stack: Stack, oms: httpx.Client, database_url: str
) -> None:
    stack.spice("serve", "worker", DATABASE_URL=database_url, **WORKER_ENV)
    recomputed = stack.run(
        "projection",
        "recompute",
        "search",
        "--database",
        DB,
        "--promote",
        "--wait",
        DATABASE_URL=database_url,
        timeout=120,
    )
    assert recomputed.returncode == 0, recomputed.stdout + recomputed.stderr
    assert "swapped into serving version 1" in recomputed.stdout

    verified = stack.run("projection", "verify", DATABASE_URL=database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    listed = stack.run("projection", "jobs", "--json", DATABASE_URL=database_url)
    assert listed.returncode == 0, listed.stderr
    (job,) = json.loads(listed.stdout)
    assert (job["status"], job["db_name"], job["progress"]["percent"]) == ("done", DB, 100.0)
    assert job["requested_by"].startswith("cli:")


def test_an_unknown_database_or_projection_is_a_usage_error(
    stack: Stack, oms: httpx.Client, database_url: str
) -> None:
    missing = stack.run(
        "projection", "recompute", "search", "--database", "nope", DATABASE_URL=database_url
    )
    assert missing.returncode == 2
    assert "database 'nope' does not exist" in missing.stderr
    unknown = stack.run("projection", "recompute", "nope", DATABASE_URL=database_url)
    assert unknown.returncode == 2
    assert "unknown projection 'nope'" in unknown.stderr
    bad_time = stack.run(
        "projection", "recompute", "search", "--from", "yesterday", DATABASE_URL=database_url
    )
    assert bad_time.returncode == 2
    assert "--from" in bad_time.stderr
