"""Queries phrased in labels made into OMS's id-based queries, and OMS's answers given labels.

The caller resolves the class a query is about (`Bff.class_of`). Field labels follow the rules
of `labels.py`: a label naming several fields is 400 here; one naming none is sent as it came,
so that OMS refuses it naming where it was (`filters[2].field`, 422). Graph hops are planned
here with the same planner OMS uses (`domain/query/traversal.py`), a predicate label looked up
among the relationships of the class the hop leaves (out) or of its target class (in), and
sent to OMS as ids with the direction decided, so both sides agree on what a hop means.
Answers keep OMS's ids and gain `class_label` and `labels` ({class id: {field id: label}}).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spice_harvester.application.labels import LabelIndex, Lookup
from spice_harvester.domain.query.traversal import HopRequest, Resolver, plan_hops


def field_id(index: LabelIndex, class_id: str, text: Any, where: str) -> Any:
    """The field `text` names in the class, or `text` as sent (for OMS to refuse)."""
    labels = index.by_id.get(class_id)
    if labels is None or not isinstance(text, str):
        return text
    return labels.fields.find(text, field=where) or text


def class_id_or_text(index: LabelIndex, text: Any, where: str) -> Any:
    if not isinstance(text, str):
        return text
    return index.classes.find(text, field=where) or text


def _filters(index: LabelIndex, class_id: str, filters: Any, where: str) -> Any:
    if not isinstance(filters, list):
        return filters
    return [
        {**f, "field": field_id(index, class_id, f.get("field"), f"{where}[{i}].field")}
        if isinstance(f, Mapping)
        else f
        for i, f in enumerate(filters)
    ]


def _select(index: LabelIndex, class_id: str, select: Any, where: str) -> Any:
    if not isinstance(select, list):
        return select
    return [field_id(index, class_id, name, f"{where}[{i}]") for i, name in enumerate(select)]


def query_to_ids(index: LabelIndex, class_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A structured query's body for OMS: the class as an id, field labels as ids."""
    out = {k: v for k, v in body.items() if k != "class_label"}
    out["class_id"] = class_id
    out["filters"] = _filters(index, class_id, body.get("filters", []), "filters")
    out["select"] = _select(index, class_id, body.get("select"), "select")
    out["order_by"] = field_id(index, class_id, body.get("order_by"), "order_by")
    return out


def relationship_labels(index: LabelIndex) -> Resolver:
    """Predicates named by id or label, among a class's relationships only (a property that
    shares a relationship's label does not make the hop ambiguous)."""
    lookups: dict[str, Lookup] = {}

    def resolve(class_id: str, text: str, where: str) -> str | None:
        labels = index.by_id.get(class_id)
        if labels is None:
            return None
        if class_id not in lookups:
            relationships = [n for n in labels.fields.items.values() if n.kind == "relationship"]
            lookups[class_id] = Lookup("relationship", "relationships", relationships)
        return lookups[class_id].find(text, field=where)

    return resolve


def graph_to_ids(index: LabelIndex, start_class: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A graph query's body for OMS: classes and predicates as ids, each hop's direction
    decided, each hop's filter and select fields named in the class the hop reaches."""
    hops: Sequence[Mapping[str, Any]] = body.get("hops") or []
    asked = [
        HopRequest(
            str(hop.get("predicate")),
            class_id_or_text(index, hop.get("target_class"), f"hops[{i}].target_class"),
            hop.get("direction"),
        )
        for i, hop in enumerate(hops)
    ]
    plan = plan_hops(index.schema, start_class, asked, relationship_labels(index))
    out = dict(body)
    out["start_class"] = start_class
    out["filters"] = _filters(index, start_class, body.get("filters", []), "filters")
    out["select"] = _select(index, start_class, body.get("select"), "select")
    out["hops"] = [
        {
            **hop,
            "predicate": step.predicate,
            "target_class": step.target_class,
            "direction": step.direction,
            "filters": _filters(
                index, step.target_class, hop.get("filters", []), f"hops[{i}].filters"
            ),
            "select": _select(index, step.target_class, hop.get("select"), f"hops[{i}].select"),
        }
        for i, (hop, step) in enumerate(zip(hops, plan, strict=True))
    ]
    return out


# -- answers ------------------------------------------------------------------------------


def _class_label(index: LabelIndex, class_id: Any, languages: Sequence[str]) -> str | None:
    if not isinstance(class_id, str) or class_id not in index.by_id:
        return None
    return index.class_label(class_id, languages)


def _field_labels(
    index: LabelIndex, class_ids: Sequence[Any], languages: Sequence[str]
) -> dict[str, dict[str, str]]:
    return {
        c: index.field_labels(c, languages)
        for c in dict.fromkeys(class_ids)
        if isinstance(c, str) and c in index.by_id
    }


def labelled_query(
    data: Mapping[str, Any], index: LabelIndex, class_id: str, languages: Sequence[str]
) -> dict[str, Any]:
    instances = [
        {**item, "class_label": _class_label(index, item.get("class_id"), languages)}
        for item in data.get("instances", [])
    ]
    classes = [class_id, *(item.get("class_id") for item in instances)]
    return {
        **data,
        "instances": instances,
        "class_label": _class_label(index, class_id, languages),
        "labels": _field_labels(index, classes, languages),
    }


def labelled_graph(
    data: Mapping[str, Any], index: LabelIndex, languages: Sequence[str]
) -> dict[str, Any]:
    nodes = [
        {**node, "class_label": _class_label(index, node.get("class_id"), languages)}
        for node in data.get("nodes", [])
    ]
    labels = _field_labels(index, [n.get("class_id") for n in nodes], languages)
    edges = [
        {
            **edge,
            "predicate_label": labels.get(edge.get("from_class", ""), {}).get(
                edge.get("predicate", ""), edge.get("predicate")
            ),
        }
        for edge in data.get("edges", [])
    ]
    return {**data, "nodes": nodes, "edges": edges, "labels": labels}


def labelled_search(
    data: Mapping[str, Any], index: LabelIndex, languages: Sequence[str]
) -> dict[str, Any]:
    hits = [
        {**hit, "class_label": _class_label(index, hit.get("class_id"), languages)}
        for hit in data.get("hits", [])
    ]
    labels = _field_labels(index, [hit.get("class_id") for hit in hits], languages)
    return {**data, "hits": hits, "labels": labels}
