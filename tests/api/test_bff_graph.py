"""Graph queries through BFF over a real OMS: hops out and in (by id, by label in English and
Korean, with an explicit direction), hop filters, caps with warnings, no_cycles, paging of start
nodes, links to ids that no longer exist, and branches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.bff_support import accepted, bff_client, error_of, new_db, ok, oms_process

KOREAN = {"Accept-Language": "ko"}
CUSTOMER: dict[str, Any] = {
    "id": "Customer",
    "label": {"en": "Customer", "ko": "고객"},
    "key": ["customer_id"],
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
    ],
}
PRODUCT: dict[str, Any] = {
    "id": "Product",
    "label": {"en": "Product", "ko": "제품"},
    "key": ["product_id"],
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
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
ORDER: dict[str, Any] = {
    "id": "Order",
    "label": {"en": "Order", "ko": "주문"},
    "key": ["order_id"],
    "properties": [{"name": "order_id", "type": "string", "required": True}],
    "relationships": [
        {
            "predicate": "customer",
            "target": "Customer",
            "cardinality": "n:1",
            "label": {"en": "Ordered by", "ko": "주문자"},
        },
        {
            "predicate": "products",
            "target": "Product",
            "cardinality": "n:m",
            "label": {"en": "Products", "ko": "주문 제품"},
        },
    ],
}
PERSON: dict[str, Any] = {
    "id": "Person",
    "label": "Person",
    "key": ["person_id"],
    "properties": [{"name": "person_id", "type": "string", "required": True}],
    "relationships": [{"predicate": "knows", "target": "Person", "cardinality": "n:m"}],
}
ROWS: list[tuple[str, list[dict[str, Any]]]] = [
    ("Customer", [{"customer_id": "c1", "name": "김민수"}, {"customer_id": "c2", "name": "Lee"}]),
    (
        "Product",
        [
            {"product_id": "p1", "name": "Grinder", "price": "₩12,000", "owned_by": "c1"},
            {"product_id": "p2", "name": "Mill", "price": "$20", "owned_by": "c1"},
            {"product_id": "p3", "name": "Jar", "price": "₩3,000", "owned_by": "c2"},
            {"product_id": "p9", "name": "Soon gone"},
        ],
    ),
    (
        "Order",
        [
            {"order_id": "o1", "customer": "c1", "products": ["p1", "p3"]},
            {"order_id": "o2", "customer": "c2", "products": ["p3"]},
            {"order_id": "o3", "customer": "c1", "products": ["p2"]},
        ],
    ),
    # A triangle: a knows b knows c knows a.
    (
        "Person",
        [
            {"person_id": "a"},
            {"person_id": "b", "knows": ["c"]},
            {"person_id": "c", "knows": ["a"]},
        ],
    ),
]


@pytest.fixture(scope="module")
def oms_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from oms_process(tmp_path_factory)


@pytest.fixture(scope="module")
def bff(tmp_path_factory: pytest.TempPathFactory, oms_url: str) -> Iterator[TestClient]:
    yield from bff_client(tmp_path_factory, oms_url)


@pytest.fixture(scope="module")
def db(bff: TestClient) -> str:
    """One database for the module; tests that write do so on branches of their own."""
    name = new_db(bff, "graph")
    for cls in (CUSTOMER, PRODUCT, ORDER, PERSON):
        accepted(bff.post(f"/api/v1/database/{name}/ontology", json=cls))
    for class_id, rows in ROWS:
        path = f"/api/v1/database/{name}/instances/{class_id}/bulk-create"
        accepted(bff.post(path, json={"instances": rows}))
    # The triangle's last side: a knows b (b existed only once the rows above were written).
    a = ok(bff.get(f"/api/v1/database/{name}/class/Person/instance/a"))
    accepted(
        bff.put(
            f"/api/v1/database/{name}/instances/Person/a/update",
            params={"expected_seq": a["version"]},
            json={"data": {"knows": ["b"]}},
        )
    )
    return name


def graph(bff: TestClient, db: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
    path = f"/api/v1/graph-query/{db}"
    found: dict[str, Any] = ok(bff.post(path, json=body, params=params))
    return found


def nodes(answer: dict[str, Any]) -> list[str]:
    return [f"{n['class_id']}/{n['id']}" for n in answer["nodes"]]


def edges(answer: dict[str, Any]) -> set[str]:
    return {f"{e['from']} -{e['predicate']}-> {e['to']}" for e in answer["edges"]}


def test_three_hops_in_korean_labels_go_in_then_out_then_out(bff: TestClient, db: str) -> None:
    body = {
        "start_class": "고객",
        "filters": [{"field": "이름", "operator": "eq", "value": "김민수"}],
        "hops": [
            {"predicate": "주문자", "target_class": "주문"},  # Order.customer, pointing back
            {"predicate": "주문 제품"},  # Order.products, out
            {"predicate": "소유자"},  # Product.owned_by, out
        ],
    }
    answer = ok(bff.post(f"/api/v1/graph-query/{db}", json=body, headers=KOREAN))
    assert nodes(answer) == [
        "Customer/c1",
        "Order/o1",
        "Order/o3",
        "Product/p1",
        "Product/p3",
        "Product/p2",
        "Customer/c2",
    ]
    assert edges(answer) == {
        "o1 -customer-> c1",
        "o3 -customer-> c1",
        "o1 -products-> p1",
        "o1 -products-> p3",
        "o3 -products-> p2",
        "p1 -owned_by-> c1",
        "p2 -owned_by-> c1",
        "p3 -owned_by-> c2",
    }
    assert [(h["predicate"], h["direction"], h["target_class"]) for h in answer["hops"]] == [
        ("customer", "in", "Order"),
        ("products", "out", "Product"),
        ("owned_by", "out", "Customer"),
    ]
    first = answer["nodes"][0]
    assert (first["data_status"], first["index_status"], first["class_label"]) == (
        "FULL",
        "store",
        "고객",
    )
    assert first["data"]["name"] == "김민수"
    assert answer["labels"]["Product"]["owned_by"] == "소유자"
    assert {e["predicate_label"] for e in answer["edges"] if e["predicate"] == "customer"} == {
        "주문자"
    }
    assert (answer["next_offset"], answer["warnings"]) == (None, [])


def test_an_explicit_in_hop_and_the_kept_inverse_reach_the_same_products(
    bff: TestClient, db: str
) -> None:
    start = {
        "start_class": "Customer",
        "filters": [{"field": "id", "operator": "eq", "value": "c1"}],
    }
    reverse = graph(
        bff,
        db,
        {
            **start,
            "hops": [{"predicate": "owned_by", "target_class": "Product", "direction": "in"}],
        },
    )
    forward = graph(bff, db, {**start, "hops": [{"predicate": "owns"}]})
    assert nodes(reverse) == nodes(forward) == ["Customer/c1", "Product/p1", "Product/p2"]
    # Edges are the stored links, whichever way the hop went.
    assert edges(reverse) == {"p1 -owned_by-> c1", "p2 -owned_by-> c1"}
    assert edges(forward) == {"c1 -owns-> p1", "c1 -owns-> p2"}
    wrong_way = bff.post(
        f"/api/v1/graph-query/{db}",
        json={**start, "hops": [{"predicate": "owned_by", "direction": "out"}]},
    )
    assert error_of(wrong_way, 422)["field"] == "hops[0].predicate"


def test_hop_filters_and_select_narrow_what_a_hop_reaches(bff: TestClient, db: str) -> None:
    answer = graph(
        bff,
        db,
        {
            "start_class": "Order",
            "filters": [{"field": "order_id", "operator": "in", "value": ["o1", "o2"]}],
            "hops": [
                {
                    "predicate": "products",
                    "filters": [{"field": "가격", "operator": "lt", "value": "₩5,000"}],
                    "select": ["제품명"],
                }
            ],
        },
    )
    assert nodes(answer) == ["Order/o1", "Order/o2", "Product/p3"]
    assert edges(answer) == {"o1 -products-> p3", "o2 -products-> p3"}
    product = answer["nodes"][2]
    assert (product["data"], product["data_status"]) == ({"name": "Jar"}, "PARTIAL")
    bare = graph(bff, db, {"start_class": "Order", "limit": 1, "include_documents": False})
    assert [(n["data"], n["data_status"]) for n in bare["nodes"]] == [({}, "PARTIAL")]


def test_start_nodes_come_a_page_at_a_time(bff: TestClient, db: str) -> None:
    body: dict[str, Any] = {"start_class": "Order", "hops": [{"predicate": "customer"}], "limit": 2}
    first = graph(bff, db, body)
    assert nodes(first) == ["Order/o1", "Order/o2", "Customer/c1", "Customer/c2"]
    assert first["next_offset"] == 2
    second = graph(bff, db, {**body, "offset": first["next_offset"]})
    assert nodes(second) == ["Order/o3", "Customer/c1"]
    assert second["next_offset"] is None


def test_caps_stop_the_traversal_with_warnings(bff: TestClient, db: str) -> None:
    body: dict[str, Any] = {"start_class": "Order", "hops": [{"predicate": "products"}]}
    few_nodes = graph(bff, db, {**body, "max_nodes": 4})
    assert nodes(few_nodes) == ["Order/o1", "Order/o2", "Order/o3", "Product/p1"]
    [warning] = few_nodes["warnings"]
    assert (warning["code"], warning["hop"]) == ("max_nodes", 0)
    few_edges = graph(bff, db, {**body, "max_edges": 2})
    assert edges(few_edges) == {"o1 -products-> p1", "o1 -products-> p3"}
    assert [w["code"] for w in few_edges["warnings"]] == ["max_edges"]
    # More start nodes than max_nodes: the page ends where the cap did.
    capped = graph(bff, db, {"start_class": "Order", "max_nodes": 2})
    assert nodes(capped) == ["Order/o1", "Order/o2"]
    assert capped["next_offset"] == 2
    assert capped["warnings"][0]["hop"] is None


def test_hops_beyond_the_depth_limit_are_not_run_and_said_so(bff: TestClient, db: str) -> None:
    knows = {"predicate": "knows"}
    answer = graph(
        bff,
        db,
        {
            "start_class": "Person",
            "filters": [{"field": "id", "operator": "eq", "value": "a"}],
            "hops": [knows] * 7,
        },
    )
    [warning] = answer["warnings"]
    assert warning["code"] == "max_hops"
    assert "first 5 of 7" in warning["message"]
    assert len(answer["hops"]) == 7


def test_no_cycles_never_goes_back_to_a_node_already_found(bff: TestClient, db: str) -> None:
    body: dict[str, Any] = {
        "start_class": "Person",
        "filters": [{"field": "id", "operator": "eq", "value": "a"}],
        "hops": [{"predicate": "knows"}] * 3,
    }
    around = graph(bff, db, body)
    assert nodes(around) == ["Person/a", "Person/b", "Person/c"]
    assert edges(around) == {"a -knows-> b", "b -knows-> c", "c -knows-> a"}
    acyclic = graph(bff, db, {**body, "no_cycles": True})
    assert nodes(acyclic) == ["Person/a", "Person/b", "Person/c"]
    assert edges(acyclic) == {"a -knows-> b", "b -knows-> c"}


def test_a_link_to_an_id_that_no_longer_exists_is_a_missing_node(bff: TestClient, db: str) -> None:
    # A branch links an order to p9 while main deletes p9; the merge brings both.
    branch = bff.post(f"/api/v1/databases/{db}/branches", json={"branch_name": "late-order"})
    assert branch.status_code == 201, branch.text
    p9 = ok(bff.get(f"/api/v1/database/{db}/class/Product/instance/p9"))
    accepted(
        bff.delete(
            f"/api/v1/database/{db}/instances/Product/p9/delete",
            params={"expected_seq": p9["version"]},
        )
    )
    accepted(
        bff.post(
            f"/api/v1/database/{db}/instances/Order/create",
            params={"branch": "late-order"},
            json={"data": {"order_id": "o9", "products": ["p9", "p1"]}},
        )
    )
    merged = bff.post(
        f"/api/v1/database/{db}/merge/resolve",
        json={"source_branch": "late-order", "target_branch": "main"},
    )
    assert merged.status_code == 200, merged.text
    body = {
        "start_class": "Order",
        "filters": [{"field": "id", "operator": "eq", "value": "o9"}],
        "hops": [{"predicate": "products"}, {"predicate": "owned_by"}],
    }
    answer = graph(bff, db, body)
    by_id = {n["id"]: n for n in answer["nodes"]}
    assert nodes(answer) == ["Order/o9", "Product/p1", "Product/p9", "Customer/c1"]
    assert (by_id["p9"]["data_status"], by_id["p9"]["data"]) == ("MISSING", None)
    assert by_id["p1"]["data_status"] == "FULL"
    assert "o9 -products-> p9" in edges(answer)
    # Read at the branch's head, before the merge, p9 is still there.
    before = graph(bff, db, body, branch="late-order")
    assert {n["id"]: n["data_status"] for n in before["nodes"]}["p9"] == "FULL"


def test_a_change_on_a_branch_shows_only_there(bff: TestClient, db: str) -> None:
    created = bff.post(f"/api/v1/databases/{db}/branches", json={"branch_name": "more-orders"})
    assert created.status_code == 201, created.text
    accepted(
        bff.post(
            f"/api/v1/database/{db}/instances/주문/create",
            params={"branch": "more-orders"},
            json={"data": {"order_id": "o4", "주문자": "c2", "주문 제품": ["p2"]}},
        )
    )
    body = {
        "start_class": "Customer",
        "filters": [{"field": "id", "operator": "eq", "value": "c2"}],
        "hops": [{"predicate": "customer", "target_class": "Order"}],
    }
    assert nodes(graph(bff, db, body)) == ["Customer/c2", "Order/o2"]
    assert nodes(graph(bff, db, body, branch="more-orders")) == [
        "Customer/c2",
        "Order/o2",
        "Order/o4",
    ]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"start_class": "없는 클래스"}, 422, "start_class"),
        ({"start_class": "고객", "hops": [{"predicate": "없음"}]}, 422, "hops[0].predicate"),
        (
            {"start_class": "고객", "hops": [{"predicate": "주문자", "target_class": "없음"}]},
            422,
            "hops[0].target_class",
        ),
        (
            {
                "start_class": "주문",
                "hops": [
                    {"predicate": "주문자"},
                    {
                        "predicate": "owns",
                        "filters": [{"field": "x", "operator": "eq", "value": 1}],
                    },
                ],
            },
            422,
            "hops[1].filters[0].field",
        ),
        (
            {"start_class": "고객", "filters": [{"field": "이름", "operator": "??"}]},
            422,
            "filters[0].operator",
        ),
        ({"start_class": "고객", "max_nodes": 100_000}, 422, "max_nodes"),
        (
            {"start_class": "고객", "hops": [{"predicate": "owns", "direction": "up"}]},
            422,
            "hops.0.direction",
        ),
    ],
)
def test_bad_graph_queries_are_refused_naming_the_field(
    bff: TestClient, db: str, body: dict[str, Any], status: int, field: str
) -> None:
    refused = bff.post(f"/api/v1/graph-query/{db}", json=body)
    assert error_of(refused, status)["field"] == field
