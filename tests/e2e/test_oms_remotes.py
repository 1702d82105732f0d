"""Two real OMS servers (SQLite and PostgreSQL) exchanging history: clone, push, pull."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack, free_port, wait_for
from tests.postgres import SKIP_POSTGRES, fresh_postgres_database

pytestmark = pytest.mark.e2e
DB = "fleet"
VEHICLE = {
    "id": "Vehicle",
    "label": {"en": "Vehicle", "ko": "차량", "ja": "車両"},
    "key": ["vehicle_id"],
    "properties": [
        {"name": "vehicle_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
    ],
}
WRITES = f"/api/v1/instances/{DB}/async/Vehicle"


@pytest.fixture
def servers(stack: Stack) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """`origin` on SQLite, `other` on PostgreSQL (SQLite too when PostgreSQL is opted out)."""
    with ExitStack() as cleanup:
        port = free_port()
        if SKIP_POSTGRES:
            url = f"sqlite:///{stack.root / 'other' / 'spice.sqlite3'}"
            (stack.root / "other").mkdir()
        else:
            url = cleanup.enter_context(fresh_postgres_database())
        origin = stack.spice("serve", "oms")
        other = stack.spice("serve", "oms", OMS_PORT=str(port), DATABASE_URL=url)
        wait_for(f"{stack.url('oms')}/health")
        wait_for(f"http://127.0.0.1:{port}/health")
        first = cleanup.enter_context(httpx.Client(base_url=stack.url("oms"), timeout=60))
        second = cleanup.enter_context(
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        )
        yield first, second
        stack.stop(other)
        stack.stop(origin)


def ok(response: httpx.Response, status: int = 202) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def head(client: httpx.Client, branch: str = "main", db: str = DB) -> str:
    found = ok(client.get(f"/api/v1/branch/{db}/branch/{branch}/info"), 200)
    return str(found["head"])


def name_of(client: httpx.Client, vehicle: str, db: str = DB) -> Any:
    found = ok(client.get(f"/api/v1/instance/{db}/instance/{vehicle}?class_id=Vehicle"), 200)
    return found["data"]["name"]


def rename(client: httpx.Client, vehicle: str, name: str) -> None:
    current = ok(client.get(f"/api/v1/instance/{DB}/instance/{vehicle}?class_id=Vehicle"), 200)
    ok(
        client.put(
            f"{WRITES}/{vehicle}/update?expected_seq={current['version']}",
            json={"data": {"name": name}},
        )
    )


def test_two_servers_clone_push_and_pull_with_the_same_commit_ids(
    servers: tuple[httpx.Client, httpx.Client],
) -> None:
    origin, other = servers
    origin_url = str(origin.base_url)
    ok(origin.post("/api/v1/database/create", json={"name": DB}))
    ok(origin.post(f"/api/v1/database/{DB}/ontology", json=VEHICLE))
    ok(origin.post(f"{WRITES}/create", json={"data": {"vehicle_id": "V1", "name": "트럭 1"}}))

    cloned = ok(
        other.post(
            "/api/v1/database/clone",
            json={"source_url": origin_url, "source_db": DB, "name": DB},
        )
    )
    assert cloned["name"] == DB
    assert head(other) == head(origin)
    assert name_of(other, "V1") == "트럭 1"

    ok(other.post(f"{WRITES}/create", json={"data": {"vehicle_id": "V2", "name": "車両 2"}}))
    body = {"remote_url": origin_url, "remote_db": DB, "remote_branch": "main", "branch": "main"}
    pushed = ok(other.post(f"/api/v1/version/{DB}/push", json=body), 200)
    assert (pushed["remote"], pushed["sent"]) == ("fast_forward", 1)
    assert head(origin) == head(other)
    assert name_of(origin, "V2") == "車両 2"

    rename(origin, "V1", "Truck one")
    pulled = ok(other.post(f"/api/v1/version/{DB}/pull", json=body), 200)
    assert (pulled["remote"], pulled["fetched"]) == ("fast_forward", 1)
    assert name_of(other, "V1") == "Truck one"
    assert head(other) == head(origin)

    # both sides change the same field: push is refused, pull reports the conflict
    rename(origin, "V1", "Origin's name")
    rename(other, "V1", "Other's name")
    refused = other.post(f"/api/v1/version/{DB}/push", json=body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["code"] == "conflict"
    conflict = other.post(f"/api/v1/version/{DB}/pull", json=body)
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["errors"][0]["code"] == "merge_conflict"
    assert conflict.json()["data"]["conflicts"][0]["field"] == "name"
    merged = ok(other.post(f"/api/v1/version/{DB}/pull", json={**body, "strategy": "theirs"}), 200)
    assert merged["remote"] == "merged"
    assert name_of(other, "V1") == "Origin's name"
    again = ok(other.post(f"/api/v1/version/{DB}/push", json=body), 200)
    assert again["remote"] == "fast_forward"
    assert head(origin) == head(other)
    history = ok(origin.get(f"/api/v1/version/{DB}/history?branch=main&limit=100"), 200)
    other_history = ok(other.get(f"/api/v1/version/{DB}/history?branch=main&limit=100"), 200)
    assert [c["id"] for c in history["commits"]] == [c["id"] for c in other_history["commits"]]


def test_remotes_on_one_server_and_their_errors(
    servers: tuple[httpx.Client, httpx.Client],
) -> None:
    origin, _ = servers
    ok(origin.post("/api/v1/database/create", json={"name": DB}))
    ok(origin.post(f"/api/v1/database/{DB}/ontology", json=VEHICLE))
    ok(origin.post("/api/v1/database/clone", json={"source_db": DB, "name": "fleet_copy"}))
    assert head(origin, db="fleet_copy") == head(origin)

    ok(origin.post(f"{WRITES}/create", json={"data": {"vehicle_id": "V9", "name": "nine"}}))
    body = {"remote_db": DB, "remote_branch": "main", "branch": "main"}
    pulled = ok(origin.post("/api/v1/version/fleet_copy/pull", json=body), 200)
    assert pulled["remote"] == "fast_forward"
    assert name_of(origin, "V9", db="fleet_copy") == "nine"

    to_new_branch = {**body, "remote_branch": "from-copy"}
    pushed = ok(origin.post("/api/v1/version/fleet_copy/push", json=to_new_branch), 200)
    assert pushed["remote"] == "created"
    assert head(origin, "from-copy") == head(origin, db="fleet_copy")

    taken = origin.post("/api/v1/database/clone", json={"source_db": DB, "name": "fleet_copy"})
    assert taken.status_code == 409, taken.text
    missing = origin.post("/api/v1/version/fleet_copy/pull", json={**body, "remote_db": "nope"})
    assert missing.status_code == 404, missing.text
    bad_url = origin.post(
        f"/api/v1/version/{DB}/push", json={**body, "remote_url": "ftp://example"}
    )
    assert bad_url.status_code == 400, bad_url.text
    assert bad_url.json()["errors"][0]["field"] == "remote_url"
    dead = f"http://127.0.0.1:{free_port()}"
    unreachable = origin.post(f"/api/v1/version/{DB}/push", json={**body, "remote_url": dead})
    assert unreachable.status_code == 503, unreachable.text
    remote_missing = origin.post(
        f"/api/v1/version/{DB}/pull",
        json={**body, "remote_url": str(origin.base_url), "remote_db": "nope"},
    )
    assert remote_missing.status_code == 404, remote_missing.text
    assert "remote" in remote_missing.json()["message"]
    exported = origin.get(f"/api/v1/database/{DB}/history")
    assert exported.status_code == 200
    assert exported.text.splitlines()[0].startswith('{"type":"header"')
    assert origin.get("/api/v1/database/nope/history").status_code == 404
