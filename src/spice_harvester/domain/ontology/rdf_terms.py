"""The RDF vocabulary the ontology export and import share: namespaces, IRIs and datatypes."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from rdflib import RDF, RDFS, XSD, Literal, Namespace, URIRef

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.types import ValueType

SPICE_NS = "https://spice-harvester.dev/ns#"
SPICE = Namespace(SPICE_NS)
# Relative IRIs in an imported document resolve against this; only local names are kept.
IMPORT_BASE = "https://spice-harvester.dev/import/"

T = ValueType
# Types an XSD datatype says exactly: the range alone names them.
EXACT_RANGE: Mapping[ValueType, URIRef] = {
    T.STRING: XSD.string,
    T.INTEGER: XSD.integer,
    T.DECIMAL: XSD.decimal,
    T.FLOAT: XSD.double,
    T.BOOLEAN: XSD.boolean,
    T.DATE: XSD.date,
    T.DATETIME: XSD.dateTime,
    T.TIME: XSD.time,
    T.URL: XSD.anyURI,
}
# The rest are stored as text or as JSON structures; `spice:type` names them exactly.
ANNOTATED_RANGE: Mapping[ValueType, URIRef] = {
    T.TEXT: XSD.string,
    T.EMAIL: XSD.string,
    T.PHONE: XSD.string,
    T.UUID: XSD.string,
    T.IP: XSD.string,
    T.ENUM: XSD.string,
    T.MONEY: RDF.JSON,
    T.COORDINATE: RDF.JSON,
    T.ARRAY: RDF.JSON,
    T.OBJECT: RDF.JSON,
}
# Ranges other tools write, read back as the nearest type (for ontologies made elsewhere).
READ_RANGE: Mapping[URIRef, ValueType] = {
    **{datatype: type_ for type_, datatype in EXACT_RANGE.items()},
    **dict.fromkeys(
        (XSD.int, XSD.long, XSD.short, XSD.byte, XSD.nonNegativeInteger, XSD.positiveInteger),
        T.INTEGER,
    ),
    **dict.fromkeys(
        (XSD.negativeInteger, XSD.nonPositiveInteger, XSD.unsignedLong, XSD.unsignedInt),
        T.INTEGER,
    ),
    **dict.fromkeys((XSD.unsignedShort, XSD.unsignedByte), T.INTEGER),
    XSD.float: T.FLOAT,
    XSD.dateTimeStamp: T.DATETIME,
    XSD.normalizedString: T.STRING,
    XSD.token: T.STRING,
    RDF.langString: T.STRING,
    RDFS.Literal: T.STRING,
    RDF.JSON: T.OBJECT,
}

_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|\\^`]')


def range_of(type_: ValueType) -> URIRef:
    return EXACT_RANGE.get(type_) or ANNOTATED_RANGE[type_]


def normal_base(base_iri: str) -> str:
    """An absolute IRI ending in `/`, `#` or `:` so that ids can be appended to it."""
    if not urlsplit(base_iri).scheme or _IRI_FORBIDDEN.search(base_iri):
        raise ValidationFailed(
            f"{base_iri!r} is not an absolute IRI such as https://example.org/db/",
            field="base_iri",
        )
    return base_iri if base_iri.endswith(("/", "#", ":")) else f"{base_iri}/"


def class_iri(base: str, class_id: str) -> URIRef:
    return URIRef(f"{base}{class_id}")


def member_iri(base: str, class_id: str, name: str) -> URIRef:
    # Class ids and names cannot contain a dot, so `Class.name` is unambiguous and two classes'
    # properties of the same name get distinct IRIs.
    return URIRef(f"{base}{class_id}.{name}")


def local_name(iri: str) -> str:
    """The part after the last `#`, `/` or `:` (how a class IRI made elsewhere gets an id)."""
    return re.split(r"[#/:]", iri.rstrip("#/"))[-1]


def member_name(iri: str) -> str:
    return local_name(iri).rsplit(".", 1)[-1]


def json_literal(value: Any) -> Literal:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Literal(text, datatype=RDF.JSON)
