"""Real BFF and OMS processes: labels in English and Korean over real sockets, OMS's errors
through BFF, and a command's status as a server-sent event stream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Stack, wait_for

pytestmark = pytest.mark.e2e
DB = "labels"
CUSTOMER = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "properties": [
        {"name": "customer_id", "type": "string", "label": {"en": "Customer ID", "ko": "고객 ID"}},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
    ],
}
PRODUCT = {
    "id": "Product",
    "label": {"en": "Product", "ko": "제품"},
    "properties": [{"name": "product_id", "type": "string"}],
    "relationships": [
        {
            "predicate": "owned_by",
            "target": "고객",
            "cardinality": "n:1",
            "label": {"en": "Owned by", "ko": "소유자"},
        }
    ],
}


@pytest.fixture
def bff(stack: Stack) -> Iterator[httpx.Client]:
    oms = stack.spice("serve", "oms")
    wait_for(f"{stack.url('oms')}/health")
    worker = stack.spice("serve", "worker", WORKER__POLL_SECONDS="0.05")
    bff = stack.spice("serve", "bff")
    wait_for(f"{stack.url('bff')}/health")
    with httpx.Client(base_url=stack.url("bff"), timeout=30) as client:
        yield client
    stack.stop(bff)
    stack.stop(worker)
    stack.stop(oms)


def test_labels_in_english_and_korean_through_real_processes(bff: httpx.Client) -> None:
    assert bff.get("/health").json()["data"]["dependencies"]["oms"] == "ok"
    assert bff.post("/api/v1/databases", json={"name": DB}).status_code == 202
    for cls in (CUSTOMER, PRODUCT):
        created = bff.post(f"/api/v1/database/{DB}/ontology", json=cls)
        assert created.status_code == 202, created.text
    customer = bff.post(
        f"/api/v1/database/{DB}/instances/고객/create",
        json={"data": {"고객 ID": "c1", "이름": "김민수"}},
        headers={"Idempotency-Key": "first-customer"},
    )
    assert customer.status_code == 202, customer.text
    product = bff.post(
        f"/api/v1/database/{DB}/instances/Product/create",
        json={"data": {"product_id": "p1", "Owned by": "c1"}},
    )
    assert product.status_code == 202, product.text

    read = bff.get(
        f"/api/v1/database/{DB}/class/제품/instance/p1", headers={"Accept-Language": "ko"}
    ).json()["data"]
    assert read["data"] == {"product_id": "p1", "owned_by": "c1"}
    assert (read["class_label"], read["labels"]["owned_by"]) == ("제품", "소유자")
    english = bff.get(f"/api/v1/database/{DB}/ontology/제품", headers={"Accept-Language": "en"})
    assert english.json()["data"]["class_label"] == "Product"
    assert english.json()["data"]["relationships"][0]["target"] == "Customer"

    stale = bff.put(
        f"/api/v1/database/{DB}/instances/고객/c1/update",
        params={"expected_seq": 9},
        json={"data": {"이름": "Kim"}},
    )
    assert stale.status_code == 409
    assert stale.json()["data"]["actual_seq"] == 1
    unknown = bff.get(f"/api/v1/database/{DB}/class/공급자/instances")
    assert unknown.status_code == 404
    assert "'공급자'" in unknown.json()["message"]


def test_a_command_s_status_streams_as_server_sent_events(bff: httpx.Client) -> None:
    created = bff.post("/api/v1/databases", json={"name": "events"})
    command = created.json()["data"]["command_id"]
    with bff.stream("GET", f"/api/v1/commands/{command}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in stream.iter_lines() if line]
    assert lines[:2] == ["event: status", "id: 1"]
    records = [json.loads(line.removeprefix("data: ")) for line in lines if line[:5] == "data:"]
    # PROCESSING (committed, projections pending) may come first; COMPLETED always ends it.
    assert {record["kind"] for record in records} == {"CreateDatabase"}
    assert records[-1]["status"] == "COMPLETED"
    assert records[-1]["progress"]["committed"] is True
