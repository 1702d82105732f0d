"""Classes read from RDF: the OWL this package exports, OWL made elsewhere, and entity lists."""

from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Literal, get_args

from rdflib import OWL, RDF, RDFS, XSD, Graph, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.collection import Collection
from rdflib.term import Node

from spice_harvester.domain.errors import MalformedInput, ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.exchange import class_at
from spice_harvester.domain.ontology.rdf_terms import (
    IMPORT_BASE,
    READ_RANGE,
    SPICE,
    SPICE_NS,
    local_name,
    member_name,
)

RdfFormat = Literal["turtle", "xml", "json-ld"]
_FORMAT_NAMES: dict[str, str] = {"turtle": "Turtle", "xml": "RDF/XML", "json-ld": "JSON-LD"}
_MAX_REASON = 240
_TURTLE_REASON = re.compile(r"at line (\d+) of <[^>]*>: Bad syntax \((.*?)\) at \^ in:")
# Terms of these vocabularies are the language itself, never classes or fields of a schema.
_BUILT_IN = (str(RDF), str(RDFS), str(OWL), str(XSD), SPICE_NS)
# Restriction words that make a field required when their value is at least 1.
_AT_LEAST = (
    OWL.minCardinality,
    OWL.minQualifiedCardinality,
    OWL.cardinality,
    OWL.qualifiedCardinality,
)

Payload = dict[str, Any]
# Fields made elsewhere have no spice:order; they follow the ordered ones, by name.
_Placed = tuple[tuple[bool, int, str], Payload]
_Reader = Callable[[Graph, URIRef, bool], "_Placed | None"]


def import_rdf(text: str, format: RdfFormat, *, base_iri: str = IMPORT_BASE) -> list[ClassDef]:
    """The classes a Turtle, RDF/XML or JSON-LD document describes, in id order."""
    return classes_from_graph(parse_rdf(text, format, base_iri=base_iri))


def parse_rdf(text: str, format: RdfFormat, *, base_iri: str = IMPORT_BASE) -> Graph:
    """The document as a graph, or MalformedInput carrying the parser's (shortened) reason."""
    if format not in _FORMAT_NAMES:
        expected = ", ".join(get_args(RdfFormat))
        raise MalformedInput(f"format {format!r} is not one of {expected}", field="format")
    name = _FORMAT_NAMES[format]
    if format == "json-ld":
        _refuse_remote_contexts(text)
    graph = Graph()
    quiet = _quiet_jsonld_parser() if format == "json-ld" else nullcontext()
    try:
        with quiet:
            graph.parse(data=text, format=format, publicID=base_iri)
    except Exception as exc:  # each parser fails its own way; all of them mean unreadable input
        raise MalformedInput(f"not valid {name}: {_shortened(exc)}") from None
    return graph


def classes_from_graph(graph: Graph) -> list[ClassDef]:
    """Every class the graph declares (owl:Class or rdfs:Class), validated, in id order.

    Classes written without OWL, as entities with `properties` names and relationships as
    nodes with `from`, `to` and `type`, are read too: their properties are strings (nothing
    says more) and their relationships `n:1` (a `from` row names one `to`).
    """
    payloads = _owl_classes(graph)
    payloads.update(_entity_list_classes(graph, {str(p["id"]) for p in payloads.values()}))
    by_id: dict[str, Node] = {}
    for node, payload in payloads.items():
        class_id = str(payload["id"])
        if class_id in by_id:
            raise ValidationFailed(
                f"{class_id}: <{by_id[class_id]}> and <{node}> both name a class {class_id}",
                field=class_id,
            )
        by_id[class_id] = node
    ordered = sorted(payloads.values(), key=lambda p: str(p["id"]))
    return [class_at(payload, at=str(payload["id"])) for payload in ordered]


def _owl_classes(graph: Graph) -> dict[Node, Payload]:
    nodes = {
        node
        for kind in (OWL.Class, RDFS.Class)
        for node in graph.subjects(RDF.type, kind)
        if isinstance(node, URIRef) and not str(node).startswith(_BUILT_IN)
    }
    payloads: dict[Node, Payload] = {node: _class_payload(graph, node) for node in nodes}
    required = {
        (owner, graph.value(restriction, OWL.onProperty))
        for owner in nodes
        for restriction in graph.objects(owner, RDFS.subClassOf)
        if (restriction, RDF.type, OWL.Restriction) in graph and _at_least_one(graph, restriction)
    }
    readers: tuple[tuple[URIRef, str, _Reader], ...] = (
        (OWL.DatatypeProperty, "properties", _property),
        (OWL.ObjectProperty, "relationships", _relationship),
    )
    for kind, group, read in readers:
        placed: dict[Node, list[_Placed]] = defaultdict(list)
        for member in graph.subjects(RDF.type, kind):
            if not isinstance(member, URIRef):
                continue
            # Several domains mean the field belongs to each of those classes.
            for owner in graph.objects(member, RDFS.domain):
                if owner not in payloads:
                    continue
                found = read(graph, member, (owner, member) in required)
                if found is not None:
                    placed[owner].append(found)
        for owner, fields in placed.items():
            payloads[owner][group] = [field for _, field in sorted(fields, key=lambda f: f[0])]
    return payloads


def _class_payload(graph: Graph, node: URIRef) -> Payload:
    class_id = _id_of(graph, node)
    payload: Payload = {"id": class_id, "label": _text(graph, node, RDFS.label) or class_id}
    description = _text(graph, node, RDFS.comment)
    if description is not None:
        payload["description"] = description
    parents = sorted(
        str(o)
        for o in graph.objects(node, RDFS.subClassOf)
        if isinstance(o, URIRef) and o != OWL.Thing
    )
    if len(parents) > 1:
        raise ValidationFailed(
            f"{class_id}.parent_class: <{node}> has {len(parents)} parents "
            f"({', '.join(parents)}); a class has at most one",
            field=f"{class_id}.parent_class",
        )
    if parents:
        payload["parent_class"] = _id_of(graph, URIRef(parents[0]))
    payload["abstract"] = _flag(graph, node, SPICE.abstract)
    key = graph.value(node, SPICE.key)
    if key is not None:
        payload["key"] = _names(graph, key, f"{class_id}.key")
    return payload


def _property(graph: Graph, node: URIRef, required: bool) -> _Placed:
    name = _name_of(graph, node)
    named = graph.value(node, SPICE.type)
    range_ = graph.value(node, RDFS.range)
    read = READ_RANGE.get(range_) if isinstance(range_, URIRef) else None
    # An unknown or missing range still holds text: a string loses nothing.
    type_ = str(named) if named is not None else str(read or "string")
    payload: Payload = {"name": name, "type": type_, "required": required}
    payload["unique"] = _flag(graph, node, SPICE.unique)
    _add_texts(graph, node, payload)
    for key in ("default", "constraints"):
        value = graph.value(node, SPICE[key])
        if value is not None:
            payload[key] = _json(value, f"<{node}> spice:{key}")
    return _place(graph, node, name), payload


def _relationship(graph: Graph, node: URIRef, required: bool) -> _Placed | None:
    targets = [o for o in graph.objects(node, RDFS.range) if isinstance(o, URIRef)]
    if len(targets) != 1:
        return None  # a relationship needs exactly one target class
    predicate = _name_of(graph, node)
    payload: Payload = {"predicate": predicate, "target": _id_of(graph, targets[0])}
    payload["cardinality"] = _cardinality(graph, node)
    payload["required"] = required
    inverse = graph.value(node, OWL.inverseOf)
    if isinstance(inverse, URIRef):
        payload["inverse_predicate"] = _name_of(graph, inverse)
    _add_texts(graph, node, payload)
    return _place(graph, node, predicate), payload


def _cardinality(graph: Graph, node: URIRef) -> str:
    stated = graph.value(node, SPICE.cardinality)
    if stated is not None:
        return str(stated)
    # OWL made elsewhere says as much with functional (one target per source) and inverse
    # functional (one source per target).
    source = "1" if (node, RDF.type, OWL.InverseFunctionalProperty) in graph else "n"
    if (node, RDF.type, OWL.FunctionalProperty) in graph:
        return f"{source}:1"
    return "n:m" if source == "n" else "1:n"


def _place(graph: Graph, node: URIRef, name: str) -> tuple[bool, int, str]:
    order = graph.value(node, SPICE.order)
    position = order.toPython() if isinstance(order, RdfLiteral) else None
    if isinstance(position, int) and not isinstance(position, bool):
        return (False, position, name)
    return (True, 0, name)


def _at_least_one(graph: Graph, restriction: Node) -> bool:
    for word in _AT_LEAST:
        count = graph.value(restriction, word)
        if isinstance(count, RdfLiteral) and str(count).strip().isdigit() and int(count) >= 1:
            return True
    return False


def _entity_list_classes(graph: Graph, known: set[str]) -> dict[Node, Payload]:
    entities: dict[str, set[str]] = {}
    edges: dict[Node, dict[str, str]] = defaultdict(dict)
    for subject, predicate, value in graph:
        if str(predicate).startswith(_BUILT_IN):
            continue
        word = local_name(str(predicate))
        if word == "entities" and isinstance(value, URIRef):
            entities.setdefault(local_name(value), set())
        elif word == "properties" and isinstance(subject, URIRef):
            entities.setdefault(local_name(subject), set()).add(_word(value))
        elif word in ("from", "to", "type"):
            edges[subject][word] = _word(value)
    payloads: dict[str, Payload] = {
        class_id: {
            "id": class_id,
            "label": class_id,
            "properties": [{"name": name, "type": "string"} for name in sorted(names)],
            "relationships": [],
        }
        for class_id, names in entities.items()
        if class_id not in known
    }
    for edge in sorted(edges.values(), key=lambda e: sorted(e.items())):
        owner = payloads.get(edge.get("from", ""))
        if owner is None or "to" not in edge or "type" not in edge:
            continue
        relationship = {"predicate": edge["type"], "target": edge["to"], "cardinality": "n:1"}
        owner["relationships"].append(relationship)
    # Keyed like OWL classes, by an IRI, so that the caller can name both kinds alike.
    return {URIRef(f"{IMPORT_BASE}{class_id}"): p for class_id, p in payloads.items()}


def _word(value: Node) -> str:
    return local_name(value) if isinstance(value, URIRef) else str(value)


def _id_of(graph: Graph, node: URIRef) -> str:
    named = graph.value(node, SPICE.name)
    return str(named) if isinstance(named, RdfLiteral) else local_name(node)


def _name_of(graph: Graph, node: URIRef) -> str:
    named = graph.value(node, SPICE.name)
    return str(named) if isinstance(named, RdfLiteral) else member_name(node)


def _add_texts(graph: Graph, node: URIRef, payload: Payload) -> None:
    for key, predicate in (("label", RDFS.label), ("description", RDFS.comment)):
        text = _text(graph, node, predicate)
        if text is not None:
            payload[key] = text


def _text(graph: Graph, node: Node, predicate: URIRef) -> str | dict[str, str] | None:
    """Language-tagged literals as a map by tag; else the one plain literal."""
    literals = sorted(
        (o for o in graph.objects(node, predicate) if isinstance(o, RdfLiteral)),
        key=lambda o: (o.language or "", str(o)),
    )
    tagged: dict[str, str] = {}
    for literal in literals:
        if literal.language:
            tagged.setdefault(literal.language, str(literal))
    if tagged:
        return tagged
    return str(literals[0]) if literals else None


def _flag(graph: Graph, node: Node, predicate: URIRef) -> bool:
    value = graph.value(node, predicate)
    if not isinstance(value, RdfLiteral):
        return False
    python = value.toPython()
    return python if isinstance(python, bool) else str(value).strip().lower() in ("true", "1")


def _names(graph: Graph, node: Node, where: str) -> Any:
    if isinstance(node, RdfLiteral):
        return _json(node, where)  # a key written as a JSON list
    try:
        return [str(item) for item in Collection(graph, node)]
    except ValueError as exc:  # a list whose rdf:rest loops back
        raise MalformedInput(f"{where}: {exc}", field=where) from None


def _json(value: Node, where: str) -> Any:
    try:
        return json.loads(str(value))
    except json.JSONDecodeError as exc:
        raise MalformedInput(f"{where} is not JSON: {exc}", field=where) from None


def _refuse_remote_contexts(text: str) -> None:
    """JSON-LD may name contexts by URL, which the parser would fetch: a server must not."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past Python's limit
        raise MalformedInput(f"not valid JSON-LD: {_shortened(exc)}") from None
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            context = item.get("@context")
            listed = context if isinstance(context, list) else [context]
            if any(isinstance(c, str) for c in listed) or "@import" in item:
                raise MalformedInput(
                    "JSON-LD contexts given by URL are not loaded; put the context in the document"
                )
            stack.extend(item.values())


@contextmanager
def _quiet_jsonld_parser() -> Iterator[None]:
    # rdflib 7.6's JSON-LD parser builds a ConjunctiveGraph internally and so warns about its
    # own deprecated class (RDFLib/rdflib#3064): nothing a caller can change or act on.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="ConjunctiveGraph is deprecated", category=DeprecationWarning
        )
        yield


def _shortened(exc: Exception) -> str:
    reason = re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__
    # The Turtle parser appends the text around the error as Python bytes reprs; the line
    # number and the reason are what a person needs.
    turtle = _TURTLE_REASON.match(reason)
    if turtle:
        reason = f"line {turtle[1]}: {turtle[2]}"
    return reason if len(reason) <= _MAX_REASON else f"{reason[: _MAX_REASON - 1]}…"
