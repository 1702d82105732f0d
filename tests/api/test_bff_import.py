"""BFF's import over a real OMS: dry runs with every row's errors, commits as one command with
progress in its status, idempotent re-runs, partial imports, bad uploads, Korean headers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from tests.api.bff_support import accepted, bff_client, error_of, new_db, ok
from tests.oms_process import running_oms

CUSTOMER: dict[str, Any] = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "key": ["customer_id"],
    "properties": [
        {
            "name": "customer_id",
            "type": "string",
            "required": True,
            "label": {"en": "Customer ID", "ko": "고객 ID"},
        },
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
        {
            "name": "email",
            "type": "email",
            "unique": True,
            "label": {"en": "E-mail", "ko": "이메일"},
        },
        {"name": "joined", "type": "date", "label": {"en": "Joined", "ko": "가입일"}},
        {"name": "balance", "type": "decimal", "label": {"en": "Balance", "ko": "잔액"}},
    ],
}


@pytest.fixture(scope="module")
def oms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # No projection worker runs here: a command is COMPLETED once its commits are durable.
    root = tmp_path_factory.mktemp("oms")
    with running_oms(root, OMS__COMMANDS__COMPLETE_WHEN="committed") as url:
        yield url


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    yield from bff_client(tmp_path_factory, oms_url)


@pytest.fixture
def db(bff: TestClient) -> str:
    name = new_db(bff, "imp")
    accepted(bff.post(f"/api/v1/database/{name}/ontology", json=CUSTOMER))
    return name


def upload(
    bff: TestClient,
    db: str,
    text: str,
    *,
    filename: str = "customers.csv",
    headers: dict[str, str] | None = None,
    wait: bool = False,
    **form: Any,
) -> Response:
    """POSTs `text` as the file; `form` fields as text (booleans as true/false)."""
    fields = {"target_class": "Customer"}
    fields.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()})
    return bff.post(
        f"/api/v1/database/{db}/import",
        params={"wait": "true"} if wait else {},
        files={"file": (filename, text.encode(), "text/csv")},
        data=fields,
        headers=headers or {},
    )


def count(bff: TestClient, db: str) -> int:
    page = ok(bff.get(f"/api/v1/database/{db}/class/Customer/instances", params={"limit": 1}))
    return int(page["total"])


def customers(rows: int, start: int = 0) -> str:
    lines = ["customer_id,name,email,joined,balance"]
    lines += [
        f'c{i:04d},Name {i},user{i}@example.com,{1 + i % 28:02d}/03/2024,"1.234,{i % 100:02d}"'
        for i in range(start, start + rows)
    ]
    return "\n".join(lines) + "\n"


BAD = (
    "customer_id,name,email,joined\n"
    "c1,Ann,ann@example.com,31/12/2024\n"
    "c2,Bob,not-an-email,01/01/2024\n"
    "c3,Cid,cid@example.com,2024-02-30\n"
    ",Dee,dee@example.com,02/01/2024\n"
    "c5,Eve,ann@example.com,03/01/2024\n"
)


def test_a_dry_run_reports_every_bad_row_with_its_column_value_and_reason(
    bff: TestClient, db: str
) -> None:
    report = ok(upload(bff, db, BAD, dry_run=True))
    assert report["rows_total"] == 5
    assert report["rows_valid"] == 1
    assert report["rows_failed"] == 4
    found = {(e["row"], e["column"], e["value"]) for e in report["errors"]}
    assert (3, "email", "not-an-email") in found
    assert (4, "joined", "2024-02-30") in found
    assert any(e["row"] == 5 and e["column"] == "customer_id" for e in report["errors"])
    assert (6, "email", "ann@example.com") in found  # unique within the file
    assert all(e["reason"] for e in report["errors"])
    assert report["import"]["mapping"]["unmapped"] == []
    assert count(bff, db) == 0


def test_a_commit_is_one_command_whose_status_shows_progress_and_the_report(
    bff: TestClient, db: str
) -> None:
    answer = accepted(upload(bff, db, customers(25), chunk_size=10))
    command = answer["command_id"]
    status = _finished(bff, command)
    assert status["status"] == "COMPLETED", status
    progress = status["progress"]
    assert progress["rows_total"] == 25
    assert progress["rows_done"] == 25
    assert progress["chunks_done"] == 3
    assert status["result"]["rows_written"] == 25
    assert count(bff, db) == 25
    joined = ok(bff.get(f"/api/v1/database/{db}/class/Customer/instance/c0003"))
    assert joined["data"]["joined"] == "2024-03-04"
    assert joined["data"]["balance"] == "1234.03"


def test_the_same_import_again_is_the_same_command_and_writes_nothing(
    bff: TestClient, db: str
) -> None:
    first = accepted(upload(bff, db, customers(12), chunk_size=5, wait=True))
    assert first["status"] == "COMPLETED"
    history = ok(bff.get(f"/api/v1/databases/{db}/versions"))
    again = accepted(upload(bff, db, customers(12), chunk_size=5, wait=True))
    assert again["command_id"] == first["command_id"]
    assert again["rows_written"] == 12
    assert count(bff, db) == 12
    assert ok(bff.get(f"/api/v1/databases/{db}/versions"))["total"] == history["total"]
    other = accepted(upload(bff, db, customers(3, start=100), chunk_size=5, wait=True))
    assert other["command_id"] != first["command_id"]
    assert count(bff, db) == 15


def test_without_allow_partial_one_bad_row_refuses_the_import_and_writes_nothing(
    bff: TestClient, db: str
) -> None:
    answer = accepted(upload(bff, db, BAD))
    status = _finished(bff, answer["command_id"])
    assert status["status"] == "FAILED"
    assert status["error"]["code"] == "validation_failed"
    assert status["error"]["data"]["rows_failed"] == 4
    assert count(bff, db) == 0
    waited = upload(bff, db, BAD, wait=True)
    error = error_of(waited, 422)
    assert error["code"] == "validation_failed"
    assert waited.json()["data"]["errors"][0]["row"] == 3


def test_allow_partial_writes_the_good_rows_and_reports_the_others(
    bff: TestClient, db: str
) -> None:
    answer = accepted(upload(bff, db, BAD, allow_partial=True, wait=True))
    assert answer["status"] == "COMPLETED"
    assert answer["rows_written"] == 1
    assert answer["rows_failed"] == 4
    assert {e["row"] for e in answer["errors"]} == {3, 4, 5, 6}
    assert count(bff, db) == 1


def test_a_bad_upload_is_400_naming_the_problem(bff: TestClient, db: str) -> None:
    empty = error_of(upload(bff, db, "   \n"), 400)
    assert "empty" in empty["message"]
    unclosed = error_of(upload(bff, db, 'customer_id,name\nc1,"Ann\nc2,Bob\n'), 400)
    assert "never closed" in unclosed["message"]
    no_file = bff.post(f"/api/v1/database/{db}/import", data={"target_class": "Customer"})
    assert "file" in error_of(no_file, 400)["message"]
    bad_mapping = error_of(upload(bff, db, customers(1), mapping="{not json"), 400)
    assert bad_mapping["field"] == "mapping"
    unknown = error_of(upload(bff, db, customers(1), mapping='{"email": "Fax"}'), 422)
    assert "Fax" in unknown["message"]


def test_korean_headers_fill_a_class_whose_labels_are_korean(bff: TestClient, db: str) -> None:
    text = (
        "고객 ID,이름,이메일,가입일,잔액\n"
        'k1,김철수,kim@example.kr,31/12/2024,"1.234,56"\n'
        'k2,이영희,lee@example.kr,01/02/2024,"98,10"\n'
    )
    answer = accepted(
        upload(
            bff,
            db,
            text,
            filename="고객.csv",
            target_class="고객",
            wait=True,
            headers={"Accept-Language": "ko"},
        )
    )
    assert answer["status"] == "COMPLETED"
    assert answer["class_label"] == "고객"
    columns = {c["column"]: c["field"] for c in answer["import"]["mapping"]["columns"]}
    assert columns == {
        "고객 ID": "customer_id",
        "이름": "name",
        "이메일": "email",
        "가입일": "joined",
        "잔액": "balance",
    }
    kim = ok(bff.get(f"/api/v1/database/{db}/class/고객/instance/k1"))
    assert kim["data"] == {
        "customer_id": "k1",
        "name": "김철수",
        "email": "kim@example.kr",
        "joined": "2024-12-31",
        "balance": "1234.56",
    }


def test_a_mapping_in_labels_picks_the_columns(bff: TestClient, db: str) -> None:
    text = "id,who,mail\nm1,Mia,mia@example.com\n"
    mapping = '{"id": "고객 ID", "who": "Name", "mail": "이메일"}'
    answer = accepted(upload(bff, db, text, mapping=mapping, wait=True))
    assert answer["status"] == "COMPLETED", answer
    mia = ok(bff.get(f"/api/v1/database/{db}/class/Customer/instance/m1"))
    assert mia["data"]["email"] == "mia@example.com"


def test_a_new_class_is_suggested_from_the_file_and_filled(bff: TestClient, db: str) -> None:
    text = "sku,price,launched\nA-1,10.50,2024-01-02\nA-2,7.25,2024-03-04\n"
    preview = ok(upload(bff, db, text, target_class="Item", create_class=True, dry_run=True))
    assert preview["class"]["id"] == "Item"
    assert preview["rows_valid"] == 2
    answer = accepted(upload(bff, db, text, target_class="Item", create_class=True, wait=True))
    assert answer["created_class"] is True
    assert answer["status"] == "COMPLETED"
    page = ok(bff.get(f"/api/v1/database/{db}/class/Item/instances"))
    assert page["total"] == 2


def _finished(bff: TestClient, command_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        status: dict[str, Any] = ok(bff.get(f"/api/v1/commands/{command_id}/status"))
        if status["status"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)
