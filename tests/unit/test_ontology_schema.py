"""Class definitions, the schema they form (inheritance, limits, inverses) and its graph."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spice_harvester.domain.errors import AlreadyExists, NotFound, SpiceError, ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef, label_for
from spice_harvester.domain.ontology.graph import relationship_cycles, relationship_paths
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.ontology.types import ValueType

CUSTOMER_LABEL = {"ko": "고객", "en": "Customer", "ja": "顧客"}


def cls(class_id: str, **fields: Any) -> ClassDef:
    return ClassDef.from_api({"id": class_id, "label": class_id, **fields})


def prop(name: str, type_: str = "string", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **fields}


def rel(predicate: str, target: str, cardinality: str = "n:1", **fields: Any) -> dict[str, Any]:
    return {"predicate": predicate, "target": target, "cardinality": cardinality, **fields}


def refusal(payload: object) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        ClassDef.from_api(payload)
    return caught.value


def schema_refusal(schema: Schema, new: ClassDef, replacing: str | None = None) -> SpiceError:
    with pytest.raises(SpiceError) as caught:
        schema.check_class(new, replacing=replacing)
    return caught.value


def people() -> Schema:
    person = cls("Person", key=["pid"], properties=[prop("pid"), prop("name")])
    employee = cls("Employee", parent_class="Person", properties=[prop("salary", "integer")])
    return Schema.of([person, employee])


# Class definitions on their own


def test_a_class_with_korean_and_japanese_labels_reads_back_as_sent() -> None:
    payload = {
        "id": "Customer",
        "label": CUSTOMER_LABEL,
        "description": {"ko": "물건을 사는 사람"},
        "key": ["customer_id"],
        "properties": [
            prop("customer_id", label={"ko": "고객 번호", "ja": "顧客番号"}, required=True),
            prop("name", label="이름 🙂"),
        ],
    }
    customer = ClassDef.from_api(payload)
    api = customer.to_api()
    assert api["label"] == CUSTOMER_LABEL
    assert api["properties"][0]["label"] == {"ko": "고객 번호", "ja": "顧客番号"}
    assert ClassDef.from_api(api) == customer


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("string", "string"),
        ("STRING", "string"),
        ("xsd:string", "string"),
        ("xsd:dateTime", "datetime"),
        ("Integer", "integer"),
        ("xsd:decimal", "decimal"),
        ("EMAIL", "email"),
    ],
)
def test_every_spelling_of_a_type_name_is_stored_canonically(name: str, expected: str) -> None:
    customer = cls("Customer", properties=[prop("field", name)])
    assert customer.properties[0].type == ValueType(expected)
    assert customer.to_api()["properties"][0]["type"] == expected


def test_defaults_are_stored_in_the_form_of_their_type() -> None:
    customer = cls(
        "Customer",
        properties=[
            prop("age", "integer", default="42"),
            prop("tier", "enum", constraints={"values": ["gold", "silver"]}, default="gold"),
            prop("credit", "money", constraints={"currency": "krw"}, default="1000"),
        ],
    )
    defaults = [p["default"] for p in customer.to_api()["properties"]]
    assert defaults == [42, "gold", {"amount": "1000", "currency": "KRW"}]
    assert ClassDef.from_api(customer.to_api()) == customer


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ([prop("name"), prop("name")], "properties[1].name"),
        ([prop("first name")], "properties[0].name"),
        ([prop("name"), prop("age", "number")], "properties[1].type"),
        ([prop("age", "integer", default="forty")], "properties[0].default"),
        ([prop("tier", "enum")], "properties[0].constraints.values"),
        ([prop("name", constraints={"currency": "USD"})], "properties[0].constraints.currency"),
        ([prop("name", colour="red")], "properties[0].colour"),
    ],
)
def test_a_bad_property_is_refused_naming_its_field(
    properties: list[dict[str, Any]], field: str
) -> None:
    error = refusal({"id": "Customer", "label": "Customer", "properties": properties})
    assert error.field == field
    assert error.data is not None
    assert error.data["errors"][0]["field"] == field


def test_every_problem_is_listed_and_the_first_names_the_field() -> None:
    error = refusal({"id": "9lives", "properties": [prop("x", "nothing")], "extra": 1})
    assert error.data is not None
    fields = [e["field"] for e in error.data["errors"]]
    assert fields == ["id", "label", "properties[0].type", "extra"]
    assert error.field == "id"


@pytest.mark.parametrize(
    ("label", "reason"),
    [({}, "at least one"), ({"EN": "Customer"}, "language tag"), ("  ", "non-empty"), (7, "map")],
)
def test_a_label_is_text_or_a_map_of_language_tags(label: object, reason: str) -> None:
    error = refusal({"id": "Customer", "label": label})
    assert error.field == "label"
    assert reason in error.message


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    assert refusal(["Customer"]).message == "a class must be a JSON object"


def test_a_relationship_cannot_reuse_a_property_name() -> None:
    error = refusal(
        {
            "id": "Order",
            "label": "Order",
            "properties": [prop("customer")],
            "relationships": [rel("customer", "Customer")],
        }
    )
    assert error.field == "relationships[0].predicate"


def test_a_key_naming_a_missing_property_is_refused() -> None:
    error = refusal({"id": "Customer", "label": "Customer", "key": ["customer_id"]})
    assert error.field == "key[0]"


def test_a_key_cannot_be_an_array() -> None:
    tags = prop("tags", "array", constraints={"item_type": "string"})
    error = refusal({"id": "Customer", "label": "Customer", "key": ["tags"], "properties": [tags]})
    assert error.field == "key[0]"


def test_an_inverse_into_the_class_itself_must_be_declared_there() -> None:
    parent_of = rel("parent_of", "Person", "1:n", inverse_predicate="child_of")
    error = refusal({"id": "Person", "label": "Person", "relationships": [parent_of]})
    assert error.field == "relationships[0].inverse_predicate"
    child_of = rel("child_of", "Person", "n:1", inverse_predicate="parent_of")
    assert cls("Person", relationships=[parent_of, child_of]).relationship("child_of")
    spouse = rel("spouse", "Person", "1:1", inverse_predicate="spouse")
    assert cls("Person", relationships=[spouse]).relationship("spouse")


# The schema: inheritance, keys and limits


def test_a_subclass_has_its_parents_properties_first_and_inherits_the_key() -> None:
    schema = people().with_class(cls("Manager", parent_class="Employee"))
    manager = schema.resolved("Manager")
    assert manager.ancestors == ("Employee", "Person")
    assert [p.name for p in manager.properties] == ["pid", "name", "salary"]
    assert manager.key == ("pid",)
    assert manager.declared_by["salary"] == "Employee"


def test_a_subclass_key_may_name_an_inherited_property() -> None:
    schema = people()
    schema.check_class(cls("Contractor", parent_class="Person", key=["name"]))
    error = schema_refusal(schema, cls("Contractor", parent_class="Person", key=["agency"]))
    assert error.field == "key[0]"


def test_a_subclass_cannot_redefine_an_inherited_property() -> None:
    error = schema_refusal(
        people(), cls("Manager", parent_class="Person", properties=[prop("name")])
    )
    assert error.field == "properties[0].name"
    assert "inherited from Person" in error.message


def test_a_missing_parent_is_refused() -> None:
    error = schema_refusal(people(), cls("Manager", parent_class="Boss"))
    assert isinstance(error, ValidationFailed)
    assert error.field == "parent_class"


def test_an_inheritance_cycle_is_refused_with_its_path() -> None:
    error = schema_refusal(people(), cls("Person", parent_class="Employee"), replacing="Person")
    assert error.field == "parent_class"
    assert error.data is not None
    assert error.data["cycle"] == ["Person", "Employee", "Person"]


def test_inheritance_deeper_than_the_limit_is_refused() -> None:
    schema = Schema.of([cls("A"), cls("B", parent_class="A")], SchemaLimits(10, 1))
    error = schema_refusal(schema, cls("C", parent_class="B"))
    assert error.field == "parent_class"
    assert "over the limit of 1" in error.message


def test_properties_over_the_limit_count_inherited_ones() -> None:
    schema = Schema.of([cls("A", properties=[prop("a"), prop("b")])], SchemaLimits(3, 5))
    schema.check_class(cls("B", parent_class="A", properties=[prop("c")]))
    error = schema_refusal(schema, cls("B", parent_class="A", properties=[prop("c"), prop("d")]))
    assert error.field == "properties"


def test_a_relationship_to_a_missing_class_is_refused_but_one_to_itself_is_fine() -> None:
    error = schema_refusal(people(), cls("Team", relationships=[rel("lead", "Boss")]))
    assert error.field == "relationships[0].target"
    people().check_class(cls("Team", relationships=[rel("parent_team", "Team")]))


def test_adding_an_existing_class_or_renaming_one_is_refused() -> None:
    schema = people()
    assert isinstance(schema_refusal(schema, cls("Person")), AlreadyExists)
    renamed = schema_refusal(schema, cls("Human"), replacing="Person")
    assert renamed.field == "id"
    assert isinstance(schema_refusal(schema, cls("Robot"), replacing="Robot"), NotFound)


def test_a_change_that_would_break_a_subclass_is_refused() -> None:
    person = cls("Person", key=["pid"], properties=[prop("pid"), prop("salary")])
    error = schema_refusal(people(), person, replacing="Person")
    assert "Employee" in error.message
    assert "redefines 'salary'" in error.message


def test_subclasses_are_transitive_and_abstract_classes_have_no_instances() -> None:
    schema = people().with_class(cls("Manager", parent_class="Employee", abstract=True))
    assert schema.subclasses("Person") == ["Employee", "Manager"]
    assert schema.instance_classes() == ["Employee", "Person"]
    assert schema.is_subclass_of("Manager", "Person")
    assert not schema.is_subclass_of("Person", "Manager")


# Inverse relationships


@pytest.mark.parametrize(
    ("cardinality", "flipped"), [("1:n", "n:1"), ("n:1", "1:n"), ("n:m", "n:m"), ("1:1", "1:1")]
)
def test_an_inverse_relationship_is_added_to_the_target_with_flipped_cardinality(
    cardinality: str, flipped: str
) -> None:
    order = cls(
        "Order", relationships=[rel("customer", "Person", cardinality, inverse_predicate="orders")]
    )
    (person,) = people().inverse_updates(order)
    mirror = person.relationship("orders")
    assert mirror is not None
    assert (mirror.target, mirror.cardinality, mirror.inverse_predicate) == (
        "Order",
        flipped,
        "customer",
    )


def test_the_inverse_follows_the_relationship_when_it_changes_and_goes_when_it_goes() -> None:
    order = cls("Order", relationships=[rel("customer", "Person", inverse_predicate="orders")])
    schema = people().with_class(order)
    assert schema.resolved("Employee").relationship("orders") is not None
    changed = cls(
        "Order", relationships=[rel("buyer", "Person", "n:m", inverse_predicate="purchases")]
    )
    (person,) = schema.inverse_updates(changed)
    assert [(r.predicate, r.cardinality) for r in person.relationships] == [("purchases", "n:m")]
    (person,) = schema.inverse_updates(cls("Order"))
    assert person.relationships == ()
    assert schema.inverse_updates(order) == []


def test_an_inverse_that_clashes_with_the_target_is_refused() -> None:
    schema = people()
    taken = cls("Order", relationships=[rel("customer", "Person", inverse_predicate="name")])
    assert schema_refusal(schema, taken).field == "relationships[0].inverse_predicate"
    schema = schema.with_class(
        cls("Order", relationships=[rel("customer", "Person", inverse_predicate="orders")])
    )
    rival = cls("Invoice", relationships=[rel("payer", "Person", inverse_predicate="orders")])
    assert schema_refusal(schema, rival).field == "relationships[0].inverse_predicate"


def test_what_the_target_says_about_an_inverse_survives_a_change_of_cardinality() -> None:
    order = cls("Order", relationships=[rel("customer", "Person", inverse_predicate="orders")])
    schema = people().with_class(order)
    person = schema.classes["Person"].to_api()
    person["relationships"][0]["label"] = {"ko": "주문", "en": "Orders"}
    schema = schema.with_class(ClassDef.from_api(person))
    changed = cls(
        "Order", relationships=[rel("customer", "Person", "n:m", inverse_predicate="orders")]
    )
    (updated,) = schema.inverse_updates(changed)
    assert updated.relationships[0].label == {"ko": "주문", "en": "Orders"}
    assert updated.relationships[0].cardinality == "n:m"


def test_dropping_an_inverse_from_the_target_drops_the_relationship_it_pairs_with() -> None:
    order = cls("Order", relationships=[rel("customer", "Person", inverse_predicate="orders")])
    schema = people().with_class(order)
    person = schema.classes["Person"].to_api() | {"relationships": []}
    (updated_order,) = schema.inverse_updates(ClassDef.from_api(person))
    assert updated_order.relationships == ()


def test_removing_a_class_is_refused_while_others_inherit_from_or_relate_to_it() -> None:
    schema = people().with_class(cls("Team", relationships=[rel("members", "Person", "n:m")]))
    with pytest.raises(ValidationFailed) as caught:
        schema.without_class("Person")
    assert caught.value.data == {
        "dependents": [
            {"class_id": "Employee", "field": "parent_class"},
            {"class_id": "Team", "field": "relationships[0].target"},
        ]
    }
    assert "Team" not in schema.without_class("Team")


def test_removing_a_class_removes_the_inverses_it_gave_others() -> None:
    order = cls("Order", relationships=[rel("customer", "Person", inverse_predicate="orders")])
    schema = people().with_class(order)
    (person,) = schema.removal_updates("Order")
    assert person.relationships == ()
    assert schema.without_class("Order").classes["Person"].relationships == ()


# The relationship graph


def small_graph() -> Schema:
    return Schema.of(
        [
            cls("A", relationships=[rel("to_b", "B"), rel("to_c", "C")]),
            cls("B", relationships=[rel("to_c", "C"), rel("back", "A")]),
            cls("C", relationships=[rel("to_a", "A"), rel("next", "C")]),
            cls("D", relationships=[rel("to_a", "A")]),
        ]
    )


def test_cycles_include_self_loops_and_start_at_their_smallest_class() -> None:
    cycles = relationship_cycles(small_graph())
    assert sorted(cycles) == [["A", "B"], ["A", "B", "C"], ["A", "C"], ["C"]]
    assert len(relationship_cycles(small_graph(), limit=2)) == 2


def test_paths_are_simple_shortest_first_and_bounded_by_depth() -> None:
    paths = relationship_paths(small_graph(), "D", "C", 3)
    assert paths == [
        [("D", "to_a", "A"), ("A", "to_c", "C")],
        [("D", "to_a", "A"), ("A", "to_b", "B"), ("B", "to_c", "C")],
    ]
    assert relationship_paths(small_graph(), "D", "C", 1) == []
    assert relationship_paths(small_graph(), "C", "C", 1) == [[("C", "next", "C")]]


def test_a_path_between_unknown_classes_names_the_missing_end() -> None:
    with pytest.raises(ValidationFailed) as caught:
        relationship_paths(small_graph(), "A", "Z", 3)
    assert caught.value.field == "target"


def simple_cycles(graph: dict[str, list[str]]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def walk(start: str, path: list[str]) -> None:
        for nxt in graph[path[-1]]:
            if nxt == start:
                found.add(tuple(path))
            elif nxt > start and nxt not in path:
                walk(start, [*path, nxt])

    for start in graph:
        walk(start, [start])
    return found


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=14))
def test_the_cycles_found_are_exactly_the_elementary_cycles(pairs: list[tuple[int, int]]) -> None:
    graph = {f"C{i}": sorted({f"C{b}" for a, b in pairs if a == i}) for i in range(6)}
    schema = Schema.of(
        cls(c, relationships=[rel(f"to_{t}", t) for t in targets]) for c, targets in graph.items()
    )
    cycles = relationship_cycles(schema, limit=10_000)
    assert len(cycles) == len(set(map(tuple, cycles)))
    assert set(map(tuple, cycles)) == simple_cycles(graph)


# Labels


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ja", "顧客"),
        ("ko-KR", "고객"),
        ("de", "Customer"),
        (None, "Customer"),
    ],
)
def test_label_for_picks_the_language_then_its_primary_tag_then_english(
    lang: str | None, expected: str
) -> None:
    assert label_for(CUSTOMER_LABEL, lang) == expected


def test_label_for_falls_back_to_a_regional_variant_then_any_text() -> None:
    assert label_for({"zh-Hant": "客戶", "en-GB": "Customer"}, "zh") == "客戶"
    assert label_for({"ja": "顧客", "en-GB": "Customer"}, "fr") == "Customer"
    assert label_for({"ja": "顧客"}, "fr") == "顧客"
    assert label_for("Customer", "ko") == "Customer"
    assert label_for(None, "ko", fallback="customer_id") == "customer_id"
