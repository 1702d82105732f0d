"""Columns matched to a class's fields by name or label, or as the client says."""

from __future__ import annotations

from typing import Any

import pytest

from spice_harvester.application.imports.mapping import fold, mapping_from, suggest_mapping
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import ResolvedClass, Schema

ORDER: dict[str, Any] = {
    "id": "Order",
    "label": {"en": "Order", "ko": "주문"},
    "key": ["order_id"],
    "properties": [
        {"name": "order_id", "type": "string", "required": True, "label": "Order number"},
        {"name": "placed", "type": "date", "label": {"en": "Placed on", "ko": "주문일"}},
        {"name": "total", "type": "decimal", "label": {"ja": "合計"}},
        {"name": "note", "type": "text"},
    ],
    "relationships": [
        {"predicate": "client", "target": "Client", "cardinality": "n:1", "required": True},
        {"predicate": "tags", "target": "Tag", "cardinality": "n:m"},
    ],
}
CLIENT: dict[str, Any] = {
    "id": "Client",
    "label": "Client",
    "properties": [{"name": "client_id", "type": "string"}],
}
TAG: dict[str, Any] = {
    "id": "Tag",
    "label": "Tag",
    "properties": [{"name": "tag_id", "type": "string"}],
}


def order() -> ResolvedClass:
    classes = {c["id"]: ClassDef.from_api(c) for c in (ORDER, CLIENT, TAG)}
    return Schema(classes).resolved("Order")


def pairs(columns: list[str], **given: Any) -> dict[str, list[str]]:
    resolved = order()
    mapping = (
        mapping_from(given, columns, resolved) if given else suggest_mapping(columns, resolved)
    )
    found: dict[str, list[str]] = {}
    for target in mapping.targets:
        found.setdefault(target.column, []).append(target.field)
    return found


def test_columns_match_names_and_labels_in_any_language_ignoring_case_and_spaces() -> None:
    found = pairs(["ORDER NUMBER", "주문일", "合計", "Note ", "client"])
    assert found == {
        "ORDER NUMBER": ["order_id"],
        "주문일": ["placed"],
        "合計": ["total"],
        "Note ": ["note"],
        "client": ["client"],
    }


def test_folding_drops_case_spaces_underscores_hyphens_and_width() -> None:
    assert fold("Order_ID") == fold("order-id") == fold(" ORDER ID ") == "orderid"
    assert fold("ＡＢＣ") == "abc"


def test_a_column_named_after_a_relationship_with_an_id_suffix_fills_it() -> None:
    assert pairs(["order_id", "client_id"]) == {"order_id": ["order_id"], "client_id": ["client"]}


def test_unmapped_columns_and_required_fields_without_a_column_are_reported() -> None:
    mapping = suggest_mapping(["placed", "colour", "Placed on"], order())
    assert [t.field for t in mapping.targets] == ["placed"]
    assert mapping.unmapped == ("colour", "Placed on")  # a field takes one column
    assert mapping.missing_required == ("order_id", "client")


def test_a_given_mapping_names_fields_by_label_and_leaves_columns_out_with_null() -> None:
    found = pairs(
        ["no", "when", "who", "note"], no="Order number", when="주문일", who="client", note=None
    )
    assert found == {"no": ["order_id"], "when": ["placed"], "who": ["client"]}


def test_one_column_may_fill_a_property_and_a_relationship() -> None:
    found = pairs(["c"], c={"property": "note", "relationship": "client"})
    assert found == {"c": ["note", "client"]}


def test_a_given_mapping_naming_an_unknown_column_or_field_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="does not have"):
        mapping_from({"missing": "note"}, ["note"], order())
    with pytest.raises(ValidationFailed, match="Fax") as caught:
        mapping_from({"note": "Fax"}, ["note"], order())
    assert caught.value.field == "mapping.note"
    with pytest.raises(ValidationFailed, match="a mapping value"):
        mapping_from({"note": 3}, ["note"], order())
