"""Query filters: every operator, values read and compared by the field's type, ordering with
absent values last, and refusals naming the filter's part."""

from __future__ import annotations

from typing import Any

import pytest

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import Schema
from spice_harvester.domain.query.filters import (
    FieldSpec,
    Operator,
    compile_filter,
    compile_ordering,
    compile_select,
    query_fields,
    selected,
)

ITEM = ClassDef.from_api(
    {
        "id": "Item",
        "label": "Item",
        "properties": [
            {"name": "name", "type": "string"},
            {"name": "qty", "type": "integer", "constraints": {"min": 1}},
            {"name": "weight", "type": "float"},
            {"name": "cost", "type": "decimal", "constraints": {"scale": 2}},
            {"name": "price", "type": "money"},
            {"name": "made", "type": "date"},
            {"name": "shipped", "type": "datetime"},
            {"name": "opens", "type": "time"},
            {"name": "active", "type": "boolean"},
            {"name": "grade", "type": "enum", "constraints": {"values": ["Gold", "Silver"]}},
            {"name": "email", "type": "email"},
            {"name": "where", "type": "coordinate"},
            {"name": "extra", "type": "object"},
            {"name": "tags", "type": "array", "constraints": {"item_type": "string"}},
            {
                "name": "grid",
                "type": "array",
                "constraints": {"item_type": "array", "items": {"item_type": "integer"}},
            },
        ],
        "relationships": [
            {"predicate": "maker", "target": "Item", "cardinality": "n:1"},
            {"predicate": "parts", "target": "Item", "cardinality": "n:m"},
        ],
    }
)
FIELDS = query_fields(Schema.of([ITEM]).resolved("Item"))
ROW: dict[str, Any] = {
    "name": "Spice Grinder",
    "qty": 5,
    "weight": 1.5,
    "cost": "12.50",
    "price": {"amount": "12000", "currency": "KRW"},
    "made": "2024-01-31",
    "shipped": "2024-01-31T09:30:00+09:00",
    "opens": "09:30:00",
    "active": True,
    "grade": "Gold",
    "email": "kim@example.com",
    "where": {"lat": 37.56, "lon": 126.97},
    "extra": {"a": 1, "b": [1, 2]},
    "tags": ["red", "large"],
    "maker": "i0",
    "parts": ["i2", "i3"],
}


def holds(field: str, operator: str, value: Any = None, data: dict[str, Any] | None = None) -> bool:
    condition = compile_filter(
        FIELDS, {"field": field, "operator": operator, "value": value}, owner="Item", where="f"
    )
    return condition.holds("i1", ROW if data is None else data)


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    [
        ("name", "eq", "Spice Grinder", True),
        ("name", "eq", "spice grinder", False),  # eq is exact; like ignores case
        ("name", "ne", "Other", True),
        ("name", "gt", "Spice", True),
        ("name", "lt", "Spice", False),
        ("qty", "eq", "5", True),
        ("qty", "ge", 5, True),
        ("qty", "gt", 5, False),
        ("qty", "lt", 0, False),  # bounds of the property do not limit a filter value
        ("qty", "in", [1, 5], True),
        ("qty", "not_in", [1, 5], False),
        ("weight", "eq", 1.5, True),
        ("weight", "le", "1.5", True),
        ("cost", "eq", "12.5", True),  # decimals compare by value: 12.50 = 12.5
        ("cost", "eq", 12.5, True),
        ("cost", "gt", "12.499", True),  # more digits than the property's scale is fine here
        ("cost", "lt", "9.99", False),
        ("price", "eq", "₩12,000", True),
        ("price", "eq", {"amount": 12000, "currency": "KRW"}, True),
        ("price", "eq", "12000 USD", False),  # another currency is another amount
        ("price", "gt", 11999.5, True),  # a bare amount compares in any currency
        ("price", "gt", "1 USD", False),
        ("price", "ge", "12000", True),
        ("made", "eq", "2024/01/31", True),
        ("made", "gt", "2024-01-30", True),
        ("made", "lt", "2024-01-31", False),
        ("shipped", "eq", "2024-01-31T00:30:00Z", True),  # the same instant, another offset
        ("shipped", "lt", "2024-01-31T01:00:00+00:00", True),
        ("shipped", "gt", "2024-01-31T09:00:00", False),  # no offset means UTC
        ("opens", "ge", "09:30", True),
        ("opens", "lt", "09:00", False),
        ("active", "eq", "yes", True),
        ("active", "ne", False, True),
        ("grade", "eq", "gold", True),  # enums read in any case
        ("grade", "in", ["silver"], False),
        ("email", "eq", "kim@EXAMPLE.com", True),  # read like a stored email
        ("where", "eq", "37.56,126.97", True),
        ("extra", "eq", {"b": [1, 2], "a": 1}, True),
        ("tags", "eq", "red", True),  # a list matches when one item does
        ("tags", "in", ["blue", "large"], True),
        ("tags", "ne", "red", False),
        ("tags", "not_in", ["blue"], True),
        ("tags", "like", "LAR%", True),
        ("maker", "eq", "i0", True),
        ("parts", "eq", "i3", True),
        ("parts", "like", "i_", True),
        ("id", "eq", "i1", True),
        ("id", "in", ["i2"], False),
        ("name", "like", "%grind%", True),
        ("name", "like", "spice_grinder", True),
        ("name", "like", "spice", False),  # the whole text must match
        ("made", "like", "2024-01%", True),
        ("qty", "like", "5", True),
    ],
)
def test_each_operator_compares_by_the_field_s_type(
    field: str, operator: str, value: Any, expected: bool
) -> None:
    assert holds(field, operator, value) is expected


@pytest.mark.parametrize("field", ["name", "tags", "price", "where", "maker", "parts"])
def test_absent_null_and_empty_values_are_null_and_match_only_the_complements(field: str) -> None:
    empties: list[dict[str, Any]] = [{}, {field: None}]
    if field in ("tags", "parts"):
        empties.append({field: []})
    for data in empties:
        assert holds(field, "is_null", data=data)
        assert not holds(field, "is_not_null", data=data)
    assert holds(field, "is_not_null")
    assert not holds("name", "eq", "x", data={})
    assert holds("name", "ne", "x", data={})
    assert holds("name", "not_in", ["x"], data={})
    assert not holds("name", "gt", "a", data={})
    assert not holds("name", "like", "%", data={})


def test_unreadable_stored_values_match_nothing_rather_than_fail() -> None:
    odd = {"qty": "five", "cost": "NaN", "made": "soon", "price": {"amount": "x"}, "active": 1}
    for field, operator, value in [
        ("qty", "gt", 0),
        ("cost", "gt", 0),
        ("made", "lt", "2099-01-01"),
        ("price", "gt", 0),
        ("active", "eq", True),
    ]:
        assert not holds(field, operator, value, data=odd)


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"field": "nope", "operator": "eq", "value": 1}, "f.field", "has no field 'nope'"),
        ({"field": "qty", "operator": "between", "value": 1}, "f.operator", "unknown operator"),
        ({"field": "qty", "operator": "eq", "value": "five"}, "f.value", "whole number"),
        ({"field": "qty", "operator": "eq"}, "f.value", "use is_null"),
        ({"field": "qty", "operator": "eq", "value": [1, 2]}, "f.value", "use in"),
        ({"field": "qty", "operator": "in", "value": 1}, "f.value", "non-empty list"),
        ({"field": "qty", "operator": "in", "value": []}, "f.value", "non-empty list"),
        ({"field": "qty", "operator": "in", "value": [1, "x"]}, "f.value[1]", "whole number"),
        ({"field": "qty", "operator": "in", "value": list(range(1001))}, "f.value", "at most 1000"),
        ({"field": "qty", "operator": "is_null", "value": 1}, "f.value", "takes no value"),
        ({"field": "qty", "operator": "like", "value": 5}, "f.value", "text pattern"),
        ({"field": "name", "operator": "like", "value": "%" * 1001}, "f.value", "at most 1000"),
        ({"field": "active", "operator": "gt", "value": True}, "f.operator", "does not apply"),
        ({"field": "price", "operator": "like", "value": "1%"}, "f.operator", "does not apply"),
        ({"field": "grid", "operator": "eq", "value": [1]}, "f.operator", "does not apply"),
        ({"field": "grade", "operator": "eq", "value": "Bronze"}, "f.value", "must be one of"),
        ({"field": "made", "operator": "gt", "value": "31/01/2024"}, "f.value", "a date"),
        ({"field": "price", "operator": "eq", "value": "a lot"}, "f.value", "money"),
        ("qty > 1", "f", "a filter is an object"),
    ],
)
def test_bad_filters_are_refused_naming_the_part_at_fault(
    raw: Any, field: str, fragment: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        compile_filter(FIELDS, raw, owner="Item", where="f")
    assert refused.value.field == field
    assert fragment in refused.value.message


def test_a_refused_value_names_the_field_operator_and_value() -> None:
    with pytest.raises(ValidationFailed) as refused:
        compile_filter(
            FIELDS, {"field": "qty", "operator": "ge", "value": "lots"}, owner="Item", where="f"
        )
    assert refused.value.data == {"field": "qty", "operator": "ge", "value": "'lots'"}
    assert "qty (integer)" in refused.value.message


def test_only_eq_and_in_on_fields_whose_json_is_canonical_are_looked_up_in_the_store() -> None:
    def lookup(field: str, operator: str, value: Any) -> Any:
        raw = {"field": field, "operator": operator, "value": value}
        return compile_filter(FIELDS, raw, owner="Item", where="f").lookup()

    assert lookup("grade", "eq", "gold") == ("Gold",)
    assert lookup("qty", "in", ["5", 6]) == (5, 6)
    assert lookup("made", "eq", "2024/01/31") == ("2024-01-31",)
    assert lookup("parts", "eq", "i2") == ("i2",)
    assert lookup("cost", "eq", "12.5") is None  # 12.50 is stored: JSON would miss it
    assert lookup("shipped", "eq", "2024-01-31T00:30:00Z") is None
    assert lookup("price", "eq", "₩1") is None
    assert lookup("name", "ne", "x") is None
    assert lookup("id", "eq", "i1") is None  # found by key instead


def keyed(field: str | None, direction: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    ordering = compile_ordering(FIELDS, field, direction, owner="Item")
    return sorted(rows, key=lambda i: ordering.key("Item", i, rows[i]))


def test_ordering_is_by_type_with_absent_values_last_both_ways_then_by_id() -> None:
    rows = {
        "a": {"cost": "10.5"},
        "b": {"cost": "9.75"},
        "c": {},
        "d": {"cost": "10.50"},
        "e": {"cost": "100"},
    }
    assert keyed("cost", "asc", rows) == ["b", "a", "d", "e", "c"]
    assert keyed("cost", "desc", rows) == ["e", "a", "d", "b", "c"]
    dates = {
        "x": {"shipped": "2024-01-01T10:00:00+09:00"},
        "y": {"shipped": "2024-01-01T02:00:00Z"},
    }
    assert keyed("shipped", "asc", dates) == ["x", "y"]
    assert keyed(None, "desc", {"a": {}, "b": {}}) == ["b", "a"]
    assert keyed("id", "desc", {"a": {}, "b": {}}) == ["b", "a"]


@pytest.mark.parametrize("field", ["tags", "parts", "where", "extra", "nope"])
def test_list_valued_and_structured_fields_cannot_order(field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        compile_ordering(FIELDS, field, "asc", owner="Item")
    assert refused.value.field == "order_by"


def test_select_keeps_named_fields_and_refuses_unknown_ones() -> None:
    names = compile_select(FIELDS, ["qty", "maker"], owner="Item")
    assert selected(ROW, names) == {"qty": 5, "maker": "i0"}
    assert selected(ROW, None) == ROW
    with pytest.raises(ValidationFailed) as refused:
        compile_select(FIELDS, ["qty", "qtty"], owner="Item")
    assert refused.value.field == "select[1]"


def test_a_class_field_named_id_wins_over_the_instance_id() -> None:
    cls = ClassDef.from_api(
        {"id": "Thing", "label": "Thing", "properties": [{"name": "id", "type": "integer"}]}
    )
    fields = query_fields(Schema.of([cls]).resolved("Thing"))
    assert fields["id"] == FieldSpec("id", fields["id"].type, None, False, "property")
    condition = compile_filter(
        fields, {"field": "id", "operator": "gt", "value": 3}, owner="Thing", where="f"
    )
    assert condition.operator is Operator.GT
    assert condition.holds("t1", {"id": 4})
