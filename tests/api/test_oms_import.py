"""OMS's import route in process on SQLite: NDJSON or JSON rows, one command with progress,
dry runs, idempotency keys, and bodies that are not rows."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings

DB = "imports"
ROUTE = f"/api/v1/instances/{DB}/async/Customer/import"
NDJSON = {"content-type": "application/x-ndjson"}
CUSTOMER = {
    "id": "Customer",
    "label": "Customer",
    "key": ["cid"],
    "properties": [
        {"name": "cid", "type": "string", "required": True},
        {"name": "email", "type": "email", "unique": True},
    ],
}


@pytest.fixture
def oms(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    # No projection worker here: a command is COMPLETED once its commits are durable.
    monkeypatch.setenv("OMS__COMMANDS__COMPLETE_WHEN", "committed")
    with TestClient(create_app(load_settings())) as client:
        assert client.post("/api/v1/database/create", json={"name": DB}).status_code == 202
        created = client.post(f"/api/v1/database/{DB}/ontology", json=CUSTOMER)
        assert created.status_code == 202, created.text
        yield client


def lines(count: int, *, header: bool = True, bad: int | None = None) -> bytes:
    out = [json.dumps({"header": {"columns": {"cid": "Customer ID", "email": "E-mail"}}})]
    out = out if header else []
    for i in range(count):
        email = "nope" if i == bad else f"c{i}@example.com"
        out.append(json.dumps({"row": i + 2, "data": {"cid": f"c{i}", "email": email}}))
    return ("\n".join(out) + "\n").encode()


def post(oms: TestClient, body: bytes, **params: Any) -> Response:
    return oms.post(ROUTE, content=body, headers=NDJSON, params={"wait": "true", **params})


def count(oms: TestClient) -> int:
    answer = oms.get(f"/api/v1/instance/{DB}/class/Customer/count")
    return int(answer.json()["data"]["count"])


def test_ndjson_rows_import_as_one_command_whose_status_shows_the_progress(
    oms: TestClient,
) -> None:
    answer = post(oms, lines(23), chunk_size=10)
    assert answer.status_code == 202, answer.text
    data = answer.json()["data"]
    assert data["status"] == "COMPLETED"
    assert (data["rows_written"], data["chunks_written"]) == (23, 3)
    status = oms.get(f"/api/v1/commands/{data['command_id']}/status").json()["data"]
    assert status["kind"] == "ImportInstances"
    assert status["progress"]["rows_done"] == 23
    assert status["progress"]["chunks_done"] == 3
    assert count(oms) == 23


def test_without_wait_the_answer_is_at_once_and_the_status_follows(oms: TestClient) -> None:
    answer = oms.post(ROUTE, content=lines(30), headers=NDJSON, params={"chunk_size": 5})
    assert answer.status_code == 202, answer.text
    command = answer.json()["data"]["command_id"]
    deadline = time.monotonic() + 30
    while True:
        status = oms.get(f"/api/v1/commands/{command}/status").json()["data"]
        if status["status"] == "COMPLETED" or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert status["status"] == "COMPLETED"
    assert status["result"]["rows_written"] == 30


def test_a_json_body_of_instances_imports_too(oms: TestClient) -> None:
    body = {"instances": [{"cid": "j1", "email": "j1@example.com"}, {"cid": "j2"}]}
    answer = oms.post(ROUTE, json=body, params={"wait": "true"})
    assert answer.status_code == 202, answer.text
    assert answer.json()["data"]["rows_written"] == 2


def test_a_dry_run_reports_each_bad_row_with_its_column_and_writes_nothing(
    oms: TestClient,
) -> None:
    answer = post(oms, lines(5, bad=3), dry_run="true")
    assert answer.status_code == 200, answer.text
    report = answer.json()["data"]
    assert report["rows_valid"] == 4
    [error] = report["errors"]
    assert (error["row"], error["column"], error["field"], error["value"]) == (
        5,
        "E-mail",
        "email",
        "nope",
    )
    assert count(oms) == 0


def test_a_bad_row_refuses_the_import_with_422_and_its_report(oms: TestClient) -> None:
    answer = post(oms, lines(5, bad=1))
    assert answer.status_code == 422, answer.text
    assert answer.json()["data"]["errors"][0]["row"] == 3
    assert count(oms) == 0


def test_the_same_rows_again_are_the_same_command(oms: TestClient) -> None:
    first = post(oms, lines(4)).json()["data"]
    again = post(oms, lines(4)).json()["data"]
    assert again["command_id"] == first["command_id"]
    assert again["rows_written"] == 4
    assert count(oms) == 4


def test_an_idempotency_key_reused_for_other_rows_is_409(oms: TestClient) -> None:
    key = {"Idempotency-Key": "import-key-1", **NDJSON}
    first = oms.post(ROUTE, content=lines(2), headers=key, params={"wait": "true"})
    assert first.status_code == 202, first.text
    other = oms.post(ROUTE, content=lines(3), headers=key, params={"wait": "true"})
    assert other.status_code == 409, other.text
    assert other.json()["errors"][0]["code"] == "idempotency_mismatch"


def test_bodies_that_hold_no_rows_are_400(oms: TestClient) -> None:
    empty = oms.post(ROUTE, content=b"", headers=NDJSON)
    assert empty.status_code == 400, empty.text
    header_only = oms.post(ROUTE, content=lines(0), headers=NDJSON)
    assert header_only.status_code == 400, header_only.text
    not_rows = oms.post(ROUTE, json={"rows": 3})
    assert not_rows.status_code == 400, not_rows.text
    bad_header = oms.post(
        ROUTE, content=b'{"header": {"columns": 3}}\n{"data": {}}\n', headers=NDJSON
    )
    assert bad_header.status_code == 400, bad_header.text


def test_a_line_that_is_not_a_row_is_reported_on_its_row(oms: TestClient) -> None:
    body = lines(2, header=False) + b"not json\n"
    answer = post(oms, body, dry_run="true")
    assert answer.status_code == 200, answer.text
    [error] = answer.json()["data"]["errors"]
    assert error["row"] == 3
    assert "not valid JSON" in error["reason"]
