"""Classes as an OWL ontology: export to Turtle, RDF/XML and JSON-LD, and import them back."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.exchange import distinct_by_id
from spice_harvester.domain.ontology.rdf_import import RdfFormat, classes_from_graph, import_rdf
from spice_harvester.domain.ontology.rdf_terms import (
    EXACT_RANGE,
    IMPORT_BASE,
    SPICE,
    SPICE_NS,
    class_iri,
    json_literal,
    member_iri,
    normal_base,
    range_of,
)

__all__ = [
    "IMPORT_BASE",
    "SPICE_NS",
    "RdfFormat",
    "classes_from_graph",
    "export_jsonld",
    "export_rdfxml",
    "export_turtle",
    "import_rdf",
    "to_graph",
]

_TRUE = Literal(True)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def to_graph(classes: Iterable[ClassDef], *, base_iri: str) -> Graph:
    """An OWL graph of the classes; class IRIs are `base_iri + id`, members `base_iri + Class.name`.

    Everything OWL has no word for (exact types, constraints, defaults, keys, cardinalities,
    member order) is kept in `spice:` annotations, so that `classes_from_graph` gives the
    classes back unchanged.
    """
    base = normal_base(base_iri)
    # SimpleMemory keeps triples in insertion order (the default store iterates a set), so
    # that with content-named blank nodes one schema always exports to the same text.
    graph = Graph(store="SimpleMemory", bind_namespaces="core")
    graph.bind("spice", SPICE)
    graph.bind("", base)
    for c in distinct_by_id(classes):
        _add_class(graph, base, c.to_api())
    return graph


def export_turtle(classes: Iterable[ClassDef], *, base_iri: str) -> str:
    return to_graph(classes, base_iri=base_iri).serialize(format="turtle")


def export_rdfxml(classes: Iterable[ClassDef], *, base_iri: str) -> str:
    """RDF/XML; refused (ValidationFailed) for text XML 1.0 cannot hold, such as U+0001."""
    graph = to_graph(classes, base_iri=base_iri)
    for subject, predicate, value in graph:
        bad = _NOT_XML.search(value) if isinstance(value, Literal) else None
        if bad:
            # The writer would emit it as is and produce a document no parser accepts.
            raise ValidationFailed(
                f"<{subject}> {graph.qname(str(predicate))} holds U+{ord(bad.group()):04X}, which "
                "XML 1.0 cannot carry; export as Turtle or JSON-LD instead",
                field="format",
            )
    return graph.serialize(format="xml")


def export_jsonld(classes: Iterable[ClassDef], *, base_iri: str) -> dict[str, Any]:
    """Compact JSON-LD: prefixes for owl, rdf, rdfs, xsd and spice; ids relative to `@base`."""
    base = normal_base(base_iri)
    graph = to_graph(classes, base_iri=base)
    context = {"owl": str(OWL), "rdf": str(RDF), "rdfs": str(RDFS), "xsd": str(XSD)}
    context["spice"] = SPICE_NS
    document: dict[str, Any] = json.loads(graph.serialize(format="json-ld", context=context))
    # rdflib shortens ids against @base only down to a host-relative path; done here instead,
    # so that the class Product is "@id": "Product".
    document = _relative_ids(document, base)
    if isinstance(document.get("@graph"), list):
        # rdflib lists nodes in set order, which changes with the process's hash seed.
        document["@graph"].sort(key=lambda node: str(node.get("@id", "")))
    document["@context"] = {"@base": base, **context}
    return document


def _add_class(graph: Graph, base: str, c: Mapping[str, Any]) -> None:
    node = class_iri(base, c["id"])
    graph.add((node, RDF.type, OWL.Class))
    graph.add((node, SPICE.name, Literal(c["id"])))
    _add_text(graph, node, RDFS.label, c["label"])
    _add_text(graph, node, RDFS.comment, c.get("description"))
    if c.get("parent_class"):
        graph.add((node, RDFS.subClassOf, class_iri(base, c["parent_class"])))
    if c.get("abstract"):
        graph.add((node, SPICE.abstract, _TRUE))
    if c.get("key"):
        # An rdf:List, since a composite key's order decides the instance ids.
        cells = [_blank("key", node, *c["key"], str(i)) for i in range(len(c["key"]))]
        for cell, name, rest in zip(cells, c["key"], [*cells[1:], RDF.nil], strict=True):
            graph.add((cell, RDF.first, Literal(name)))
            graph.add((cell, RDF.rest, rest))
        graph.add((node, SPICE.key, cells[0]))
    for index, p in enumerate(c.get("properties", ())):
        _add_property(graph, base, node, c["id"], index, p)
    for index, r in enumerate(c.get("relationships", ())):
        _add_relationship(graph, base, node, c["id"], index, r)


def _add_member(
    graph: Graph, node: URIRef, kind: URIRef, owner: URIRef, index: int, m: Mapping[str, Any]
) -> None:
    graph.add((node, RDF.type, kind))
    graph.add((node, RDFS.domain, owner))
    # RDF has no order; the position keeps a class's fields in the order the client gave.
    graph.add((node, SPICE.order, Literal(index)))
    _add_text(graph, node, RDFS.label, m.get("label"))
    _add_text(graph, node, RDFS.comment, m.get("description"))
    if m.get("required"):
        # OWL's own way to say "every instance has one": a restriction on the owning class.
        restriction = _blank("required", owner, node)
        graph.add((owner, RDFS.subClassOf, restriction))
        graph.add((restriction, RDF.type, OWL.Restriction))
        graph.add((restriction, OWL.onProperty, node))
        graph.add((restriction, OWL.minCardinality, Literal(1, datatype=XSD.nonNegativeInteger)))


def _add_property(
    graph: Graph, base: str, owner: URIRef, class_id: str, index: int, p: Mapping[str, Any]
) -> None:
    node = member_iri(base, class_id, p["name"])
    _add_member(graph, node, OWL.DatatypeProperty, owner, index, p)
    graph.add((node, SPICE.name, Literal(p["name"])))
    graph.add((node, RDFS.range, range_of(p["type"])))
    if p["type"] not in EXACT_RANGE:
        graph.add((node, SPICE.type, Literal(p["type"])))
    if p.get("unique"):
        graph.add((node, SPICE.unique, _TRUE))
    if "default" in p:
        graph.add((node, SPICE.default, json_literal(p["default"])))
    if "constraints" in p:
        graph.add((node, SPICE.constraints, json_literal(p["constraints"])))


def _add_relationship(
    graph: Graph, base: str, owner: URIRef, class_id: str, index: int, r: Mapping[str, Any]
) -> None:
    node = member_iri(base, class_id, r["predicate"])
    _add_member(graph, node, OWL.ObjectProperty, owner, index, r)
    graph.add((node, SPICE.name, Literal(r["predicate"])))
    graph.add((node, RDFS.range, class_iri(base, r["target"])))
    cardinality: str = r["cardinality"]
    graph.add((node, SPICE.cardinality, Literal(cardinality)))
    # The OWL reading of the cardinality, for tools that know nothing of spice:cardinality.
    if cardinality.endswith(":1"):
        graph.add((node, RDF.type, OWL.FunctionalProperty))
    if cardinality.startswith("1:"):
        graph.add((node, RDF.type, OWL.InverseFunctionalProperty))
    if r.get("inverse_predicate"):
        inverse = member_iri(base, r["target"], r["inverse_predicate"])
        graph.add((node, OWL.inverseOf, inverse))


def _blank(*parts: str) -> BNode:
    """A blank node labelled by what it stands for: one schema always gives the same graph,
    and two graphs merged share a label only where they say the same thing."""
    return BNode(f"b{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:32]}")


def _add_text(graph: Graph, node: URIRef, predicate: URIRef, text: object) -> None:
    if isinstance(text, str):
        graph.add((node, predicate, Literal(text)))
    elif isinstance(text, Mapping):
        for tag, value in text.items():
            graph.add((node, predicate, Literal(value, lang=tag)))


def _relative_ids(value: Any, base: str) -> Any:
    if isinstance(value, list):
        return [_relative_ids(item, base) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _relative_ids(item, base) for key, item in value.items()}
    found = out.get("@id")
    if isinstance(found, str) and found.startswith(base) and found != base:
        out["@id"] = _relative(found[len(base) :], base)
    return out


def _relative(rest: str, base: str) -> str:
    """`rest` as a reference that resolves against `base` to `base + rest`, where one does."""
    # "#Product" against ".../ns#" keeps the document and swaps the fragment; "Product" against
    # ".../db/" is merged into the path. Other bases (a query, "urn:x:") keep full IRIs.
    if base.endswith("#") and base.count("#") == 1 and "?" not in base:
        return f"#{rest}"
    if base.endswith("/") and "#" not in base and "?" not in base:
        return rest
    return base + rest
