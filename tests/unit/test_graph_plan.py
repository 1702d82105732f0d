"""Planning graph hops: directions given or detected, target classes narrowing a hop, and
refusals naming the hop; then the same plans from labels, as BFF makes them."""

from __future__ import annotations

from typing import Any

import pytest

from spice_harvester.application.labels import LabelIndex
from spice_harvester.application.query_labels import graph_to_ids, query_to_ids
from spice_harvester.domain.errors import MalformedInput, ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import Schema
from spice_harvester.domain.query.traversal import (
    HopRequest,
    exact_predicates,
    plan_hops,
)


def rel(predicate: str, target: str, cardinality: str = "n:1", **extra: Any) -> dict[str, Any]:
    return {"predicate": predicate, "target": target, "cardinality": cardinality, **extra}


RAW: list[dict[str, Any]] = [
    {"id": "Customer", "label": {"en": "Customer", "ko": "고객"}},
    {"id": "VipCustomer", "label": "VIP", "parent_class": "Customer"},
    {
        "id": "Product",
        "label": {"en": "Product", "ko": "제품"},
        "properties": [{"name": "name", "type": "string", "label": {"en": "Name", "ko": "제품명"}}],
        "relationships": [
            rel("owned_by", "Customer", label={"en": "Owned by", "ko": "소유자"}),
        ],
    },
    {"id": "SpecialProduct", "label": "Special", "parent_class": "Product"},
    {
        "id": "Order",
        "label": {"en": "Order", "ko": "주문"},
        "relationships": [
            rel("customer", "Customer", label={"ko": "고객"}),
            rel("products", "Product", "n:m", label={"ko": "제품들"}),
        ],
    },
    {"id": "Review", "label": "Review", "relationships": [rel("about", "Product")]},
    {"id": "Complaint", "label": "Complaint", "relationships": [rel("about", "Product")]},
    {"id": "Event", "label": "Event", "relationships": [rel("cause", "Event")]},
]
SCHEMA = Schema.of(ClassDef.from_api(c) for c in RAW)


def plan(start: str, *hops: HopRequest) -> list[tuple[str, str, str, str]]:
    planned = plan_hops(SCHEMA, start, hops, exact_predicates(SCHEMA))
    return [(h.predicate, h.direction, h.source_class, h.target_class) for h in planned]


def test_a_hop_goes_out_when_the_class_has_the_predicate_else_in() -> None:
    assert plan("Product", HopRequest("owned_by")) == [("owned_by", "out", "Product", "Customer")]
    assert plan("Customer", HopRequest("owned_by")) == [("owned_by", "in", "Customer", "Product")]
    assert plan("Customer", HopRequest("owned_by", "Product", "in")) == [
        ("owned_by", "in", "Customer", "Product")
    ]


def test_hops_chain_from_class_to_class_both_ways() -> None:
    assert plan(
        "Customer",
        HopRequest("customer", "Order"),
        HopRequest("products"),
        HopRequest("owned_by"),
    ) == [
        ("customer", "in", "Customer", "Order"),
        ("products", "out", "Order", "Product"),
        ("owned_by", "out", "Product", "Customer"),
    ]


def test_subclasses_take_part_on_both_ends() -> None:
    # A VIP is a customer, so products owned by one are found going in.
    assert plan("VipCustomer", HopRequest("owned_by")) == [
        ("owned_by", "in", "VipCustomer", "Product")
    ]
    [narrow] = plan_hops(
        SCHEMA, "Product", [HopRequest("owned_by", "VipCustomer")], exact_predicates(SCHEMA)
    )
    assert narrow.reached == ("VipCustomer",)
    assert narrow.looked_up == ("Customer", "VipCustomer")  # to tell a missing target
    [inherited] = plan_hops(SCHEMA, "Customer", [HopRequest("owned_by")], exact_predicates(SCHEMA))
    assert inherited.reached == ("Product", "SpecialProduct")


def test_a_relationship_to_its_own_class_goes_out_unless_told_in() -> None:
    assert plan("Event", HopRequest("cause")) == [("cause", "out", "Event", "Event")]
    assert plan("Event", HopRequest("cause", direction="in")) == [("cause", "in", "Event", "Event")]


def test_a_target_class_settles_which_class_points_back() -> None:
    with pytest.raises(ValidationFailed) as ambiguous:
        plan("Product", HopRequest("about"))
    assert ambiguous.value.field == "hops[0].target_class"
    assert ambiguous.value.data == {
        "candidates": [
            {"class_id": "Complaint", "predicate": "about"},
            {"class_id": "Review", "predicate": "about"},
        ]
    }
    assert plan("Product", HopRequest("about", "Review")) == [("about", "in", "Product", "Review")]


@pytest.mark.parametrize(
    ("start", "hop", "field", "fragment"),
    [
        ("Customer", HopRequest("nope"), "hops[0].predicate", "no class has a relationship"),
        ("Customer", HopRequest("owned_by", "Nope"), "hops[0].target_class", "does not exist"),
        ("Customer", HopRequest("owned_by", direction="out"), "hops[0].predicate", "Customer has"),
        ("Product", HopRequest("owned_by", "Order"), "hops[0].predicate", "not Order"),
        ("Product", HopRequest("owned_by", direction="sideways"), "hops[0].direction", "neither"),
        ("Order", HopRequest("about", "Review"), "hops[0].predicate", "pointing at Order"),
    ],
)
def test_hops_that_cannot_be_planned_are_refused_naming_the_hop(
    start: str, hop: HopRequest, field: str, fragment: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        plan(start, hop)
    assert refused.value.field == field
    assert fragment in refused.value.message


def test_the_second_hop_s_problem_names_the_second_hop() -> None:
    with pytest.raises(ValidationFailed) as refused:
        plan("Customer", HopRequest("owned_by"), HopRequest("nope"))
    assert refused.value.field == "hops[1].predicate"


# -- from labels, as BFF plans them ------------------------------------------------------

INDEX = LabelIndex.from_classes(RAW)


def test_a_graph_body_in_korean_labels_becomes_ids_with_directions() -> None:
    body = {
        "start_class": "고객",
        "hops": [
            {"predicate": "고객", "target_class": "주문"},
            {
                "predicate": "제품들",
                "filters": [{"field": "제품명", "operator": "eq", "value": "x"}],
            },
            {"predicate": "Owned by", "select": ["nope"]},
        ],
        "filters": [{"field": "unknown label", "operator": "eq", "value": 1}],
        "limit": 5,
    }
    sent = graph_to_ids(INDEX, "Customer", body)
    assert sent["start_class"] == "Customer"
    assert sent["limit"] == 5
    assert sent["filters"] == [{"field": "unknown label", "operator": "eq", "value": 1}]
    assert [(h["predicate"], h["direction"], h["target_class"]) for h in sent["hops"]] == [
        ("customer", "in", "Order"),
        ("products", "out", "Product"),
        ("owned_by", "out", "Customer"),
    ]
    assert sent["hops"][1]["filters"] == [{"field": "name", "operator": "eq", "value": "x"}]
    assert sent["hops"][2]["select"] == ["nope"]  # left for OMS to refuse, naming it


def test_a_predicate_label_is_looked_up_among_relationships_only() -> None:
    # Product has a property labelled 제품명 too; no relationship has it.
    with pytest.raises(ValidationFailed) as refused:
        graph_to_ids(INDEX, "Customer", {"hops": [{"predicate": "제품명"}]})
    assert refused.value.field == "hops[0].predicate"


def test_a_label_two_target_classes_share_is_400() -> None:
    index = LabelIndex.from_classes([*RAW, {"id": "Shop", "label": {"ko": "주문"}}])
    with pytest.raises(MalformedInput) as refused:
        graph_to_ids(index, "Customer", {"hops": [{"predicate": "고객", "target_class": "주문"}]})
    assert refused.value.field == "hops[0].target_class"


def test_a_query_body_s_field_labels_become_ids() -> None:
    body = {
        "class_label": "제품",
        "filters": [{"field": "제품명", "operator": "like", "value": "%"}],
        "select": ["Name", "소유자"],
        "order_by": "제품명",
        "limit": 10,
    }
    assert query_to_ids(INDEX, "Product", body) == {
        "class_id": "Product",
        "filters": [{"field": "name", "operator": "like", "value": "%"}],
        "select": ["name", "owned_by"],
        "order_by": "name",
        "limit": 10,
    }
