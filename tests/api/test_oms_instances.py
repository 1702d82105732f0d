"""OMS instances over HTTP (in process, real SQLite): writes as commands, checks, reads at refs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.instances import join_key, split_key
from spice_harvester.application.ontology import ClassWriter
from spice_harvester.domain.ontology.schema import SchemaLimits
from spice_harvester.services.factory import build_service
from spice_harvester.services.oms import app as oms_app
from spice_harvester.services.oms.routers import instances
from spice_harvester.settings import load_settings
from tests.api.projection_support import catch_up

DB = "trading"
WRITE = f"/api/v1/instances/{DB}/async"
READ = f"/api/v1/instance/{DB}"

CLASSES: list[dict[str, Any]] = [
    {
        "id": "Client",
        "label": {"en": "Client", "ko": "고객"},
        "key": ["client_id"],
        "properties": [
            {"name": "client_id", "type": "string", "required": True},
            {"name": "name", "type": "string"},
            {"name": "email", "type": "email", "unique": True},
        ],
    },
    {
        "id": "VipClient",
        "label": "VIP client",
        "parent_class": "Client",
        "properties": [{"name": "tier", "type": "string"}],
    },
    {
        "id": "Product",
        "label": "Product",
        "properties": [
            {"name": "product_id", "type": "string"},
            {"name": "name", "type": "string", "required": True},
            {"name": "price", "type": "money"},
            {"name": "phone", "type": "phone"},
            {"name": "email", "type": "email"},
            {"name": "launched", "type": "date"},
            {
                "name": "status",
                "type": "enum",
                "constraints": {"values": ["draft", "active"]},
                "default": "draft",
            },
            {"name": "tags", "type": "array", "constraints": {"item_type": "string"}},
        ],
        "relationships": [{"predicate": "client", "target": "Client", "cardinality": "n:1"}],
    },
    {
        "id": "Review",
        "label": "Review",
        "properties": [{"name": "review_id", "type": "string"}, {"name": "stars", "type": "int"}],
        "relationships": [
            {"predicate": "product", "target": "Product", "cardinality": "n:1", "required": True}
        ],
    },
    {
        "id": "Project",
        "label": "Project",
        "properties": [{"name": "project_id", "type": "string"}],
        "relationships": [{"predicate": "members", "target": "Client", "cardinality": "n:m"}],
    },
    {
        "id": "Invoice",
        "label": "Invoice",
        "properties": [{"name": "invoice_id", "type": "string"}],
        "relationships": [
            {"predicate": "billed", "target": "Client", "cardinality": "n:1", "required": True}
        ],
    },
    {
        "id": "OrderLine",
        "label": "Order line",
        "key": ["order_id", "line_no"],
        "properties": [
            {"name": "order_id", "type": "string", "required": True},
            {"name": "line_no", "type": "integer", "required": True},
            {"name": "qty", "type": "integer", "default": 1},
        ],
    },
    {"id": "Note", "label": "Note", "properties": [{"name": "text", "type": "text"}]},
    {"id": "Party", "label": "Party", "abstract": True, "properties": []},
]


@pytest.fixture
def client(workdir: Path) -> Iterator[TestClient]:
    app = build_service("oms", [*oms_app.ROUTERS, instances.router], load_settings())
    with TestClient(app) as test_client:
        created = test_client.post("/api/v1/database/create", json={"name": DB})
        assert created.status_code == 202, created.text
        writer = ClassWriter(store_of(test_client), SchemaLimits())
        for payload in CLASSES:
            writer.create(DB, "main", payload, "setup", uuid.uuid4().hex)
        yield test_client


def store_of(client: TestClient) -> SqlVersionedStore:
    found: Any = client.app.state.resources.store  # type: ignore[attr-defined]
    assert isinstance(found, SqlVersionedStore)
    return found


def create(
    client: TestClient, class_id: str, data: dict[str, Any], **params: str
) -> dict[str, Any]:
    response = client.post(f"{WRITE}/{class_id}/create", json={"data": data}, params=params)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


def refused(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    assert body["errors"][0]["code"] == code
    return body


def get(client: TestClient, instance_id: str, **params: str) -> dict[str, Any]:
    response = client.get(f"{READ}/instance/{quote(instance_id, safe='')}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


def update(
    client: TestClient, class_id: str, instance_id: str, seq: int, data: dict[str, Any]
) -> Response:
    path = f"{WRITE}/{class_id}/{quote(instance_id, safe='')}/update"
    return client.put(path, params={"expected_seq": seq}, json={"data": data})


def delete(
    client: TestClient, class_id: str, instance_id: str, seq: int, **params: str
) -> Response:
    path = f"{WRITE}/{class_id}/{quote(instance_id, safe='')}/delete"
    return client.delete(path, params={"expected_seq": seq, **params})


def test_an_instance_is_created_as_a_command_and_read_back_normalised(
    client: TestClient,
) -> None:
    create(client, "Client", {"client_id": "c1", "name": "Acme"})
    answer = create(
        client,
        "Product",
        {
            "product_id": "p1",
            "name": "Widget",
            "price": "12.50 USD",
            "phone": "+82 10-1234-5678",
            "email": "sales@EXAMPLE.com",
            "launched": "2024/03/01",
            "tags": ["a", "b"],
            "client": "c1",
        },
    )
    assert answer["status"] == "PROCESSING"  # COMPLETED once the projections hold it
    assert answer["aggregate_id"] == answer["instance_id"] == "p1"
    assert answer["class_id"] == "Product"
    assert answer["version"] == 1
    assert len(answer["commit_id"]) == 40
    catch_up(client)
    status = client.get(f"/api/v1/commands/{answer['command_id']}/status").json()["data"]
    assert status["status"] == "COMPLETED"

    read = get(client, "p1", class_id="Product")
    assert read["id"] == "p1"
    assert read["class_id"] == "Product"
    assert read["version"] == 1
    assert read["commit_id"] == answer["commit_id"]
    assert read["updated_at"]
    assert read["data"] == {
        "product_id": "p1",
        "name": "Widget",
        "price": {"amount": "12.50", "currency": "USD"},
        "phone": "+821012345678",
        "email": "sales@example.com",
        "launched": "2024-03-01",
        "status": "draft",
        "tags": ["a", "b"],
        "client": "c1",
    }
    assert get(client, "p1") == read


def test_ids_come_from_the_key_a_composite_key_an_id_property_or_are_generated(
    client: TestClient,
) -> None:
    assert create(client, "Client", {"client_id": "고객-1"})["instance_id"] == "고객-1"
    line = create(client, "OrderLine", {"order_id": "A|B\\C", "line_no": "2"})
    assert line["instance_id"] == "A\\|B\\\\C|2"
    assert get(client, line["instance_id"])["data"] == {
        "order_id": "A|B\\C",
        "line_no": 2,
        "qty": 1,
    }
    assert create(client, "Product", {"product_id": "sku-9", "name": "x"})["instance_id"] == "sku-9"
    generated = create(client, "Note", {"text": "hello"})["instance_id"]
    assert len(generated) == 32
    assert int(generated, 16) >= 0
    spaced = client.post(f"{WRITE}/Client/create", json={"data": {"client_id": "a b"}})
    assert refused(spaced, 422, "validation_failed")["errors"][0]["field"] == "id"
    again = client.post(f"{WRITE}/Client/create", json={"data": {"client_id": "고객-1"}})
    assert refused(again, 409, "already_exists")["errors"][0]["field"] == "id"


def test_unknown_fields_missing_required_ones_and_bad_values_are_named(
    client: TestClient,
) -> None:
    unknown = client.post(f"{WRITE}/Product/create", json={"data": {"name": "x", "colour": 1}})
    body = refused(unknown, 422, "validation_failed")
    assert body["errors"][0]["field"] == "colour"
    assert "unknown field" in body["message"]
    missing = client.post(f"{WRITE}/Product/create", json={"data": {"product_id": "p"}})
    assert refused(missing, 422, "validation_failed")["errors"][0]["field"] == "name"
    bad = client.post(f"{WRITE}/Product/create", json={"data": {"name": "x", "phone": "12"}})
    assert refused(bad, 422, "validation_failed")["errors"][0]["field"] == "phone"
    item = client.post(
        f"{WRITE}/Product/create", json={"data": {"name": "x", "tags": ["ok", "fine", 3]}}
    )
    assert refused(item, 422, "validation_failed")["errors"][0]["field"] == "tags[2]"
    key_part = client.post(f"{WRITE}/OrderLine/create", json={"data": {"order_id": "o"}})
    assert refused(key_part, 422, "validation_failed")["errors"][0]["field"] == "line_no"
    abstract = client.post(f"{WRITE}/Party/create", json={"data": {}})
    assert refused(abstract, 422, "validation_failed")["errors"][0]["field"] == "class_id"
    nowhere = client.post(f"{WRITE}/Nothing/create", json={"data": {}})
    assert refused(nowhere, 422, "validation_failed")["errors"][0]["field"] == "class_id"
    not_object = client.post(f"{WRITE}/Note/create", json={"data": [1, 2]})
    refused(not_object, 422, "validation_failed")
    broken = client.post(
        f"{WRITE}/Note/create", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    refused(broken, 400, "validation_failed")


def test_relationship_targets_must_exist_and_may_be_subclass_instances(
    client: TestClient,
) -> None:
    lost = client.post(f"{WRITE}/Product/create", json={"data": {"name": "x", "client": "ghost"}})
    body = refused(lost, 422, "validation_failed")
    assert body["errors"][0]["field"] == "client"
    assert "ghost" in body["message"]
    create(client, "VipClient", {"client_id": "vip1", "tier": "gold"})
    assert create(client, "Product", {"name": "x", "client": "vip1"})["version"] == 1
    project = create(client, "Project", {"project_id": "pr1", "members": "vip1"})
    assert get(client, project["instance_id"])["data"]["members"] == ["vip1"]
    several = client.post(
        f"{WRITE}/Product/create", json={"data": {"name": "x", "client": ["vip1"]}}
    )
    assert refused(several, 422, "validation_failed")["errors"][0]["field"] == "client"


def test_unique_values_are_refused_with_409_naming_the_field(client: TestClient) -> None:
    create(client, "Client", {"client_id": "c1", "email": "a@x.com"})
    clash = client.post(
        f"{WRITE}/Client/create", json={"data": {"client_id": "c2", "email": "a@X.COM"}}
    )
    body = refused(clash, 409, "already_exists")
    assert body["errors"][0]["field"] == "email"
    assert body["data"] == {"class_id": "Client", "id": "c1"}
    subclass = client.post(
        f"{WRITE}/VipClient/create", json={"data": {"client_id": "v", "email": "a@x.com"}}
    )
    refused(subclass, 409, "already_exists")
    assert (
        update(client, "Client", "c1", 1, {"email": "a@x.com", "name": "same"}).status_code == 202
    )


def test_a_stale_expected_seq_answers_409_with_both_versions(client: TestClient) -> None:
    create(client, "Client", {"client_id": "c1", "name": "one"})
    stale = update(client, "Client", "c1", 5, {"name": "two"})
    body = refused(stale, 409, "occ_conflict")
    assert body["data"] == {
        "aggregate_id": "instance:Client/c1",
        "expected_seq": 5,
        "actual_seq": 1,
    }
    assert get(client, "c1")["data"]["name"] == "one"
    missing = client.put(f"{WRITE}/Client/c1/update", json={"data": {"name": "x"}})
    refused(missing, 400, "validation_failed")
    gone = update(client, "Client", "nobody", 1, {"name": "x"})
    refused(gone, 404, "not_found")


def test_an_update_merges_fields_and_null_unsets_them(client: TestClient) -> None:
    create(client, "Product", {"product_id": "p1", "name": "Widget", "phone": "+1 650 253 0000"})
    merged = update(client, "Product", "p1", 1, {"launched": "2024-01-31", "phone": None})
    assert merged.status_code == 202, merged.text
    assert merged.json()["data"]["version"] == 2
    read = get(client, "p1")
    assert read["version"] == 2
    assert read["data"] == {
        "product_id": "p1",
        "name": "Widget",
        "status": "draft",
        "launched": "2024-01-31",
    }
    required = update(client, "Product", "p1", 2, {"name": None})
    assert refused(required, 422, "validation_failed")["errors"][0]["field"] == "name"
    rekey = update(client, "Product", "p1", 2, {"product_id": "p2"})
    assert refused(rekey, 422, "validation_failed")["errors"][0]["field"] == "product_id"
    empty = update(client, "Product", "p1", 2, {})
    refused(empty, 422, "validation_failed")


def test_deleting_a_referenced_instance_answers_409_naming_the_referrers(
    client: TestClient,
) -> None:
    create(client, "Client", {"client_id": "c1"})
    create(client, "Product", {"product_id": "p1", "name": "x", "client": "c1"})
    create(client, "Project", {"project_id": "pr1", "members": ["c1"]})
    body = refused(delete(client, "Client", "c1", 1), 409, "conflict")
    assert sorted(body["data"]["referrers"], key=lambda r: r["class_id"]) == [
        {"class_id": "Product", "id": "p1", "predicate": "client"},
        {"class_id": "Project", "id": "pr1", "predicate": "members"},
    ]
    assert get(client, "c1")["version"] == 1
    stale = delete(client, "Client", "c1", 3)
    refused(stale, 409, "occ_conflict")
    both = delete(client, "Client", "c1", 1, cascade="true", unlink="true")
    refused(both, 422, "validation_failed")


def test_cascade_deletes_the_referrers_and_theirs(client: TestClient) -> None:
    create(client, "Client", {"client_id": "c1"})
    create(client, "Client", {"client_id": "c2"})
    create(client, "Product", {"product_id": "p1", "name": "x", "client": "c1"})
    create(client, "Product", {"product_id": "p2", "name": "y", "client": "c2"})
    create(client, "Review", {"review_id": "r1", "product": "p1", "stars": 5})
    answer = delete(client, "Client", "c1", 1, cascade="true")
    assert answer.status_code == 202, answer.text
    assert answer.json()["data"]["changed"] == 3
    for class_id, gone in (("Client", "c1"), ("Product", "p1"), ("Review", "r1")):
        missing = client.get(f"{READ}/instance/{gone}", params={"class_id": class_id})
        refused(missing, 404, "not_found")
    assert get(client, "p2")["data"]["client"] == "c2"


def test_unlink_removes_the_references_unless_one_is_required(client: TestClient) -> None:
    create(client, "Client", {"client_id": "c1"})
    create(client, "Client", {"client_id": "c2"})
    create(client, "Product", {"product_id": "p1", "name": "x", "client": "c1"})
    create(client, "Project", {"project_id": "pr1", "members": ["c1", "c2"]})
    create(client, "Invoice", {"invoice_id": "i1", "billed": "c2"})
    answer = delete(client, "Client", "c1", 1, unlink="true")
    assert answer.status_code == 202, answer.text
    assert "client" not in get(client, "p1")["data"]
    assert get(client, "p1")["version"] == 2
    assert get(client, "pr1")["data"]["members"] == ["c2"]
    required = delete(client, "Client", "c2", 1, unlink="true")
    assert refused(required, 422, "validation_failed")["errors"][0]["field"] == "billed"
    assert get(client, "c2")["version"] == 1


def test_a_thousand_rows_are_created_in_one_commit(client: TestClient) -> None:
    rows: list[dict[str, Any]] = [
        {"order_id": f"o{i // 10}", "line_no": i % 10} for i in range(999)
    ]
    rows.append({"data": {"order_id": "wrapped", "line_no": 1, "qty": 7}})
    response = client.post(f"{WRITE}/OrderLine/bulk-create", json={"instances": rows})
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["count"] == 1000
    assert data["ids"][:2] == ["o0|0", "o0|1"]
    assert data["ids"][-1] == "wrapped|1"
    count = client.get(f"{READ}/class/OrderLine/count").json()["data"]
    assert count == {"count": 1000}
    commits = client.get(f"/api/v1/version/{DB}/history", params={"limit": 1}).json()["data"]
    assert commits["commits"][0]["id"] == data["commit_id"]
    before = client.get(f"{READ}/class/OrderLine/count", params={"at": "main~1"}).json()["data"]
    assert before == {"count": 0}


def test_one_bad_row_fails_the_bulk_and_is_reported_by_row(client: TestClient) -> None:
    create(client, "Client", {"client_id": "c1", "email": "taken@x.com"})
    rows = [
        {"client_id": "ok-1"},
        {"client_id": "ok-2", "email": "not an email"},
        {"client_id": "c1"},
        {"client_id": "ok-1"},
        {"client_id": "ok-5", "email": "taken@X.COM"},
        {"client_id": "ok-6", "colour": "red"},
    ]
    response = client.post(f"{WRITE}/Client/bulk-create", json={"instances": rows})
    body = refused(response, 422, "validation_failed")
    errors = body["data"]["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [
        (1, "email"),
        (2, "id"),
        (3, "id"),
        (4, "email"),
        (5, "colour"),
    ]
    assert body["data"]["error_count"] == 5
    assert client.get(f"{READ}/class/Client/count").json()["data"] == {"count": 1}
    empty = client.post(f"{WRITE}/Client/bulk-create", json={"instances": []})
    refused(empty, 422, "validation_failed")


def test_bulk_rows_may_point_at_rows_of_the_same_request(client: TestClient) -> None:
    rows = [{"client_id": "c1"}]
    assert client.post(f"{WRITE}/Client/bulk-create", json={"instances": rows}).status_code == 202
    products = [{"product_id": "p1", "name": "x", "client": "c1"}, {"name": "y", "client": "no"}]
    response = client.post(f"{WRITE}/Product/bulk-create", json={"instances": products})
    errors = refused(response, 422, "validation_failed")["data"]["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(1, "client")]


def test_lists_page_search_and_count(client: TestClient) -> None:
    names = ["Alpha", "beta", "ALPHABET", "gamma", "Alphorn"]
    rows = [{"client_id": f"c{i}", "name": name} for i, name in enumerate(names)]
    assert client.post(f"{WRITE}/Client/bulk-create", json={"instances": rows}).status_code == 202
    page = client.get(f"{READ}/class/Client/instances", params={"limit": 2, "offset": 1})
    data = page.json()["data"]
    assert (data["total"], data["limit"], data["offset"]) == (5, 2, 1)
    assert [item["id"] for item in data["instances"]] == ["c1", "c2"]
    assert data["instances"][0]["data"] == {"client_id": "c1", "name": "beta"}
    assert data["instances"][0]["updated_at"]
    found = client.get(
        f"{READ}/class/Client/instances", params={"search": "alph", "limit": 2, "offset": 1}
    ).json()["data"]
    assert found["total"] == 3
    assert [item["data"]["name"] for item in found["instances"]] == ["ALPHABET", "Alphorn"]
    assert client.get(f"{READ}/class/Client/count").json()["data"] == {"count": 5}
    unknown = client.get(f"{READ}/class/Nothing/instances")
    refused(unknown, 404, "not_found")
    refused(
        client.get(f"{READ}/class/Client/instances", params={"limit": 0}), 400, "validation_failed"
    )


def test_history_lists_every_version_newest_first(client: TestClient) -> None:
    create(client, "Client", {"client_id": "c1", "name": "one"}, **{})
    update(client, "Client", "c1", 1, {"name": "two"})
    client.delete(
        f"{WRITE}/Client/c1/delete", params={"expected_seq": 2}, headers={"X-Actor": "kim"}
    )
    versions = client.get(f"{READ}/instance/c1/history").json()["data"]["versions"]
    assert [(v["version"], v["deleted"]) for v in versions] == [(3, True), (2, False), (1, False)]
    assert versions[0]["author"] == "kim"
    assert versions[0]["data"] is None
    assert versions[1]["data"]["name"] == "two"
    assert all(v["timestamp"] and len(v["commit_id"]) == 40 for v in versions)
    again = create(client, "Client", {"client_id": "c1", "name": "three"})
    assert again["version"] == 4
    refused(client.get(f"{READ}/instance/nobody/history"), 404, "not_found")


def test_reads_follow_at_and_branch(client: TestClient) -> None:
    create(client, "Client", {"client_id": "c1", "name": "one"})
    update(client, "Client", "c1", 1, {"name": "two"})
    assert get(client, "c1", at="main~1")["data"]["name"] == "one"
    assert get(client, "c1", at="main")["data"]["name"] == "two"
    branch = client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "feature/kr"})
    assert branch.status_code == 201, branch.text
    create(client, "Client", {"client_id": "c2"}, branch="feature/kr")
    assert get(client, "c2", branch="feature/kr")["id"] == "c2"
    refused(client.get(f"{READ}/instance/c2"), 404, "not_found")
    counts = [
        client.get(f"{READ}/class/Client/count", params=params).json()["data"]["count"]
        for params in ({}, {"branch": "feature/kr"}, {"branch": "feature/kr", "at": "HEAD~1"})
    ]
    assert counts == [1, 2, 1]
    lost = client.post(f"{WRITE}/Product/create", json={"data": {"name": "x", "client": "c2"}})
    refused(lost, 422, "validation_failed")
    refused(client.get(f"{READ}/instance/c1", params={"at": "nowhere"}), 404, "not_found")


def test_korean_and_japanese_values_are_kept_as_sent(client: TestClient) -> None:
    answer = create(client, "Client", {"client_id": "顧客-東京", "name": "홍길동 株式会社 🍣"})
    assert answer["instance_id"] == "顧客-東京"
    assert get(client, "顧客-東京")["data"]["name"] == "홍길동 株式会社 🍣"
    found = client.get(f"{READ}/class/Client/instances", params={"search": "株式"}).json()
    assert found["data"]["total"] == 1


def test_an_idempotency_key_retry_returns_the_original_result(client: TestClient) -> None:
    headers = {"Idempotency-Key": "create-c1"}
    body = {"data": {"client_id": "c1"}}
    first = client.post(f"{WRITE}/Client/create", json=body, headers=headers)
    second = client.post(f"{WRITE}/Client/create", json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["data"] == second.json()["data"]
    assert first.json()["data"]["command_id"] == "create-c1"
    other = client.post(
        f"{WRITE}/Client/create", json={"data": {"client_id": "c2"}}, headers=headers
    )
    refused(other, 409, "idempotency_mismatch")
    commits = client.get(f"/api/v1/version/{DB}/history").json()["data"]["commits"]
    assert [c["command_id"] for c in commits].count("create-c1") == 1


def test_an_id_in_several_classes_needs_class_id(client: TestClient) -> None:
    create(client, "Client", {"client_id": "same"})
    create(client, "Product", {"product_id": "same", "name": "x"})
    body = refused(client.get(f"{READ}/instance/same"), 422, "validation_failed")
    assert body["errors"][0]["field"] == "class_id"
    assert body["data"]["class_ids"] == ["Client", "Product"]
    assert get(client, "same", class_id="Product")["class_id"] == "Product"
    refused(client.get(f"{READ}/instance/{quote('a b')}"), 404, "not_found")
    refused(client.get(f"{READ}/instance/{'x' * 300}"), 404, "not_found")


def test_odd_input_is_refused_and_never_answered_with_500(client: TestClient) -> None:
    create(client, "Client", {"client_id": "c1"})
    raw = {"Content-Type": "application/json"}
    surrogate = client.post(
        f"{WRITE}/Client/create", content=b'{"data": {"client_id": "\\ud800"}}', headers=raw
    )
    refused(surrogate, 400, "validation_failed")
    in_a_key = client.post(
        f"{WRITE}/Client/bulk-create", content=b'{"instances": [{"\\udc00": 1}]}', headers=raw
    )
    refused(in_a_key, 400, "validation_failed")
    nan = client.post(f"{WRITE}/Review/create", content=b'{"data": {"stars": NaN}}', headers=raw)
    assert refused(nan, 422, "validation_failed")["errors"][0]["field"] == "stars"
    rows = client.post(f"{WRITE}/Client/bulk-create", json={"instances": [1, None, {"data": 5}]})
    errors = refused(rows, 422, "validation_failed")["data"]["errors"]
    assert sorted({e["row"] for e in errors}) == [0, 1, 2]
    too_many = client.post(f"{WRITE}/Note/bulk-create", json={"instances": [{}] * 10_001})
    assert refused(too_many, 422, "validation_failed")["errors"][0]["field"] == "instances"
    no_branch = client.post(
        f"{WRITE}/Client/create", params={"branch": "nope"}, json={"data": {"client_id": "z"}}
    )
    refused(no_branch, 404, "not_found")
    refused(client.get(f"{READ}/instance/c1", params={"at": "main~~x"}), 400, "validation_failed")
    refused(client.get(f"{READ}/instance/c1", params={"at": "HEAD^9"}), 404, "not_found")


@pytest.mark.parametrize(
    "parts", [["a", "b"], ["a|b", "c"], ["a\\", "|"], ["\\|\\", ""], ["주문|1", "行"]]
)
def test_composite_ids_split_back_into_their_parts(parts: list[str]) -> None:
    joined = join_key(parts)
    assert split_key(joined) == parts
    if not any("|" in part or "\\" in part for part in parts):
        assert joined == "|".join(parts)
