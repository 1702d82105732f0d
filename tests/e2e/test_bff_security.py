"""BFF's security as real processes: keys from the CLI, each role (and no key, or a bad one) on
a read and a write route, one budget across two BFF processes on one Redis, and `spice audit
verify` catching an audit row changed behind BFF's back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
from sqlalchemy import text

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.services.bff.security.keys import KEY_CACHE_SECONDS
from tests.e2e.conftest import Stack, free_port, wait_for
from tests.integration.sql_engines import POOL

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("SPICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"spice-e2e:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        found = list(client.scan_iter(match=f"{prefix}*"))
        if found:
            client.delete(*found)
    finally:
        client.close()


def _issue_keys(stack: Stack, roles: dict[str, list[str]]) -> dict[str, str]:
    """`spice apikey create` once per name (at once, in parallel): {name: key}."""
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "spice_harvester", "apikey", "create", "--name", name, *args],
            cwd=stack.root,
            env=stack.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, args in roles.items()
    }
    keys = {}
    for name, run in runs.items():
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
        keys[name] = out.strip()
    return keys


def test_each_role_on_a_read_and_a_write_route(stack: Stack) -> None:
    stack.env |= {
        "DATABASE_URL": f"sqlite:///{stack.root / 'data' / 'bff.sqlite3'}",
        "BFF__AUTHENTICATION__API_KEY_ENABLED": "true",
        "BFF__RATE_LIMITING__ENABLED": "false",
    }
    stack.spice("serve", "oms")
    wait_for(f"{stack.url('oms')}/health")  # the schema is migrated once OMS is up
    keys = _issue_keys(
        stack,
        {
            "reader": ["--role", "viewer"],
            "writer": ["--role", "editor"],
            "boss": ["--role", "admin"],
            "outsider": ["--role", "admin", "--database", "elsewhere"],
        },
    )
    stack.spice("serve", "bff")
    base = stack.url("bff")
    wait_for(f"{base}/health")
    with httpx.Client(base_url=base, timeout=30) as bff:
        boss = {"X-API-Key": keys["boss"]}
        assert bff.post("/api/v1/databases", json={"name": "matrix"}, headers=boss).is_success
        customer = {
            "id": "Customer",
            "label": {"en": "Customer", "ko": "고객"},
            "properties": [{"name": "customer_id", "type": "string"}],
        }
        assert bff.post("/api/v1/database/matrix/ontology", json=customer, headers=boss).is_success

        def answers(name: str, key: str | None) -> tuple[int, int]:
            headers = {} if key is None else {"X-API-Key": key}
            read = bff.get("/api/v1/database/matrix/class/고객/instances", headers=headers)
            write = bff.post(
                "/api/v1/database/matrix/instances/고객/create",
                json={"data": {"customer_id": f"by-{name}"}},
                headers=headers,
            )
            for answer in (read, write):
                if answer.status_code in (401, 403):
                    code = answer.json()["errors"][0]["code"]
                    assert code == ("unauthorized" if answer.status_code == 401 else "forbidden")
            return read.status_code, write.status_code

        assert answers("nobody", None) == (401, 401)
        assert answers("forger", "sh_not-a-key-at-all") == (401, 401)
        assert answers("reader", keys["reader"]) == (200, 403)
        assert answers("writer", keys["writer"]) == (200, 202)
        assert answers("boss", keys["boss"]) == (200, 202)
        assert answers("outsider", keys["outsider"]) == (403, 403)

        # The key's name reaches OMS as the actor of the commit.
        versions = bff.get("/api/v1/databases/matrix/versions", headers=boss).json()["data"]
        authors = {v["message"]: v["author"] for v in versions["versions"]}
        assert authors["Create Customer/by-writer"] == "writer"
        assert authors["Create Customer/by-boss"] == "boss"
        assert "Create Customer/by-reader" not in authors


def _whoami(base: str, key: str) -> httpx.Response:
    return httpx.get(f"{base}/api/v1/whoami", headers={"X-API-Key": key}, timeout=10)


@pytest.mark.redis
def test_two_bff_processes_on_one_redis_share_a_keys_budget(
    stack: Stack, redis_prefix: str
) -> None:
    stack.env |= {
        "DATABASE_URL": f"sqlite:///{stack.root / 'data' / 'bff.sqlite3'}",
        "REDIS_URL": REDIS_URL,
        "BFF__RATE_LIMITING__REDIS_PREFIX": redis_prefix,
        "BFF__RATE_LIMITING__DEFAULT_LIMIT": "6",
        "BFF__AUTHENTICATION__API_KEY_ENABLED": "true",
    }
    created = stack.run("apikey", "create", "--name", "shared", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("sh_")
    assert "cannot be shown again" in created.stderr

    other_port = free_port()
    stack.spice("serve", "bff")
    stack.spice("serve", "bff", BFF_PORT=str(other_port))
    bases = [stack.url("bff"), f"http://127.0.0.1:{other_port}"]
    for base in bases:
        wait_for(f"{base}/api/v1/whoami", status=401)

    # Each process answers from the one bucket in Redis: six requests in all, then 429.
    answers = [_whoami(bases[i % 2], key) for i in range(7)]
    assert [answer.status_code for answer in answers] == [200] * 6 + [429]
    assert [answer.headers["x-ratelimit-remaining"] for answer in answers[:6]] == [
        "5",
        "4",
        "3",
        "2",
        "1",
        "0",
    ]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[0].json()["data"]["actor"] == "shared"

    listed = stack.run("apikey", "list", "--json")
    (shown,) = json.loads(listed.stdout)["keys"]
    assert shown["name"] == "shared"
    assert shown["last_used_at"] is not None
    assert key not in listed.stdout

    revoked = stack.run("apikey", "revoke", shown["key_id"])
    assert revoked.returncode == 0, revoked.stderr
    for action in ("apikey.create", "apikey.revoke"):
        audited = stack.run("audit", "list", "--action", action)
        assert shown["key_id"] in audited.stdout, (action, audited.stdout)
    # Once the key cache's few seconds are over, both processes refuse the key. (401, not
    # 429: a refused key names no bucket, so the address's own, barely used bucket answers.)
    time.sleep(KEY_CACHE_SECONDS + 0.5)
    assert [_whoami(base, key).status_code for base in bases] == [401, 401]


def test_audit_verify_names_the_audit_row_edited_with_sql(stack: Stack, database_url: str) -> None:
    stack.env |= {"DATABASE_URL": database_url, "BFF_ADMIN_TOKEN": ADMIN_TOKEN}
    bff = stack.spice("serve", "bff")
    wait_for(f"{stack.url('bff')}/api/v1/admin/audit", status=403)
    audit = f"{stack.url('bff')}/api/v1/admin/audit"
    for actor in ("ops", "auditor", "ops"):
        answer = httpx.get(audit, headers={"X-Admin-Token": ADMIN_TOKEN, "X-Admin-Actor": actor})
        assert answer.status_code == 200
    assert stack.stop(bff) == 0

    # One refused call while waiting for start-up, then three allowed ones.
    holds = stack.run("audit", "verify")
    assert holds.returncode == 0, holds.stderr
    assert "audit chain holds: 4 entries" in holds.stdout
    listed = stack.run("audit", "list", "--actor", "auditor")
    assert "admin.read_audit" in listed.stdout
    assert "allowed" in listed.stdout

    database = SqlDatabase(database_url, POOL)
    try:
        with database.transaction() as connection:
            connection.execute(text("UPDATE audit_log SET actor = 'ops' WHERE entry_id = 3"))
    finally:
        database.close()
    edited = stack.run("audit", "verify")
    assert edited.returncode == 1
    # Removals and rewritten hashes are named too (tests/integration/test_audit_log_contract.py).
    assert edited.stderr.strip() == (
        "spice: audit entry 3 does not hash to its recorded hash: it was edited"
    )
