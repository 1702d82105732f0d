"""A folder of tables as an ontology plus instances: Funnel's `suggest_ontology` over every
table, the classes created targets first, then every table's rows.

Relationships whose targets form a cycle (a class pointing at itself, or A -> B -> A) cannot
all exist when their classes are created, nor can their links when the rows are: such a
relationship is left out of its class at first and added in a second pass (not required,
since the rows are written before it), and its column is written by a link pass after every
table's rows (`links.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spice_harvester.application.funnel.readers import ReadTable, read_folder_tables
from spice_harvester.application.funnel.suggest import suggest_ontology
from spice_harvester.application.imports.mapping import FieldTarget, ImportMapping
from spice_harvester.application.imports.plan import ImportPlan, SourceTable, profile_of
from spice_harvester.application.imports.rows import RowBuilder
from spice_harvester.domain.ontology.classes import ClassDef


@dataclass(frozen=True)
class TableLoad:
    """One table's rows for its class, and the relationship fields its link pass writes."""

    plan: ImportPlan
    deferred: ImportMapping | None = None

    @property
    def name(self) -> str:
        return self.plan.table.name

    @property
    def class_id(self) -> str:
        return self.plan.mapping.class_id

    @property
    def deferred_fields(self) -> tuple[str, ...]:
        return tuple(t.field for t in self.deferred.targets) if self.deferred else ()


@dataclass(frozen=True)
class FolderPlan:
    """Classes in the order they are created (without their deferred relationships), the
    relationships added afterwards, and the tables in the order they are loaded."""

    classes: list[dict[str, Any]]
    later: dict[str, list[dict[str, Any]]]
    tables: list[TableLoad]
    suggestion: dict[str, Any] = field(default_factory=dict)

    def full_class(self, class_id: str) -> dict[str, Any]:
        """A class with its deferred relationships put back."""
        base = next(c for c in self.classes if c["id"] == class_id)
        added = self.later.get(class_id, [])
        return {**base, "relationships": [*base.get("relationships", []), *added]}

    def describe(self) -> dict[str, Any]:
        return {
            "classes": [
                {
                    "id": c["id"],
                    "key": c.get("key", []),
                    "relationships": [
                        f"{r['predicate']} -> {r['target']}" for r in c.get("relationships", [])
                    ],
                    "later": [
                        f"{r['predicate']} -> {r['target']}" for r in self.later.get(c["id"], [])
                    ],
                }
                for c in self.classes
            ],
            "tables": [
                {"table": t.name, "class_id": t.class_id, "rows": t.plan.total} for t in self.tables
            ],
            "report": self.suggestion.get("report", {}),
        }


def folder_identity(folder: Path, db: str, branch: str) -> str:
    """The id a folder import's commands derive from: its files' names and contents, and
    where they go."""
    digest = hashlib.sha256(f"{db}\n{branch}\n".encode())
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        digest.update(file.name.encode() + b"\n")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return f"folder-{digest.hexdigest()[:40]}"


def plan_folder(folder: Path) -> FolderPlan:
    return plan_tables(read_folder_tables(folder))


def plan_tables(tables: Sequence[ReadTable]) -> FolderPlan:
    suggestion = suggest_ontology({t.name: t.frame for t in tables})
    classes = {c["id"]: c for c in suggestion["classes"]}
    order, later = creation_order(list(classes.values()))
    by_class = {m["class"]: name for name, m in suggestion["mappings"].items()}
    sources = {t.name: SourceTable.of(t) for t in tables}
    loads = []
    for class_def in order:
        name = by_class[class_def["id"]]
        full = classes[class_def["id"]]
        columns = suggestion["mappings"][name]["columns"]
        loads.append(_load(sources[name], full, columns, later.get(class_def["id"], [])))
    return FolderPlan(order, later, loads, suggestion)


def creation_order(
    classes: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Classes with every relationship target created before them. When none is ready (a
    cycle), the first class left goes next without its relationships to classes not yet
    created; a relationship to the class itself always waits. Those wait in `later`."""
    remaining = list(classes)
    created: set[str] = set()
    order: list[dict[str, Any]] = []
    later: dict[str, list[dict[str, Any]]] = {}
    while remaining:
        ready = next((c for c in remaining if _targets(c) - {c["id"]} <= created), None)
        chosen = ready or remaining[0]
        remaining.remove(chosen)
        kept: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []
        for rel in chosen.get("relationships", []):
            (kept if rel["target"] in created else waiting).append(rel)
        if waiting:
            later[chosen["id"]] = [{**rel, "required": False} for rel in waiting]
        order.append({**chosen, "relationships": kept} if waiting else chosen)
        created.add(chosen["id"])
    return order, later


def _targets(class_def: Mapping[str, Any]) -> set[str]:
    return {rel["target"] for rel in class_def.get("relationships", [])}


def _load(
    source: SourceTable,
    class_def: dict[str, Any],
    columns: Mapping[str, Mapping[str, str]],
    later: list[dict[str, Any]],
) -> TableLoad:
    """The table's mapping from the suggestion (a key column that is also a link fills both
    its property and its relationship), with the deferred relationships split off."""
    definition = ClassDef.from_api(class_def)
    targets: list[FieldTarget] = []
    for column, filled in columns.items():
        prop = definition.property(filled.get("property", ""))
        if prop is not None:
            targets.append(FieldTarget(column, prop.name, "property", prop.type))
        rel = definition.relationship(filled.get("relationship", ""))
        if rel is not None:
            many = rel.cardinality in ("1:n", "n:m")
            targets.append(FieldTarget(column, rel.predicate, "relationship", many=many))
    mapping = ImportMapping(definition.id, tuple(targets))
    profile = profile_of(source.frame, every_row=True)
    waiting = [rel["predicate"] for rel in later]
    rows = mapping.without(waiting)
    plan = ImportPlan(source, rows, RowBuilder(rows, profile, source.first_row))
    deferred = mapping.only(waiting) if waiting else None
    return TableLoad(plan, deferred)
