"""A class Funnel suggested, set beside the database it is meant for: every property labelled
with its column's name, and how it differs from a class already there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from spice_harvester.domain.ontology.schema import ResolvedClass


def with_column_labels(suggested: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """The class with each property's label set to the column it came from (`mapping` is
    column -> property), so names made ASCII (`고객명` -> `column_1`) keep what people wrote."""
    columns = {prop: column for column, prop in mapping.items()}
    properties = [
        {**prop, "label": columns.get(prop["name"], prop.get("label") or prop["name"])}
        for prop in suggested.get("properties", [])
    ]
    return {**suggested, "properties": properties}


def differences(
    suggested: Mapping[str, Any],
    existing: ResolvedClass,
    field_named: Callable[[str], str | None],
) -> dict[str, Any]:
    """What adopting the suggestion would change in `existing` (inherited fields included).

    A suggested property matches an existing field of the same name, else the field whose id
    or label (any language) its label names, as `field_named` finds it. `added`: suggested
    properties matching nothing; `missing`: existing properties nothing matches;
    `type_changes`: matched properties whose types differ; `matched_by_label`: matches under
    another name; `key`: both keys when they differ (in the existing class's names)."""
    present = {prop.name: prop for prop in existing.properties}
    fields = set(present) | {rel.predicate for rel in existing.relationships}
    matched: dict[str, str] = {}
    for prop in suggested.get("properties", []):
        name = prop["name"]
        found = name if name in fields else field_named(str(prop.get("label") or name))
        if found is not None and found in fields and found not in matched.values():
            matched[name] = found
    names = [prop["name"] for prop in suggested.get("properties", [])]
    types = {prop["name"]: str(prop["type"]) for prop in suggested.get("properties", [])}
    type_changes = [
        {
            "property": name,
            "existing": found,
            "suggested_type": types[name],
            "existing_type": present[found].type.value,
        }
        for name, found in matched.items()
        if found in present and present[found].type.value != types[name]
    ]
    key = [matched.get(name, name) for name in suggested.get("key", [])]
    return {
        "added": [name for name in names if name not in matched],
        "missing": [name for name in present if name not in matched.values()],
        "type_changes": type_changes,
        "matched_by_label": [
            {"property": name, "existing": found}
            for name, found in matched.items()
            if name != found
        ],
        "key": None
        if key == list(existing.key)
        else {"suggested": key, "existing": list(existing.key)},
    }
