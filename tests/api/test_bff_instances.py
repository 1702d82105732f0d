"""BFF instances by class label over a real OMS: label keys in, ids plus labels out, and OMS's
statuses (409 with expected/actual, 422 naming the field) passed on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api.bff_support import accepted, bff_client, error_of, new_db, ok, oms_process

CUSTOMER: dict[str, Any] = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "properties": [
        {"name": "customer_id", "type": "string", "label": {"en": "Customer ID", "ko": "고객 ID"}},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
        {"name": "email", "type": "email", "label": {"en": "E-mail", "ko": "이메일"}},
    ],
}
PRODUCT: dict[str, Any] = {
    "id": "Product",
    "label": {"en": "Product", "ko": "제품"},
    "properties": [
        {"name": "product_id", "type": "string", "label": {"en": "Product ID", "ko": "제품 ID"}},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "제품명"}},
        {"name": "price", "type": "money", "label": {"en": "Price", "ko": "가격"}},
    ],
    "relationships": [
        {
            "predicate": "owned_by",
            "target": "Customer",
            "cardinality": "n:1",
            "required": True,
            "label": {"en": "Owned by", "ko": "소유자"},
        }
    ],
}


@pytest.fixture(scope="module")
def oms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from oms_process(tmp_path_factory)


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    yield from bff_client(tmp_path_factory, oms_url)


@pytest.fixture
def db(bff: TestClient) -> str:
    name = new_db(bff, "inst")
    for cls in (CUSTOMER, PRODUCT):
        accepted(bff.post(f"/api/v1/database/{name}/ontology", json=cls))
    return name


def create(bff: TestClient, db: str, class_label: str, data: dict[str, Any]) -> dict[str, Any]:
    path = f"/api/v1/database/{db}/instances/{class_label}/create"
    return accepted(bff.post(path, json={"data": data}))


def test_instances_are_written_with_korean_or_english_label_keys(bff: TestClient, db: str) -> None:
    korean = create(
        bff, db, "고객", {"고객 ID": "c1", "이름": "김철수", "이메일": "KIM@Example.COM"}
    )
    assert korean["aggregate_id"] == "c1"
    assert korean["class_id"] == "Customer"
    english = create(bff, db, "Product", {"Product ID": "p1", "Name": "Widget", "Owned by": "c1"})
    assert english["class_label"] == "Product"
    read = ok(
        bff.get(
            f"/api/v1/database/{db}/class/제품/instance/p1", headers={"Accept-Language": "ko-KR"}
        )
    )
    assert read["id"] == "p1"
    assert read["class_id"] == "Product"
    assert read["data"] == {"product_id": "p1", "name": "Widget", "owned_by": "c1"}
    assert read["class_label"] == "제품"
    assert read["labels"] == {
        "product_id": "제품 ID",
        "name": "제품명",
        "price": "가격",
        "owned_by": "소유자",
    }
    customer = ok(bff.get(f"/api/v1/database/{db}/class/Customer/instance/c1"))
    assert customer["data"]["email"] == "KIM@example.com"
    assert customer["labels"]["email"] == "E-mail"


def test_a_page_of_instances_carries_the_class_s_labels(bff: TestClient, db: str) -> None:
    for i in range(3):
        create(bff, db, "Customer", {"customer_id": f"c{i}", "name": f"name {i}"})
    page = ok(
        bff.get(
            f"/api/v1/database/{db}/class/고객/instances",
            params={"limit": 2, "offset": 1},
            headers={"Accept-Language": "ko"},
        )
    )
    assert page["total"] == 3
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [i["id"] for i in page["instances"]] == ["c1", "c2"]
    assert page["class_id"] == "Customer"
    assert page["class_label"] == "고객"
    assert page["labels"]["name"] == "이름"
    found = ok(bff.get(f"/api/v1/database/{db}/class/Customer/instances", params={"search": "1"}))
    assert [i["id"] for i in found["instances"]] == ["c1"]


def test_an_update_with_a_stale_expected_seq_is_409_with_both_versions(
    bff: TestClient, db: str
) -> None:
    create(bff, db, "Customer", {"customer_id": "c1", "name": "Kim"})
    path = f"/api/v1/database/{db}/instances/고객/c1/update"
    stale = bff.put(path, params={"expected_seq": 7}, json={"data": {"이름": "Lee"}})
    error = error_of(stale, 409)
    assert error["code"] == "occ_conflict"
    assert stale.json()["data"]["expected_seq"] == 7
    assert stale.json()["data"]["actual_seq"] == 1
    updated = accepted(bff.put(path, params={"expected_seq": 1}, json={"data": {"이름": "Lee"}}))
    assert updated["version"] == 2
    read = ok(bff.get(f"/api/v1/database/{db}/class/고객/instance/c1"))
    assert read["data"]["name"] == "Lee"
    assert read["version"] == 2


def test_oms_s_422_names_the_field_and_unknown_keys_reach_it(bff: TestClient, db: str) -> None:
    bad_email = bff.post(
        f"/api/v1/database/{db}/instances/고객/create",
        json={"data": {"고객 ID": "c9", "이메일": "not an email"}},
    )
    error = error_of(bad_email, 422)
    assert error["code"] == "validation_failed"
    assert error["field"] == "email"
    unknown = bff.post(
        f"/api/v1/database/{db}/instances/Customer/create",
        json={"data": {"customer_id": "c9", "등급": "gold"}},
    )
    assert error_of(unknown, 422)["field"] == "등급"


def test_an_unknown_class_label_is_404_naming_it(bff: TestClient, db: str) -> None:
    response = bff.post(f"/api/v1/database/{db}/instances/공급자/create", json={"data": {}})
    error = error_of(response, 404)
    assert "'공급자'" in error["message"]
    missing = bff.get(f"/api/v1/database/{db}/class/Customer/instance/nobody")
    assert error_of(missing, 404)["code"] == "not_found"


def test_two_keys_for_one_field_are_400(bff: TestClient, db: str) -> None:
    response = bff.post(
        f"/api/v1/database/{db}/instances/Customer/create",
        json={"data": {"customer_id": "c1", "name": "a", "이름": "b"}},
    )
    assert error_of(response, 400)["field"] == "data.이름"


def test_a_delete_others_need_is_409_until_cascade(bff: TestClient, db: str) -> None:
    create(bff, db, "Customer", {"customer_id": "c1"})
    create(bff, db, "Product", {"product_id": "p1", "소유자": "c1", "가격": "12.50 USD"})
    path = f"/api/v1/database/{db}/instances/고객/c1/delete"
    refused = bff.delete(path, params={"expected_seq": 1})
    assert error_of(refused, 409)["code"] == "conflict"
    stale = bff.delete(path, params={"expected_seq": 3, "cascade": "true"})
    assert error_of(stale, 409)["code"] == "occ_conflict"
    accepted(bff.delete(path, params={"expected_seq": 1, "cascade": "true"}))
    gone = bff.get(f"/api/v1/database/{db}/class/Product/instance/p1")
    assert error_of(gone, 404)["code"] == "not_found"


def test_bulk_create_rewrites_every_row_and_oms_reports_bad_rows(bff: TestClient, db: str) -> None:
    rows = [{"고객 ID": f"k{i}", "이름": f"고객 {i}"} for i in range(5)]
    path = f"/api/v1/database/{db}/instances/고객/bulk-create"
    created = accepted(bff.post(path, json={"instances": rows}))
    assert created["count"] == 5
    page = ok(bff.get(f"/api/v1/database/{db}/class/Customer/instances"))
    assert page["total"] == 5
    bad = bff.post(path, json={"instances": [{"고객 ID": "k9"}, {"이메일": "nope"}]})
    assert error_of(bad, 422)["code"] == "validation_failed"
    assert ok(bff.get(f"/api/v1/database/{db}/class/Customer/instances"))["total"] == 5


def test_an_idempotency_key_makes_a_retried_write_answer_the_first_result(
    bff: TestClient, db: str
) -> None:
    path = f"/api/v1/database/{db}/instances/Customer/create"
    headers = {"Idempotency-Key": f"{db}-once"}
    first = accepted(bff.post(path, json={"data": {"customer_id": "c1"}}, headers=headers))
    again = accepted(bff.post(path, json={"data": {"customer_id": "c1"}}, headers=headers))
    assert again["command_id"] == first["command_id"] == f"{db}-once"
    assert again["commit_id"] == first["commit_id"]
    status = ok(bff.get(f"/api/v1/commands/{db}-once/status"))
    assert status["status"] in ("PROCESSING", "COMPLETED")  # the worker projects it soon
    assert status["actor"] == "anonymous"  # the caller's actor reached OMS


def test_ids_and_labels_in_any_script_travel_in_the_path(bff: TestClient, db: str) -> None:
    instance_id = "김-1%?#"
    assert create(bff, db, "고객", {"고객 ID": instance_id})["aggregate_id"] == instance_id
    path = f"/api/v1/database/{db}/class/고객/instance/{quote(instance_id, safe='')}"
    assert ok(bff.get(path))["id"] == instance_id
    # A label may hold a slash: percent-encoded, it still names one class.
    movement: dict[str, Any] = {
        "id": "Movement",
        "label": {"ko": "입/출고"},
        "key": ["code"],
        "properties": [{"name": "code", "type": "string", "required": True}],
    }
    accepted(bff.post(f"/api/v1/database/{db}/ontology", json=movement))
    label = quote("입/출고", safe="")
    assert ok(bff.get(f"/api/v1/database/{db}/ontology/{label}"))["id"] == "Movement"
    create(bff, db, label, {"code": "m1"})
    updated = bff.put(
        f"/api/v1/database/{db}/instances/{label}/m1/update",
        params={"expected_seq": 1},
        json={"data": {"code": "m1"}},
    )
    assert accepted(updated)["class_id"] == "Movement"
    page = ok(
        bff.get(f"/api/v1/database/{db}/class/{label}/instances", headers={"Accept-Language": "ko"})
    )
    assert page["class_label"] == "입/출고"
    # Without Korean asked for and no English label, the id stands in.
    assert (
        ok(bff.get(f"/api/v1/database/{db}/class/{label}/instances"))["class_label"] == "Movement"
    )
