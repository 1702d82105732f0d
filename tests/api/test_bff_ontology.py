"""BFF classes by label over a real OMS: any language in, ids plus labels out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.bff_support import accepted, bff_client, error_of, new_db, ok, oms_process

CUSTOMER: dict[str, Any] = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객", "ja": "顧客"},
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
    ],
}
VIP: dict[str, Any] = {
    "id": "VipCustomer",
    "label": {"en": "VIP customer", "ko": "우수 고객"},
    "parent_class": "고객",  # a label: BFF sends OMS the id
    "properties": [{"name": "tier", "type": "string", "label": {"ko": "등급"}}],
}


@pytest.fixture(scope="module")
def oms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from oms_process(tmp_path_factory)


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    yield from bff_client(tmp_path_factory, oms_url)


@pytest.fixture
def db(bff: TestClient) -> str:
    name = new_db(bff, "onto")
    accepted(bff.post(f"/api/v1/database/{name}/ontology", json=CUSTOMER))
    accepted(bff.post(f"/api/v1/database/{name}/ontology", json=VIP))
    return name


def test_a_class_reads_back_by_any_label_with_labels_in_the_client_s_language(
    bff: TestClient, db: str
) -> None:
    for label in ("우수 고객", "VIP customer", "VipCustomer", "vip customer"):
        korean = ok(
            bff.get(f"/api/v1/database/{db}/ontology/{label}", headers={"Accept-Language": "ko"})
        )
        assert korean["id"] == "VipCustomer"
        assert korean["parent_class"] == "Customer"
    assert korean["class_label"] == "우수 고객"
    # Inherited fields are labelled too; a field without a Korean label falls back to en, then id.
    assert korean["labels"] == {"customer_id": "customer_id", "name": "이름", "tier": "등급"}
    english = ok(
        bff.get(
            f"/api/v1/database/{db}/ontology/우수 고객",
            headers={"Accept-Language": "fr;q=0.9, en;q=0.5"},
        )
    )
    assert english["class_label"] == "VIP customer"
    assert english["labels"]["tier"] == "tier"
    assert english["label"] == VIP["label"]  # the stored class is untouched


def test_the_list_labels_every_class(bff: TestClient, db: str) -> None:
    listed = ok(
        bff.get(f"/api/v1/database/{db}/ontology/list", headers={"Accept-Language": "ja,en;q=0.1"})
    )
    assert listed["total"] == 2
    by_id = {c["id"]: c for c in listed["ontologies"]}
    assert by_id["Customer"]["class_label"] == "顧客"
    assert by_id["VipCustomer"]["class_label"] == "VIP customer"
    assert by_id["Customer"]["version"] == 1


def test_an_unknown_class_label_is_404_naming_it(bff: TestClient, db: str) -> None:
    error = error_of(bff.get(f"/api/v1/database/{db}/ontology/공급자"), 404)
    assert error["code"] == "not_found"
    assert "'공급자'" in error["message"]
    assert error["field"] == "class_label"


def test_a_shared_label_is_400_naming_both_classes(bff: TestClient, db: str) -> None:
    twin = {"id": "Client", "label": {"en": "Client", "ko": "고객"}}
    accepted(bff.post(f"/api/v1/database/{db}/ontology", json=twin))
    response = bff.get(f"/api/v1/database/{db}/ontology/고객")
    error = error_of(response, 400)
    assert error["code"] == "validation_failed"
    assert response.json()["data"]["candidates"] == ["Client", "Customer"]
    assert ok(bff.get(f"/api/v1/database/{db}/ontology/Customer"))["id"] == "Customer"


def test_oms_s_validation_failure_is_passed_on_with_its_field(bff: TestClient, db: str) -> None:
    bad = {"id": "Broken", "label": "Broken", "properties": [{"name": "x", "type": "colour"}]}
    response = bff.post(f"/api/v1/database/{db}/ontology", json=bad)
    error = error_of(response, 422)
    assert error["code"] == "validation_failed"
    assert error["field"] == "properties[0].type"


def test_a_class_is_replaced_and_deleted_by_label_with_expected_seq(
    bff: TestClient, db: str
) -> None:
    path = f"/api/v1/database/{db}/ontology/우수 고객"
    version = ok(bff.get(path))["version"]
    changed = {**VIP, "label": {"en": "VIP", "ko": "VIP 고객"}}
    stale = bff.put(path, params={"expected_seq": version + 1}, json=changed)
    assert error_of(stale, 409)["code"] == "occ_conflict"
    assert stale.json()["data"] == {
        "aggregate_id": "class:VipCustomer",
        "expected_seq": version + 1,
        "actual_seq": version,
    }
    accepted(bff.put(path, params={"expected_seq": version}, json=changed))
    # The old label is gone at once in this process: the write dropped the cached labels.
    assert error_of(bff.get(path), 404)["code"] == "not_found"
    renamed = ok(bff.get(f"/api/v1/database/{db}/ontology/VIP 고객"))
    assert renamed["version"] == version + 1
    accepted(
        bff.delete(f"/api/v1/database/{db}/ontology/VIP", params={"expected_seq": version + 1})
    )
    assert error_of(bff.get(f"/api/v1/database/{db}/ontology/VipCustomer"), 404)


def test_writes_on_a_branch_stay_there(bff: TestClient, db: str) -> None:
    created = bff.post(
        f"/api/v1/databases/{db}/branches", json={"branch_name": "draft", "from_branch": "main"}
    )
    assert created.status_code == 201, created.text
    product = {
        "id": "Product",
        "label": {"en": "Product", "ko": "제품"},
        "relationships": [
            {"predicate": "owned_by", "target": "고객", "cardinality": "n:1"},
        ],
    }
    accepted(bff.post(f"/api/v1/database/{db}/ontology", params={"branch": "draft"}, json=product))
    on_draft = ok(bff.get(f"/api/v1/database/{db}/ontology/제품", params={"branch": "draft"}))
    assert on_draft["relationships"][0]["target"] == "Customer"
    assert error_of(bff.get(f"/api/v1/database/{db}/ontology/제품"), 404)


def test_a_missing_expected_seq_is_400_before_oms_is_asked(bff: TestClient, db: str) -> None:
    response = bff.delete(f"/api/v1/database/{db}/ontology/Customer")
    assert error_of(response, 400)["field"] == "query.expected_seq"


@pytest.fixture(scope="module")
def other_bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    """A second BFF process's view: its own label cache, a long TTL."""
    yield from bff_client(tmp_path_factory, oms_url, bff={"labels_ttl_seconds": 600})


def test_a_class_another_bff_just_made_is_found_by_its_label(
    bff: TestClient, other_bff: TestClient, db: str
) -> None:
    assert ok(other_bff.get(f"/api/v1/database/{db}/ontology/고객"))["id"] == "Customer"
    accepted(
        bff.post(f"/api/v1/database/{db}/ontology", json={"id": "Supplier", "label": "공급자"})
    )
    # other_bff's cached labels predate Supplier; an unknown label is looked for once afresh.
    assert ok(other_bff.get(f"/api/v1/database/{db}/ontology/공급자"))["id"] == "Supplier"
