"""Suggesting classes: one table's profile as an OMS class, and several tables as an
ontology whose relationships come from foreign-key evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from spice_harvester.application.funnel.profiling import profile_table
from spice_harvester.domain.inference.model import ColumnProfile, TableProfile
from spice_harvester.domain.inference.naming import class_id, own_identifier, property_name
from spice_harvester.domain.inference.relationships import (
    WORTH_REPORTING,
    Containment,
    Link,
    best,
    cardinality,
    name_agreement,
    plausible,
    polymorphic,
    predicate_for,
)
from spice_harvester.domain.ontology.classes import CLASS_ID_PATTERN
from spice_harvester.domain.ontology.types import ValueType

T = ValueType
_LINKABLE = frozenset({T.STRING, T.ENUM, T.INTEGER, T.UUID})


def suggest_schema(profile: TableProfile, class_name: str) -> dict[str, Any]:
    """An OMS class for a profiled table: a property per column and the detected key.

    Column names that are not valid property names become ones (`E-Mail` -> `E_Mail`)
    and keep the column name as their label.
    """
    identifier = class_name if re.match(CLASS_ID_PATTERN, class_name) else class_id(class_name)
    names = property_names(profile)
    key = list(profile.key.columns) if profile.key else []
    properties = [_property(column, names[column.column_name], key) for column in profile.columns]
    suggested: dict[str, Any] = {"id": identifier, "label": class_name, "properties": properties}
    if key:
        suggested["key"] = [names[column] for column in key]
    return suggested


def property_names(profile: TableProfile) -> dict[str, str]:
    """The property name each column gets in `suggest_schema`."""
    taken: set[str] = set()
    return {
        column.column_name: property_name(column.column_name, index, taken)
        for index, column in enumerate(profile.columns)
    }


def _property(column: ColumnProfile, name: str, key: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "type": column.inferred_type.type.value,
        "required": column.required or column.column_name in key,
        "unique": column.unique,
    }
    if name != column.column_name:
        entry["label"] = column.column_name
    if column.suggested_constraints:
        entry["constraints"] = dict(column.suggested_constraints)
    return entry


@dataclass(frozen=True)
class _Table:
    name: str
    class_id: str
    profile: TableProfile
    frame: pl.DataFrame

    def values(self, column: str) -> pl.Series:
        """The distinct present values of a column, trimmed."""
        return self.frame[column].cast(pl.String).str.strip_chars().drop_nulls().unique()

    def single_key(self) -> str | None:
        key = self.profile.key
        return key.columns[0] if key is not None and len(key.columns) == 1 else None


def suggest_ontology(tables: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """Classes for several tables (name -> frame of strings), linked by foreign keys.

    Returns `classes` (OMS classes), `relationships` (each link with its evidence),
    `mappings` (per table: its class and, per column, the property or relationship it
    fills) and `report` (keys with their evidence, and columns that look like links but
    are not, such as ones pointing at several tables).
    """
    profiled = _profiled(tables)
    links, unlinked = _links(profiled)
    classes = []
    mappings: dict[str, Any] = {}
    for table in profiled:
        own = [link for link in links if link.table == table.name]
        suggested, columns = _class_with_links(table, own, profiled)
        classes.append(suggested)
        mappings[table.name] = {"class": table.class_id, "columns": columns}
    return {
        "classes": classes,
        "relationships": [_link_json(link, profiled) for link in links],
        "mappings": mappings,
        "report": {"tables": _table_report(profiled), "unlinked": unlinked},
    }


def _profiled(tables: dict[str, pl.DataFrame]) -> list[_Table]:
    profiled: list[_Table] = []
    used: set[str] = set()
    for index, (name, frame) in enumerate(tables.items()):
        identifier = class_id(name, fallback=f"Table{index + 1}")
        while identifier in used:
            identifier = f"{identifier}_{index + 1}"
        used.add(identifier)
        profiled.append(_Table(name, identifier, profile_table(frame, table_name=name), frame))
    return profiled


def _links(profiled: list[_Table]) -> tuple[list[Link], list[dict[str, Any]]]:
    targets = {t.name: (t, key, t.values(key)) for t in profiled if (key := t.single_key())}
    links: list[Link] = []
    unlinked: list[dict[str, Any]] = []
    for table in profiled:
        own_key = table.single_key()
        for column in table.profile.columns:
            if column.inferred_type.type not in _LINKABLE or column.unique_count == 0:
                continue
            if own_key == column.column_name and own_identifier(own_key, table.name):
                continue  # a table's own identifier points at nothing
            found = _containments(table, column, targets)
            chosen = [
                c for c in found if plausible(c, targets[c.target_table][2].dtype.is_numeric())
            ]
            if chosen:
                links.append(_link(table, column, best(chosen)))
            else:
                unlinked.extend(_unlinked(table, column, found))
    return links, unlinked


def _containments(
    table: _Table, column: ColumnProfile, targets: dict[str, tuple[_Table, str, pl.Series]]
) -> list[Containment]:
    values = table.values(column.column_name)
    found = []
    for target, key, keys in targets.values():
        if target.name == table.name and key == column.column_name:
            continue
        if not _comparable(column, target.profile.column(key)):
            continue
        ratio = int(values.is_in(keys.implode()).sum()) / values.len()
        if ratio == 0:
            continue
        ours = column.suggested_constraints.get("pattern")
        theirs = target.profile.column(key).suggested_constraints.get("pattern")
        found.append(
            Containment(
                table=table.name,
                column=column.column_name,
                target_table=target.name,
                target_key=key,
                ratio=ratio,
                name_score=name_agreement(column.column_name, target.name, key),
                same_shape=ours is not None and ours == theirs,
            )
        )
    return found


def _comparable(column: ColumnProfile, key: ColumnProfile) -> bool:
    textual = {T.STRING, T.ENUM}
    ours, theirs = column.inferred_type.type, key.inferred_type.type
    return ours == theirs or (ours in textual and theirs in textual)


def _link(table: _Table, column: ColumnProfile, found: Containment) -> Link:
    present = column.row_count - column.null_count
    repeats = column.unique_count < present
    target = found.target_table
    evidence = (
        f"all {column.unique_count:,} distinct values of {table.name}.{column.column_name} are "
        f"{target}.{found.target_key} values"
        + (
            f"; the names agree (score {found.name_score})"
            if found.name_score
            else "; both follow the same code pattern"
        )
        + ("; values repeat, so many rows share one target" if repeats else "; values are unique")
    )
    return Link(
        table=table.name,
        column=column.column_name,
        target_table=target,
        target_key=found.target_key,
        predicate=predicate_for(column.column_name, target, found.target_key),
        cardinality=cardinality(repeats),
        required=column.null_count == 0,
        containment=found.ratio,
        evidence=evidence,
    )


def _unlinked(
    table: _Table, column: ColumnProfile, found: list[Containment]
) -> list[dict[str, Any]]:
    spread = polymorphic(found)
    if spread:
        shares = ", ".join(f"{c.target_table} {c.ratio:.0%}" for c in spread)
        return [
            {
                "table": table.name,
                "column": column.column_name,
                "kind": "polymorphic",
                "targets": [
                    {"table": c.target_table, "containment": round(c.ratio, 4)} for c in spread
                ],
                "message": f"values point at several tables ({shares}); no single target",
            }
        ]
    return [
        {
            "table": table.name,
            "column": column.column_name,
            "kind": "partial" if c.ratio < 1 else "unsupported",
            "targets": [{"table": c.target_table, "containment": round(c.ratio, 4)}],
            "message": (
                f"{c.ratio:.1%} of the values are {c.target_table}.{c.target_key} values"
                if c.ratio < 1
                else f"every value is a {c.target_table}.{c.target_key} value, but neither the "
                "names nor a code pattern back a link"
            ),
        }
        for c in found
        if c.ratio >= WORTH_REPORTING and (c.ratio < 1 or c.name_score == 0)
    ]


def _class_with_links(
    table: _Table, links: list[Link], profiled: list[_Table]
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    suggested = suggest_schema(table.profile, table.class_id)
    names = property_names(table.profile)
    key = set(table.profile.key.columns) if table.profile.key else set()
    by_column = {link.column: link for link in links}
    properties = []
    columns: dict[str, dict[str, str]] = {}
    taken = {p["name"] for p in suggested["properties"]}
    relationships = []
    for prop in suggested["properties"]:
        column = next(c for c, n in names.items() if n == prop["name"])
        link = by_column.get(column)
        mapping = {"property": prop["name"]}
        if link is None or column in key:
            properties.append(prop)
        else:
            taken.discard(prop["name"])
            mapping = {}
        if link is not None:
            predicate = _free_name(link.predicate, taken)
            relationships.append(
                {
                    "predicate": predicate,
                    "target": _class_of(link.target_table, profiled),
                    "cardinality": link.cardinality,
                    "required": link.required,
                }
            )
            mapping["relationship"] = predicate
        columns[column] = mapping
    suggested["properties"] = properties
    if relationships:
        suggested["relationships"] = relationships
    return suggested, columns


def _free_name(name: str, taken: set[str]) -> str:
    cleaned = property_name(name, 0, set())
    chosen, counter = cleaned, 2
    while chosen in taken:
        chosen, counter = f"{cleaned}_{counter}", counter + 1
    taken.add(chosen)
    return chosen


def _class_of(table: str, profiled: list[_Table]) -> str:
    return next(t.class_id for t in profiled if t.name == table)


def _link_json(link: Link, profiled: list[_Table]) -> dict[str, Any]:
    return {
        "source": _class_of(link.table, profiled),
        "table": link.table,
        "column": link.column,
        "predicate": link.predicate,
        "target": _class_of(link.target_table, profiled),
        "target_key": link.target_key,
        "cardinality": link.cardinality,
        "containment": round(link.containment, 4),
        "evidence": link.evidence,
    }


def _table_report(profiled: list[_Table]) -> dict[str, Any]:
    report = {}
    for table in profiled:
        key = table.profile.key
        report[table.name] = {
            "class": table.class_id,
            "rows": table.profile.row_count,
            "key": list(key.columns) if key else [],
            "key_evidence": key.evidence if key else "no unique column or combination found",
        }
    return report
