"""The demo through BFF, word for word: Customer, and Product owned by Customer, in English and
Korean, then a branch, a change, a diff, a pull request and the merge, and a multi-hop graph
query from customers to their products and back (`tests/api/test_bff_graph.py` covers graph
queries in depth). Also the manual's BFF branch commands, as printed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.bff_support import accepted, bff_client, error_of, ok, oms_process

DB = "demo"
CUSTOMER: dict[str, Any] = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "description": {"en": "Someone who buys", "ko": "구매하는 사람"},
    "key": ["customer_id"],
    "properties": [
        {
            "name": "customer_id",
            "type": "string",
            "required": True,
            "label": {"en": "Customer ID", "ko": "고객 ID"},
        },
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
        {"name": "email", "type": "email", "label": {"en": "Email", "ko": "이메일"}},
        {"name": "phone", "type": "phone", "label": {"en": "Phone", "ko": "전화번호"}},
    ],
}
PRODUCT: dict[str, Any] = {
    "id": "Product",
    "label": {"en": "Product", "ko": "제품"},
    "key": ["product_id"],
    "properties": [
        {
            "name": "product_id",
            "type": "string",
            "required": True,
            "label": {"en": "Product ID", "ko": "제품 ID"},
        },
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "제품명"}},
        {"name": "price", "type": "money", "label": {"en": "Price", "ko": "가격"}},
    ],
    "relationships": [
        {
            "predicate": "owned_by",
            "target": "Customer",
            "cardinality": "n:1",
            "label": {"en": "Owned by", "ko": "소유자"},
            "inverse_predicate": "owns",
        }
    ],
}
KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}


@pytest.fixture(scope="module")
def oms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from oms_process(tmp_path_factory)


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    yield from bff_client(tmp_path_factory, oms_url)


def test_the_demo_through_bff(bff: TestClient) -> None:
    # A database, and the two classes.
    accepted(bff.post("/api/v1/databases", json={"name": DB, "description": "README demo"}))
    accepted(bff.post(f"/api/v1/database/{DB}/ontology", json=CUSTOMER))
    accepted(bff.post(f"/api/v1/database/{DB}/ontology", json=PRODUCT))
    classes = ok(bff.get(f"/api/v1/database/{DB}/ontology/list", headers=KOREAN))
    assert {c["id"]: c["class_label"] for c in classes["ontologies"]} == {
        "Customer": "고객",
        "Product": "제품",
    }
    customer_class = ok(bff.get(f"/api/v1/database/{DB}/ontology/고객", headers=KOREAN))
    # The inverse OMS keeps in step shows on Customer, labelled by its id.
    assert customer_class["labels"]["owns"] == "owns"
    assert customer_class["relationships"][0]["target"] == "Product"

    # Instances: a customer in Korean labels, a product in English ones, linked by id.
    kim = accepted(
        bff.post(
            f"/api/v1/database/{DB}/instances/고객/create",
            json={
                "data": {
                    "고객 ID": "C-001",
                    "이름": "김민수",
                    "이메일": "minsu@Example.com",
                    "전화번호": "+82 10-1234-5678",
                }
            },
        )
    )
    assert kim["aggregate_id"] == "C-001"
    widget = accepted(
        bff.post(
            f"/api/v1/database/{DB}/instances/Product/create",
            json={
                "data": {
                    "Product ID": "P-001",
                    "Name": "Spice grinder",
                    "Price": "₩12,000",
                    "Owned by": "C-001",
                }
            },
        )
    )
    assert widget["aggregate_id"] == "P-001"

    products = ok(bff.get(f"/api/v1/database/{DB}/class/제품/instances", headers=KOREAN))
    assert products["total"] == 1
    assert products["labels"] == {
        "product_id": "제품 ID",
        "name": "제품명",
        "price": "가격",
        "owned_by": "소유자",
    }
    [product] = products["instances"]
    assert product["data"]["owned_by"] == "C-001"
    assert product["data"]["price"] == {"amount": "12000", "currency": "KRW"}
    customer = ok(bff.get(f"/api/v1/database/{DB}/class/Customer/instance/C-001"))
    assert customer["data"]["phone"] == "+821012345678"
    assert customer["data"]["email"] == "minsu@example.com"
    assert customer["data"]["owns"] == ["P-001"]
    assert customer["class_label"] == "Customer"

    # A branch, a price change there, its diff and a pull request merged back.
    branch = bff.post(f"/api/v1/databases/{DB}/branches", json={"branch_name": "price-update"})
    assert branch.status_code == 201, branch.text
    accepted(
        bff.put(
            f"/api/v1/database/{DB}/instances/제품/P-001/update",
            params={"branch": "price-update", "expected_seq": product["version"]},
            json={"data": {"가격": "₩15,000"}},
        )
    )
    diff = ok(
        bff.get(
            f"/api/v1/database/{DB}/diff", params={"from_ref": "main", "to_ref": "price-update"}
        )
    )
    assert diff["summary"] == {"added": 0, "modified": 1, "deleted": 0}
    body = {"source_branch": "price-update", "target_branch": "main"}
    assert ok(bff.post(f"/api/v1/database/{DB}/merge/simulate", json=body))["mergeable"]
    pr = bff.post(
        f"/api/v1/database/{DB}/pull-requests",
        json={**body, "title": "가격 인상", "description": "₩12,000 → ₩15,000"},
    )
    assert pr.status_code == 201, pr.text
    merged = bff.post(f"/api/v1/database/{DB}/pull-requests/{pr.json()['data']['id']}/merge")
    assert merged.status_code == 200, merged.text
    assert merged.json()["data"]["merge"] == "fast_forward"
    price = ok(bff.get(f"/api/v1/database/{DB}/class/제품/instance/P-001"))["data"]["price"]
    assert price == {"amount": "15000", "currency": "KRW"}
    versions = ok(bff.get(f"/api/v1/databases/{DB}/versions"))["versions"]
    assert versions[0]["message"] == "Update Product/P-001"

    # A second customer and product, then the graph: from a customer (found by a Korean
    # label) to the products it owns (the hop goes in along Product.owned_by, named by its
    # Korean label), and on to each product's owner.
    accepted(
        bff.post(
            f"/api/v1/database/{DB}/instances/Customer/create",
            json={"data": {"Customer ID": "C-002", "Name": "Lee Young-hee"}},
        )
    )
    accepted(
        bff.post(
            f"/api/v1/database/{DB}/instances/제품/create",
            json={"data": {"제품 ID": "P-002", "제품명": "Pepper mill", "소유자": "C-002"}},
        )
    )
    query = {
        "start_class": "고객",
        "filters": [{"field": "이름", "operator": "eq", "value": "김민수"}],
        "hops": [
            {"predicate": "소유자", "target_class": "제품"},
            {"predicate": "owned_by"},
        ],
    }
    answer = ok(bff.post(f"/api/v1/graph-query/{DB}", json=query, headers=KOREAN))
    assert [(n["class_label"], n["id"], n["data_status"]) for n in answer["nodes"]] == [
        ("고객", "C-001", "FULL"),
        ("제품", "P-001", "FULL"),
    ]
    assert answer["nodes"][1]["data"]["price"] == {"amount": "15000", "currency": "KRW"}
    assert [(e["from"], e["predicate_label"], e["to"]) for e in answer["edges"]] == [
        ("P-001", "소유자", "C-001")
    ]
    assert [h["direction"] for h in answer["hops"]] == ["in", "out"]
    # The same products through the inverse OMS keeps on Customer, for every customer.
    owned = ok(
        bff.post(
            f"/api/v1/graph-query/{DB}",
            json={"start_class": "Customer", "hops": [{"predicate": "owns"}]},
        )
    )
    assert {(e["from"], e["to"]) for e in owned["edges"]} == {
        ("C-001", "P-001"),
        ("C-002", "P-002"),
    }
    assert owned["warnings"] == []
    assert owned["next_offset"] is None


def test_the_manual_s_branch_commands_as_printed(bff: TestClient) -> None:
    """OPERATIONS_MANUAL.md, "Using Git-like Features for Data Recovery"."""
    accepted(bff.post("/api/v1/databases", json={"name": "production"}))
    api_key = {"X-API-Key": "not-checked-in-development"}
    listed = ok(bff.get("/api/v1/branch/production/list", headers=api_key))
    assert [b["name"] for b in listed["branches"]] == ["main"]
    # As printed, the JSON is in single quotes, so the shell never runs `date`: OMS refuses
    # the literal name, naming the field.
    literal = bff.post(
        "/api/v1/branch/production/create",
        headers={**api_key, "Content-Type": "application/json"},
        content="""{
    "branch_name": "backup-$(date +%Y%m%d)",
    "from_branch": "main",
    "description": "Backup before major update"
  }""",
    )
    assert error_of(literal, 400)["field"] == "branch_name"
    created = bff.post(
        "/api/v1/branch/production/create",
        headers=api_key,
        json={
            "branch_name": "backup-20250726",
            "from_branch": "main",
            "description": "Backup before major update",
        },
    )
    assert created.status_code == 201, created.text
    branch = created.json()["data"]["branch"]
    assert (branch["name"], branch["from_branch"]) == ("backup-20250726", "main")
    names = [b["name"] for b in ok(bff.get("/api/v1/branch/production/list"))["branches"]]
    assert names == ["backup-20250726", "main"]
