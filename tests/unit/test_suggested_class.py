"""A suggested class set beside an existing one: column names as labels, and what would change."""

from __future__ import annotations

from typing import Any

from spice_harvester.application.suggested_class import differences, with_column_labels
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import Schema

PERSON = ClassDef.from_api(
    {
        "id": "Person",
        "label": "Person",
        "key": ["person_code"],
        "properties": [
            {"name": "person_code", "type": "string", "label": {"ko": "고객 ID"}},
            {"name": "joined", "type": "date"},
            {"name": "points", "type": "integer"},
            {"name": "city", "type": "string"},
        ],
    }
)
MEMBER = ClassDef.from_api(
    {
        "id": "Member",
        "label": "Member",
        "parent_class": "Person",
        "properties": [{"name": "tier", "type": "enum", "constraints": {"values": ["a", "b"]}}],
    }
)
SUGGESTED: dict[str, Any] = {
    "id": "Member",
    "label": "Member",
    "key": ["column_1"],
    "properties": [
        {"name": "column_1", "type": "string", "label": "고객 ID"},
        {"name": "joined", "type": "date"},
        {"name": "points", "type": "decimal"},
        {"name": "email", "type": "email"},
    ],
}
LABELS = {"고객 ID": "person_code"}


def test_every_property_is_labelled_with_its_column() -> None:
    labelled = with_column_labels(SUGGESTED, {"고객 ID": "column_1", "joined": "joined"})
    assert [p["label"] for p in labelled["properties"]] == ["고객 ID", "joined", "points", "email"]
    assert SUGGESTED["properties"][1].get("label") is None  # the input is left as it was


def test_differences_match_by_name_then_by_label_and_include_inherited_fields() -> None:
    schema = Schema.of([PERSON, MEMBER])
    found = differences(SUGGESTED, schema.resolved("Member"), LABELS.get)
    assert found["added"] == ["email"]
    assert found["missing"] == ["city", "tier"]
    assert found["matched_by_label"] == [{"property": "column_1", "existing": "person_code"}]
    assert found["type_changes"] == [
        {
            "property": "points",
            "existing": "points",
            "suggested_type": "decimal",
            "existing_type": "integer",
        }
    ]
    # The suggested key, in the existing class's names, is the inherited key: no difference.
    assert found["key"] is None


def test_a_different_key_is_reported_in_the_existing_names() -> None:
    schema = Schema.of([PERSON])
    suggested = {**SUGGESTED, "key": ["column_1", "joined"]}
    found = differences(suggested, schema.resolved("Person"), LABELS.get)
    assert found["key"] == {"suggested": ["person_code", "joined"], "existing": ["person_code"]}
