"""Structured queries and full-text search through BFF over a real OMS: every operator on typed
fields, ordering with absent values last, paging with totals, subclasses, labels in English and
Korean, refusals naming the field, and a change on a branch seen only there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.bff_support import accepted, bff_client, error_of, new_db, ok, oms_process

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9"}


def prop(name: str, type_: str, en: str, ko: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "label": {"en": en, "ko": ko}, **extra}


CUSTOMER: dict[str, Any] = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "key": ["customer_id"],
    "properties": [
        prop("customer_id", "string", "Customer ID", "고객 ID", required=True),
        prop("name", "string", "Name", "이름"),
        prop(
            "grade", "enum", "Grade", "등급", constraints={"values": ["gold", "silver", "bronze"]}
        ),
        prop("since", "date", "Since", "가입일"),
        prop("last_seen", "datetime", "Last seen", "최근 방문"),
        prop("credit", "decimal", "Credit", "신용"),
        prop("score", "integer", "Score", "점수"),
        prop("rating", "float", "Rating", "평점"),
        prop("vip", "boolean", "VIP", "우대"),
        prop("tags", "array", "Tags", "태그", constraints={"item_type": "string"}),
        prop("notes", "text", "Notes", "메모"),
    ],
}
VIP: dict[str, Any] = {
    "id": "VipCustomer",
    "label": {"en": "VIP customer", "ko": "우수 고객"},
    "parent_class": "Customer",
    "properties": [prop("tier", "string", "Tier", "티어")],
}
PRODUCT: dict[str, Any] = {
    "id": "Product",
    "label": {"en": "Product", "ko": "제품"},
    "key": ["product_id"],
    "properties": [
        prop("product_id", "string", "Product ID", "제품 ID", required=True),
        prop("name", "string", "Name", "제품명"),
        prop("price", "money", "Price", "가격"),
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
CUSTOMERS: list[dict[str, Any]] = [
    {
        "customer_id": "c1",
        "name": "김민수",
        "grade": "gold",
        "since": "2024-01-31",
        "last_seen": "2024-03-01T09:00:00+09:00",
        "credit": "100.50",
        "score": 7,
        "rating": 4.5,
        "vip": True,
        "tags": ["red", "big"],
        "notes": "Loves 스파이스",
    },
    {
        "customer_id": "c2",
        "name": "Lee Young-hee",
        "grade": "silver",
        "since": "2023-12-01",
        "last_seen": "2024-03-01T01:00:00Z",
        "credit": "99.9",
        "score": 3,
        "rating": 3.0,
        "vip": False,
        "tags": ["blue"],
    },
    {
        "customer_id": "c3",
        "name": "Ｓｐｉｃｅ Trader",
        "grade": "bronze",
        "since": "2024-06-15",
        "credit": "1000",
        "score": 10,
    },
    {"customer_id": "c5"},
]
VIPS = [
    {
        "customer_id": "c4",
        "name": "박지성",
        "grade": "gold",
        "since": "2022-05-05",
        "credit": "100.5",
        "score": 7,
        "tier": "platinum",
    }
]
PRODUCTS = [
    {"product_id": "p1", "name": "Spice grinder", "price": "₩12,000", "owned_by": "c1"},
    {"product_id": "p2", "name": "Pepper mill", "price": "$15.50", "owned_by": "c1"},
    {"product_id": "p3", "name": "스파이스 세트", "price": "30000 KRW", "owned_by": "c2"},
    {"product_id": "p4", "name": "Grinder", "price": {"amount": 12000, "currency": "KRW"}},
    {"product_id": "p5", "name": "特製スパイスミル", "price": "¥500", "owned_by": "c4"},
]


@pytest.fixture(scope="module")
def oms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from oms_process(tmp_path_factory)


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    yield from bff_client(tmp_path_factory, oms_url)


@pytest.fixture(scope="module")
def db(bff: TestClient) -> str:
    """One database for the module: the queries only read it (the branch test writes on a
    branch of its own)."""
    name = new_db(bff, "query")
    for cls in (CUSTOMER, VIP, PRODUCT):
        accepted(bff.post(f"/api/v1/database/{name}/ontology", json=cls))
    for label, rows in (("Customer", CUSTOMERS), ("우수 고객", VIPS), ("제품", PRODUCTS)):
        path = f"/api/v1/database/{name}/instances/{label}/bulk-create"
        accepted(bff.post(path, json={"instances": rows}))
    return name


def query(bff: TestClient, db: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(bff.post(f"/api/v1/database/{db}/query", json=body, params=params))
    return found


def ids(
    bff: TestClient, db: str, class_label: str, *filters: dict[str, Any], **more: Any
) -> list[str]:
    body = {"class_label": class_label, "filters": list(filters), **more}
    return [item["id"] for item in query(bff, db, body)["instances"]]


def f(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


def test_eq_and_ne_with_korean_and_english_field_labels(bff: TestClient, db: str) -> None:
    assert ids(bff, db, "고객", f("이름", "eq", "김민수")) == ["c1"]
    assert ids(bff, db, "Customer", f("Name", "ne", "김민수")) == ["c2", "c3", "c5", "c4"]
    # Subclasses' instances come after (key order: class, then id).
    assert ids(bff, db, "Customer", f("grade", "eq", "GOLD")) == ["c1", "c4"]


def test_ranges_compare_decimals_dates_datetimes_and_numbers_by_value(
    bff: TestClient, db: str
) -> None:
    assert ids(bff, db, "고객", f("신용", "ge", "100.5")) == ["c1", "c3", "c4"]
    assert ids(bff, db, "고객", f("신용", "lt", 100)) == ["c2"]
    assert ids(bff, db, "고객", f("가입일", "gt", "2024-01-01")) == ["c1", "c3"]
    assert ids(bff, db, "고객", f("가입일", "le", "2023/12/01")) == ["c2", "c4"]
    # 09:00 in Seoul is midnight UTC, before c2's 01:00 UTC.
    assert ids(bff, db, "고객", f("last_seen", "lt", "2024-03-01T00:30:00Z")) == ["c1"]
    assert ids(bff, db, "고객", f("last_seen", "eq", "2024-03-01T10:00:00+09:00")) == ["c2"]
    assert ids(bff, db, "고객", f("점수", "gt", 5), f("점수", "lt", "10")) == ["c1", "c4"]
    assert ids(bff, db, "고객", f("평점", "ge", 3)) == ["c1", "c2"]


def test_money_compares_amounts_in_the_filter_s_currency(bff: TestClient, db: str) -> None:
    assert ids(bff, db, "제품", f("가격", "eq", "₩12,000")) == ["p1", "p4"]
    assert ids(bff, db, "제품", f("가격", "gt", "12000 KRW")) == ["p3"]
    assert ids(bff, db, "제품", f("가격", "lt", "20 USD")) == ["p2"]
    # A bare amount compares with money in any currency.
    assert ids(bff, db, "제품", f("가격", "ge", 500)) == ["p1", "p3", "p4", "p5"]


def test_like_in_not_in_and_null_tests(bff: TestClient, db: str) -> None:
    assert ids(bff, db, "고객", f("이름", "like", "%spice%")) == ["c3"]  # full-width stored
    assert ids(bff, db, "고객", f("이름", "like", "lee_young%")) == ["c2"]
    assert ids(bff, db, "고객", f("등급", "in", ["gold", "SILVER"])) == ["c1", "c2", "c4"]
    assert ids(bff, db, "고객", f("등급", "not_in", ["gold"])) == ["c2", "c3", "c5"]
    assert ids(bff, db, "고객", f("평점", "is_null")) == ["c3", "c5", "c4"]
    assert ids(bff, db, "고객", f("이름", "is_not_null")) == ["c1", "c2", "c3", "c4"]
    assert ids(bff, db, "고객", f("태그", "eq", "red")) == ["c1"]
    assert ids(bff, db, "고객", f("태그", "is_null")) == ["c3", "c5", "c4"]
    assert ids(bff, db, "고객", f("우대", "eq", True)) == ["c1"]
    assert ids(bff, db, "제품", f("소유자", "eq", "c1")) == ["p1", "p2"]
    assert ids(bff, db, "제품", f("소유자", "is_null")) == ["p4"]
    assert ids(bff, db, "고객", f("id", "in", ["c2", "c4", "zz"])) == ["c2", "c4"]


def test_a_subclass_is_queried_alone_and_its_own_fields_need_it(bff: TestClient, db: str) -> None:
    answer = query(bff, db, {"class_label": "우수 고객", "filters": [f("티어", "eq", "platinum")]})
    assert [(i["id"], i["class_id"]) for i in answer["instances"]] == [("c4", "VipCustomer")]
    refused = bff.post(
        f"/api/v1/database/{db}/query",
        json={"class_label": "고객", "filters": [f("티어", "eq", "platinum")]},
    )
    assert error_of(refused, 422)["field"] == "filters[0].field"


def test_ordering_puts_absent_values_last_both_ways_and_pages_with_a_total(
    bff: TestClient, db: str
) -> None:
    assert ids(bff, db, "고객", order_by="신용") == ["c2", "c1", "c4", "c3", "c5"]
    assert ids(bff, db, "고객", order_by="신용", order_direction="desc") == [
        "c3",
        "c1",
        "c4",
        "c2",
        "c5",
    ]
    page = query(
        bff,
        db,
        {"class_label": "고객", "order_by": "Since", "limit": 2, "offset": 1},
    )
    assert [i["id"] for i in page["instances"]] == ["c2", "c1"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    plain = query(bff, db, {"class_id": "Customer", "limit": 2, "offset": 3})
    assert [i["id"] for i in plain["instances"]] == ["c5", "c4"]
    assert plain["total"] == 5
    filtered = query(
        bff, db, {"class_id": "Customer", "filters": [f("score", "ge", 7)], "limit": 1}
    )
    assert ([i["id"] for i in filtered["instances"]], filtered["total"]) == (["c1"], 3)


def test_answers_carry_ids_and_labels_in_the_client_s_language(bff: TestClient, db: str) -> None:
    response = bff.post(
        f"/api/v1/database/{db}/query",
        json={"class_label": "Customer", "filters": [f("vip", "eq", True)], "select": ["이름"]},
        headers=KOREAN,
    )
    answer = ok(response)
    assert answer["class_id"] == "Customer"
    assert answer["class_label"] == "고객"
    [item] = answer["instances"]
    assert item["data"] == {"name": "김민수"}
    assert item["class_label"] == "고객"
    assert answer["labels"]["Customer"]["credit"] == "신용"
    english = query(bff, db, {"class_label": "고객", "filters": [f("id", "eq", "c4")]})
    assert english["instances"][0]["class_label"] == "VIP customer"
    assert english["labels"]["VipCustomer"]["tier"] == "Tier"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"class_label": "고객", "filters": [f("이름", "between", 1)]}, 422, "filters[0].operator"),
        ({"class_label": "고객", "filters": [f("점수", "eq", "many")]}, 422, "filters[0].value"),
        ({"class_label": "고객", "filters": [f("가입일", "gt", "soon")]}, 422, "filters[0].value"),
        ({"class_label": "고객", "filters": [f("없는 필드", "eq", 1)]}, 422, "filters[0].field"),
        ({"class_label": "고객", "filters": [f("우대", "gt", True)]}, 422, "filters[0].operator"),
        ({"class_label": "고객", "order_by": "태그"}, 422, "order_by"),
        ({"class_label": "고객", "select": ["nope"]}, 422, "select[0]"),
        ({"class_label": "고객", "limit": 5000}, 422, "limit"),
        ({"class_label": "없는 클래스"}, 422, "class_label"),
        ({"filters": []}, 422, "class_label"),
        ({"class_label": "고객", "filter": []}, 422, "filter"),
    ],
)
def test_bad_queries_are_refused_naming_the_field(
    bff: TestClient, db: str, body: dict[str, Any], status: int, field: str
) -> None:
    refused = bff.post(f"/api/v1/database/{db}/query", json=body)
    assert error_of(refused, status)["field"] == field


def test_a_change_on_a_branch_is_queried_only_there(bff: TestClient, db: str) -> None:
    created = bff.post(f"/api/v1/databases/{db}/branches", json={"branch_name": "regrade"})
    assert created.status_code == 201, created.text
    c2 = ok(bff.get(f"/api/v1/database/{db}/class/Customer/instance/c2"))
    accepted(
        bff.put(
            f"/api/v1/database/{db}/instances/고객/c2/update",
            params={"branch": "regrade", "expected_seq": c2["version"]},
            json={"data": {"등급": "gold", "메모": "승급 축하"}},
        )
    )
    gold = f("등급", "eq", "gold")
    assert ids(bff, db, "고객", gold) == ["c1", "c4"]
    branch = query(bff, db, {"class_label": "고객", "filters": [gold]}, branch="regrade")
    assert [i["id"] for i in branch["instances"]] == ["c1", "c2", "c4"]
    hits = ok(bff.get(f"/api/v1/database/{db}/search", params={"q": "승급"}))
    assert hits["hits"] == []
    on_branch = ok(
        bff.get(f"/api/v1/database/{db}/search", params={"q": "승급", "branch": "regrade"})
    )
    assert [h["id"] for h in on_branch["hits"]] == ["c2"]
    # The branch read at its fork commit is main as it was.
    at_fork = query(
        bff, db, {"class_label": "고객", "filters": [gold]}, branch="regrade", at="main"
    )
    assert [i["id"] for i in at_fork["instances"]] == ["c1", "c4"]


# -- full-text search ---------------------------------------------------------------------


def search(bff: TestClient, db: str, **params: Any) -> dict[str, Any]:
    found: dict[str, Any] = ok(bff.get(f"/api/v1/database/{db}/search", params=params))
    return found


def hits(bff: TestClient, db: str, **params: Any) -> list[tuple[str, str]]:
    return [(h["class_id"], h["id"]) for h in search(bff, db, **params)["hits"]]


def test_search_finds_english_text_case_and_width_insensitively(bff: TestClient, db: str) -> None:
    assert hits(bff, db, q="spice") == [("Customer", "c3"), ("Product", "p1")]
    assert hits(bff, db, q="ＧＲＩＮＤＥＲ") == [("Product", "p4"), ("Product", "p1")]
    assert hits(bff, db, q="spice", **{"class": "제품"}) == [("Product", "p1")]


def test_search_ranks_more_terms_then_an_exact_field_first(bff: TestClient, db: str) -> None:
    answer = search(bff, db, q="Spice Grinder")
    assert [(h["id"], h["matched_terms"], h["exact"]) for h in answer["hits"]] == [
        ("p1", ["spice", "grinder"], True),
        ("p4", ["grinder"], True),
        ("c3", ["spice"], False),
    ]
    assert answer["terms"] == ["spice", "grinder"]
    assert answer["total"] == 3
    first = search(bff, db, q="Spice Grinder", limit=1)
    assert ([h["id"] for h in first["hits"]], first["total"]) == (["p1"], 3)


def test_search_finds_korean_and_japanese_words_inside_text(bff: TestClient, db: str) -> None:
    answer = search(bff, db, q="스파이스")
    assert [(h["id"], h["matched_fields"]) for h in answer["hits"]] == [
        ("c1", ["notes"]),
        ("p3", ["name"]),
    ]
    assert hits(bff, db, q="민수") == [("Customer", "c1")]
    assert hits(bff, db, q="ｽﾊﾟｲｽ") == [("Product", "p5")]  # half-width katakana
    labelled = ok(bff.get(f"/api/v1/database/{db}/search", params={"q": "박지성"}, headers=KOREAN))
    [hit] = labelled["hits"]
    assert (hit["class_id"], hit["class_label"], hit["matched_fields"]) == (
        "VipCustomer",
        "우수 고객",
        ["name"],
    )
    assert labelled["labels"]["VipCustomer"]["name"] == "이름"


def test_search_refuses_empty_queries_and_unknown_classes(bff: TestClient, db: str) -> None:
    path = f"/api/v1/database/{db}/search"
    assert error_of(bff.get(path, params={"q": "   "}), 422)["field"] == "q"
    assert error_of(bff.get(path, params={"q": ""}), 400)["field"] == "query.q"
    assert error_of(bff.get(path, params={"q": "x", "class": "없음"}), 422)["field"] == "class"
    assert error_of(bff.get(path, params={"q": "x", "limit": 101}), 400)["field"] == "query.limit"
