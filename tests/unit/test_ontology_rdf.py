"""Whole-schema exchange: the JSON document, OWL in Turtle, RDF/XML and JSON-LD, and imports."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, URIRef

from spice_harvester.domain.errors import MalformedInput, ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.exchange import classes_from_document, schema_document
from spice_harvester.domain.ontology.rdf import (
    SPICE_NS,
    RdfFormat,
    classes_from_graph,
    export_jsonld,
    export_rdfxml,
    export_turtle,
    import_rdf,
    to_graph,
)
from spice_harvester.domain.ontology.types import ValueType
from tests import sample_data

BASE = "https://example.org/db/shop/"
THREE_PL = sample_data.THREE_PL / "ontology.jsonld"


def spice(term: str) -> URIRef:
    return URIRef(f"{SPICE_NS}{term}")


def prop(name: str, type_: str = "string", **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **fields}


def rel(predicate: str, target: str, cardinality: str, **fields: Any) -> dict[str, Any]:
    return {"predicate": predicate, "target": target, "cardinality": cardinality, **fields}


# One property of every type, with the constraints and defaults each type can carry.
EVERY_TYPE = [
    prop("code", constraints={"min_length": 2, "max_length": 8, "pattern": "[A-Z]+"}, default="AB"),
    prop("notes", "text", constraints={"max_length": 5000}, label={"ko": "메모", "ja": "メモ"}),
    prop("count", "integer", constraints={"min": 0, "max": 10}, default=3, required=True),
    prop("price", "decimal", constraints={"precision": 10, "scale": 2, "min": 0}, default="12.50"),
    prop("ratio", "float", constraints={"min": -1.5, "max": 1.5}, default=0.25),
    prop("active", "boolean", default=True),
    prop("born", "date", constraints={"min": "1900-01-01", "max": "2100-12-31"}),
    prop("seen_at", "datetime", constraints={"min": "2020-01-01T00:00:00+09:00"}),
    prop("opens", "time", constraints={"min": "08:00:00"}, default="09:30:00"),
    prop("mail", "email", unique=True, constraints={"pattern": ".+@example[.]org"}),
    prop("phone", "phone", constraints={"region": "KR"}),
    prop("home", "url", description="the homepage"),
    prop("ref", "uuid", unique=True),
    prop("host", "ip"),
    prop("budget", "money", constraints={"currency": "KRW", "min": 0}, default="₩12,000"),
    prop("where", "coordinate", default="37.56,126.97"),
    prop("size", "enum", constraints={"values": ["S", "M", "L"]}, default="M"),
    prop("tags", "array", constraints={"item_type": "string", "items": {"max_length": 20}}),
    prop(
        "grid",
        "array",
        constraints={"item_type": "array", "items": {"item_type": "integer"}, "min_length": 1},
        default=[[1, 2], [3]],
    ),
    prop("extra", "object", default={"nested": {"a": [1, "두"]}}),
]


def shop() -> list[ClassDef]:
    """Inheritance, an abstract root, a composite key, inverses and every cardinality."""
    payloads: list[dict[str, Any]] = [
        {
            "id": "Party",
            "label": {"en": "Party", "ko": "당사자", "ja": "当事者"},
            "description": {"en": "Someone who buys or sells", "ko": "사고파는 사람"},
            "abstract": True,
            "properties": [prop("name", required=True, label="이름 🙂")],
        },
        {
            "id": "Customer",
            "label": {"ko": "고객", "ja": "顧客", "en": "Customer", "zh-Hant": "客戶"},
            "parent_class": "Party",
            "key": ["region", "number"],
            "properties": [
                prop("number", "integer", required=True),
                prop("region", required=True),
                prop("name", label={"ja": "氏名"}),
            ],
            "relationships": [
                rel("orders", "Order", "1:n", inverse_predicate="customer"),
                rel("profile", "Profile", "1:1", inverse_predicate="owner", required=True),
                rel("friends", "Customer", "n:m", inverse_predicate="friends"),
                rel("referrer", "Customer", "n:1", label={"ko": "추천인"}),
            ],
        },
        {
            "id": "Order",
            "label": "주문",
            "description": "",
            "key": ["code"],
            "properties": EVERY_TYPE,
            "relationships": [
                rel("customer", "Customer", "n:1", inverse_predicate="orders", required=True),
                rel("products", "Product", "n:m", inverse_predicate="orders"),
            ],
        },
        {
            "id": "Product",
            "label": {"ja": "商品"},
            "properties": [prop("name", label="品名")],
            "relationships": [rel("orders", "Order", "n:m", inverse_predicate="products")],
        },
        {
            "id": "Profile",
            "label": "Profile",
            "relationships": [rel("owner", "Customer", "1:1", inverse_predicate="profile")],
        },
    ]
    return [ClassDef.from_api(p) for p in payloads]


def api(classes: list[ClassDef]) -> list[dict[str, Any]]:
    return [c.to_api() for c in sorted(classes, key=lambda c: c.id)]


def exported(classes: list[ClassDef], format: RdfFormat) -> str:
    if format == "turtle":
        return export_turtle(classes, base_iri=BASE)
    if format == "xml":
        return export_rdfxml(classes, base_iri=BASE)
    return json.dumps(export_jsonld(classes, base_iri=BASE), ensure_ascii=False)


# The JSON document


def test_the_json_document_round_trips_with_classes_in_id_order() -> None:
    classes = shop()
    doc = schema_document(reversed(classes), database="shop")
    assert (doc["format"], doc["version"], doc["database"]) == ("spice-schema", 1, "shop")
    assert [c["id"] for c in doc["classes"]] == ["Customer", "Order", "Party", "Product", "Profile"]
    read = classes_from_document(json.loads(json.dumps(doc, ensure_ascii=False)))
    assert api(read) == api(classes)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ([], None),
        ({"format": "other", "version": 1, "classes": []}, "format"),
        ({"format": "spice-schema", "version": 2, "classes": []}, "version"),
        ({"format": "spice-schema", "version": True, "classes": []}, "version"),
        ({"format": "spice-schema", "version": 1, "classes": {}}, "classes"),
        ({"format": "spice-schema", "version": 1, "database": 3, "classes": []}, "database"),
    ],
)
def test_a_document_that_is_no_schema_document_is_malformed(doc: object, field: str) -> None:
    with pytest.raises(MalformedInput) as caught:
        classes_from_document(doc)
    assert caught.value.field == field


def test_a_bad_class_in_a_document_is_refused_at_its_path() -> None:
    good = {"id": "A", "label": "A"}
    bad = {"id": "B", "label": "B", "properties": [prop("x"), prop("y", "colour")]}
    doc = {"format": "spice-schema", "version": 1, "classes": [good, bad]}
    with pytest.raises(ValidationFailed) as caught:
        classes_from_document(doc)
    assert caught.value.field == "classes[1].properties[1].type"
    assert caught.value.message.startswith("classes[1].properties[1].type")
    assert "colour" in caught.value.message


def test_two_classes_with_one_id_in_a_document_are_refused() -> None:
    a = {"id": "A", "label": "A"}
    doc = {"format": "spice-schema", "version": 1, "classes": [a, {**a, "label": "again"}]}
    with pytest.raises(ValidationFailed) as caught:
        classes_from_document(doc)
    assert caught.value.field == "classes[1].id"


# OWL: round trips


@pytest.mark.parametrize("format", ["turtle", "xml", "json-ld"])
def test_every_rdf_format_round_trips_the_schema(format: RdfFormat) -> None:
    classes = shop()
    assert api(import_rdf(exported(classes, format), format)) == api(classes)


def test_the_graph_itself_round_trips() -> None:
    classes = shop()
    assert api(classes_from_graph(to_graph(classes, base_iri=BASE))) == api(classes)


def test_a_base_ending_in_a_hash_round_trips_and_mints_fragment_iris() -> None:
    classes = shop()
    base = "https://example.org/ns/shop#"
    graph = to_graph(classes, base_iri=base)
    assert (URIRef(f"{base}Customer"), RDF.type, OWL.Class) in graph
    doc = export_jsonld(classes, base_iri=base)
    assert "#Customer" in {node["@id"] for node in doc["@graph"]}
    assert api(import_rdf(json.dumps(doc), "json-ld")) == api(classes)


def test_the_turtle_reads_as_owl() -> None:
    turtle = export_turtle(shop(), base_iri=BASE)
    assert "owl:Class" in turtle
    assert "rdfs:subClassOf" in turtle
    graph = Graph().parse(data=turtle, format="turtle")
    assert (URIRef(f"{BASE}Customer"), RDFS.subClassOf, URIRef(f"{BASE}Party")) in graph
    assert '"고객"@ko' in turtle
    assert "owl:inverseOf :Order.customer" in turtle


def test_exports_are_the_same_text_every_time() -> None:
    # Blank nodes get fresh labels in every graph; the export must not show it.
    assert export_turtle(shop(), base_iri=BASE) == export_turtle(shop(), base_iri=BASE)
    assert export_jsonld(shop(), base_iri=BASE) == export_jsonld(shop(), base_iri=BASE)


def test_the_jsonld_has_a_compact_context_and_relative_ids() -> None:
    doc = export_jsonld(shop(), base_iri=BASE)
    assert doc["@context"] == {
        "@base": BASE,
        "owl": str(OWL),
        "rdf": str(RDF),
        "rdfs": str(RDFS),
        "xsd": str(XSD),
        "spice": SPICE_NS,
    }
    customer = next(n for n in doc["@graph"] if n["@id"] == "Customer")
    assert customer["@type"] == "owl:Class"
    assert {"@id": "Party"} in customer["rdfs:subClassOf"]


# OWL: the mapping


@pytest.mark.parametrize(
    ("name", "datatype", "annotated"),
    [
        ("code", XSD.string, None),
        ("notes", XSD.string, "text"),
        ("count", XSD.integer, None),
        ("price", XSD.decimal, None),
        ("ratio", XSD.double, None),
        ("active", XSD.boolean, None),
        ("born", XSD.date, None),
        ("seen_at", XSD.dateTime, None),
        ("opens", XSD.time, None),
        ("home", XSD.anyURI, None),
        ("mail", XSD.string, "email"),
        ("phone", XSD.string, "phone"),
        ("ref", XSD.string, "uuid"),
        ("host", XSD.string, "ip"),
        ("size", XSD.string, "enum"),
        ("budget", RDF.JSON, "money"),
        ("where", RDF.JSON, "coordinate"),
        ("tags", RDF.JSON, "array"),
        ("extra", RDF.JSON, "object"),
    ],
)
def test_each_type_has_its_xsd_range_and_the_rest_are_named(
    name: str, datatype: URIRef, annotated: str | None
) -> None:
    graph = to_graph(shop(), base_iri=BASE)
    node = URIRef(f"{BASE}Order.{name}")
    assert (node, RDF.type, OWL.DatatypeProperty) in graph
    assert graph.value(node, RDFS.range) == datatype
    assert graph.value(node, RDFS.domain) == URIRef(f"{BASE}Order")
    stated = graph.value(node, spice("type"))
    assert (str(stated) if stated is not None else None) == annotated


def test_the_mapping_covers_every_type() -> None:
    assert {p["type"] for p in EVERY_TYPE} == {t.value for t in ValueType}


def test_same_named_properties_of_two_classes_get_two_iris() -> None:
    graph = to_graph(shop(), base_iri=BASE)
    named = sorted(str(s) for s in graph.subjects(spice("name"), Literal("name")))
    assert named == [f"{BASE}Customer.name", f"{BASE}Party.name", f"{BASE}Product.name"]


def test_relationships_are_object_properties_with_owl_cardinality_words() -> None:
    graph = to_graph(shop(), base_iri=BASE)
    customer = URIRef(f"{BASE}Order.customer")
    assert (customer, RDF.type, OWL.ObjectProperty) in graph
    assert (customer, RDF.type, OWL.FunctionalProperty) in graph
    assert (customer, OWL.inverseOf, URIRef(f"{BASE}Customer.orders")) in graph
    assert graph.value(customer, RDFS.range) == URIRef(f"{BASE}Customer")
    assert str(graph.value(customer, spice("cardinality"))) == "n:1"
    orders = URIRef(f"{BASE}Customer.orders")
    assert (orders, RDF.type, OWL.InverseFunctionalProperty) in graph
    assert (orders, RDF.type, OWL.FunctionalProperty) not in graph


def test_required_fields_are_owl_restrictions_on_their_class() -> None:
    graph = to_graph(shop(), base_iri=BASE)
    restricted = {
        graph.value(r, OWL.onProperty)
        for r in graph.objects(URIRef(f"{BASE}Order"), RDFS.subClassOf)
        if graph.value(r, OWL.minCardinality) == Literal(1, datatype=XSD.nonNegativeInteger)
    }
    assert restricted == {URIRef(f"{BASE}Order.count"), URIRef(f"{BASE}Order.customer")}


def test_an_abstract_class_and_a_composite_key_are_annotated() -> None:
    graph = to_graph(shop(), base_iri=BASE)
    assert graph.value(URIRef(f"{BASE}Party"), spice("abstract")) == Literal(True)
    key = graph.value(URIRef(f"{BASE}Customer"), spice("key"))
    assert key is not None
    assert [str(k) for k in graph.items(key)] == ["region", "number"]


# Imports: refusals


def test_a_turtle_syntax_error_names_its_line() -> None:
    with pytest.raises(MalformedInput) as caught:
        import_rdf("@prefix : <https://e.org/> .\n\n:A a :B ; :p :q :r .", "turtle")
    assert caught.value.message == (
        "not valid Turtle: line 3: expected '.' or '}' or ']' at end of statement"
    )


@pytest.mark.parametrize(
    ("format", "text"),
    [
        ("turtle", '@prefix : <https://e.org/> .\n:A a :B ; :p "open .'),
        ("xml", "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"),
        ("json-ld", '{"@id": '),
    ],
)
def test_a_broken_document_is_malformed_input(format: RdfFormat, text: str) -> None:
    with pytest.raises(MalformedInput) as caught:
        import_rdf(text, format)
    assert caught.value.message.startswith("not valid ")
    assert len(caught.value.message) < 300


def test_a_jsonld_context_given_by_url_is_never_fetched() -> None:
    doc = {"@context": "https://schema.org/", "@id": "Thing", "@type": "owl:Class"}
    with pytest.raises(MalformedInput, match="not loaded"):
        import_rdf(json.dumps(doc), "json-ld")


def test_an_unknown_format_is_malformed_input() -> None:
    with pytest.raises(MalformedInput) as caught:
        import_rdf("", "n3")  # type: ignore[arg-type]
    assert caught.value.field == "format"


def test_a_class_the_model_refuses_is_named_with_its_field() -> None:
    turtle = f"""
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix spice: <{SPICE_NS}> .
        <https://e.org/A> a owl:Class .
        <https://e.org/A.x> a owl:DatatypeProperty ; rdfs:domain <https://e.org/A> ;
            spice:type "colour" .
    """
    with pytest.raises(ValidationFailed) as caught:
        import_rdf(turtle, "turtle")
    assert caught.value.field == "A.properties[0].type"


def test_a_class_with_two_parents_is_refused() -> None:
    turtle = """
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <https://e.org/A> a owl:Class ; rdfs:subClassOf <https://e.org/B>, <https://e.org/C> .
    """
    with pytest.raises(ValidationFailed) as caught:
        import_rdf(turtle, "turtle")
    assert caught.value.field == "A.parent_class"


def test_rdfxml_refuses_text_xml_cannot_carry() -> None:
    odd = ClassDef.from_api({"id": "A", "label": "bell \x07"})
    with pytest.raises(ValidationFailed, match="U\\+0007"):
        export_rdfxml([odd], base_iri=BASE)
    assert api(import_rdf(export_turtle([odd], base_iri=BASE), "turtle")) == api([odd])


def test_a_base_that_is_no_absolute_iri_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        to_graph(shop(), base_iri="shop/")
    assert caught.value.field == "base_iri"


# Imports: ontologies made elsewhere


def test_owl_made_elsewhere_maps_ranges_and_functional_properties() -> None:
    turtle = """
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        @prefix : <https://e.org/onto#> .
        :Person a owl:Class ; rdfs:label "Person"@en, "人"@ja ; rdfs:subClassOf owl:Thing .
        :Employee a owl:Class ; rdfs:subClassOf :Person .
        :age a owl:DatatypeProperty ; rdfs:domain :Person ; rdfs:range xsd:int .
        :nick a owl:DatatypeProperty ; rdfs:domain :Person .
        :boss a owl:ObjectProperty, owl:FunctionalProperty ;
            rdfs:domain :Employee ; rdfs:range :Person .
        :knows a owl:ObjectProperty ; rdfs:domain :Person ; rdfs:range :Person .
    """
    person, employee = import_rdf(turtle, "turtle")[::-1]
    assert person.label == {"en": "Person", "ja": "人"}
    assert person.parent_class is None
    assert [(p.name, p.type) for p in person.properties] == [
        ("age", ValueType.INTEGER),
        ("nick", ValueType.STRING),
    ]
    assert [(r.predicate, r.cardinality) for r in person.relationships] == [("knows", "n:m")]
    assert employee.parent_class == "Person"
    assert employee.label == "Employee"
    assert [(r.predicate, r.target, r.cardinality) for r in employee.relationships] == [
        ("boss", "Person", "n:1")
    ]


def test_an_entity_list_without_owl_imports_as_classes() -> None:
    doc = {
        "@context": {"@vocab": "https://example.org/sh/"},
        "@type": "Ontology",
        "entities": [
            {"@id": "Shelf", "properties": ["shelf_id", "row"]},
            {"@id": "Bin", "properties": ["bin_id", "shelf_id"]},
        ],
        "relationships": [{"from": "Bin", "to": "Shelf", "type": "ON_SHELF"}],
    }
    bin_, shelf = import_rdf(json.dumps(doc), "json-ld")
    assert (shelf.id, shelf.label, [p.name for p in shelf.properties]) == (
        "Shelf",
        "Shelf",
        ["row", "shelf_id"],
    )
    assert bin_.relationships[0].model_dump(exclude_none=True) == {
        "predicate": "ON_SHELF",
        "target": "Shelf",
        "cardinality": "n:1",
        "required": False,
    }


def test_the_3pl_sample_ontology_imports_its_entities_and_relationships() -> None:
    classes = {c.id: c for c in import_rdf(THREE_PL.read_text(encoding="utf-8"), "json-ld")}
    assert {"Product", "SKU", "Warehouse", "Order", "OrderItem", "Event"} <= set(classes)
    assert len(classes) == 15
    product = classes["Product"]
    assert {"product_id", "name", "unit_price", "weight_g"} <= {p.name for p in product.properties}
    # Nothing in the sample says more than a name, so every property holds text.
    assert {p.type for c in classes.values() for p in c.properties} == {ValueType.STRING}
    sku = classes["SKU"]
    assert [(r.predicate, r.target, r.cardinality) for r in sku.relationships] == [
        ("BELONGS_TO", "Product", "n:1"),
        ("SUPPLIED_BY", "Supplier", "n:1"),
    ]
    assert sum(len(c.relationships) for c in classes.values()) == 12


# Random schemas

_IDS = ["Alpha", "Beta", "Gamma", "Delta"]
_NAMES = ["a", "b", "c", "d", "e_1"]
_SIMPLE = [t for t in ValueType if t not in (ValueType.ENUM, ValueType.ARRAY)]
_TEXT = st.text(min_size=1, max_size=12).filter(str.strip)
_LABEL = _TEXT | st.dictionaries(st.sampled_from(["en", "ko", "ja", "zh-Hant"]), _TEXT, min_size=1)


@st.composite
def _class(draw: st.DrawFn, class_id: str) -> ClassDef:
    names = draw(st.lists(st.sampled_from(_NAMES), unique=True, max_size=4))
    properties: list[dict[str, Any]] = []
    for name in names:
        type_ = draw(st.sampled_from([*_SIMPLE, ValueType.ENUM, ValueType.ARRAY]))
        field = prop(name, type_.value, required=draw(st.booleans()), unique=draw(st.booleans()))
        if type_ is ValueType.ENUM:
            field["constraints"] = {"values": ["x", "y"]}
        elif type_ is ValueType.ARRAY:
            field["constraints"] = {"item_type": draw(st.sampled_from(_SIMPLE)).value}
        if draw(st.booleans()):
            field["label"] = draw(_LABEL)
        properties.append(field)
    keyable = [p["name"] for p in properties if p["type"] not in ("array", "object")]
    key = draw(st.permutations(keyable)) if keyable else []
    predicates = draw(st.lists(st.sampled_from(["p", "q", "r_2"]), unique=True, max_size=3))
    relationships: list[dict[str, Any]] = []
    for predicate in predicates:
        target = draw(st.sampled_from([i for i in _IDS if i != class_id]))
        cardinality = draw(st.sampled_from(["1:1", "1:n", "n:1", "n:m"]))
        field = rel(predicate, target, cardinality, required=draw(st.booleans()))
        if draw(st.booleans()):
            field["inverse_predicate"] = f"inv_{class_id.lower()}_{predicate}"
        relationships.append(field)
    payload: dict[str, Any] = {
        "id": class_id,
        "label": draw(_LABEL),
        "abstract": draw(st.booleans()),
        "key": key[: draw(st.integers(0, len(key)))],
        "properties": properties,
        "relationships": relationships,
    }
    parent = draw(st.none() | st.sampled_from([i for i in _IDS if i != class_id]))
    if parent is not None:
        payload["parent_class"] = parent
    if draw(st.booleans()):
        payload["description"] = draw(st.text(max_size=12) | _LABEL)
    return ClassDef.from_api(payload)


@st.composite
def _classes(draw: st.DrawFn) -> list[ClassDef]:
    ids = draw(st.lists(st.sampled_from(_IDS), unique=True, min_size=1))
    return [draw(_class(class_id)) for class_id in ids]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_classes())
def test_random_schemas_round_trip_through_turtle(classes: list[ClassDef]) -> None:
    assert api(import_rdf(export_turtle(classes, base_iri=BASE), "turtle")) == api(classes)


def test_a_graph_parsed_elsewhere_reads_the_same() -> None:
    graph = Graph().parse(data=export_turtle(shop(), base_iri=BASE), format="turtle")
    assert api(classes_from_graph(graph)) == api(shop())
