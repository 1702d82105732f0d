"""Labels in, ids out: a database's classes, properties and relationships found by their id or
any of their labels, and labels chosen in the language a client reads.

Rules, in order (the first that finds something decides):
1. an id, exactly (ids always win over labels);
2. a label in any language, exactly;
3. an id, then a label, ignoring case and Unicode normal form (NFC, case-folded, trimmed).
One match is the answer; several are 400 naming them; none is 404 naming the label.
A class's fields are its own and its ancestors' properties and relationships.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spice_harvester.domain.errors import MalformedInput, NotFound, SpiceError
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import Schema

Label = str | Mapping[str, str] | None
FieldKind = Literal["property", "relationship"]
# What OMS adds to a stored class; not part of the class itself.
STORED_EXTRAS = ("version", "commit_id")
DEFAULT_LANGUAGE = "en"
_QUALITY = re.compile(r"^q=([01](?:\.\d{0,3})?)$")


def folded(text: str) -> str:
    """The form labels are compared in when exact matching finds nothing."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text.strip()).casefold())


def texts_of(label: Label) -> list[str]:
    if label is None:
        return []
    if isinstance(label, str):
        return [label]
    return [text for text in label.values() if isinstance(text, str)]


@dataclass(frozen=True)
class Named:
    """A class or a field: its id and its label as stored (a string or {language: text})."""

    id: str
    label: Label
    kind: FieldKind | Literal["class"] = "class"


class Lookup:
    """One namespace (the classes of a database, or the fields of a class) by id and label."""

    def __init__(self, one: str, many: str, items: Iterable[Named]) -> None:
        self.one = one
        self.many = many
        self.items: dict[str, Named] = {}
        self._ids_folded: dict[str, set[str]] = {}
        self._exact: dict[str, set[str]] = {}
        self._folded: dict[str, set[str]] = {}
        for item in items:
            self.items[item.id] = item
            self._ids_folded.setdefault(folded(item.id), set()).add(item.id)
            for text in texts_of(item.label):
                self._exact.setdefault(text, set()).add(item.id)
                self._folded.setdefault(folded(text), set()).add(item.id)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.items

    def candidates(self, text: str) -> list[str]:
        """The ids `text` names under the first rule that finds any."""
        if text in self.items:
            return [text]
        key = folded(text)
        for table, probe in (
            (self._exact, text),
            (self._ids_folded, key),
            (self._folded, key),
        ):
            found = table.get(probe)
            if found:
                return sorted(found)
        return []

    def find(self, text: str, *, field: str) -> str | None:
        """The id `text` names, or None when it names nothing; several is 400."""
        found = self.candidates(text)
        if len(found) > 1:
            named = ", ".join(f"{c} ({_said(self.items[c].label)})" for c in found)
            raise MalformedInput(
                f"{text!r} is a label of several {self.many}: {named}; use an id",
                field=field,
                data={"label": text, "candidates": found},
            )
        return found[0] if found else None

    def resolve(self, text: str, *, field: str, within: str = "") -> str:
        """The id `text` names; 404 naming the label when it names nothing."""
        found = self.find(text, field=field)
        if found is None:
            where = f" of {within}" if within else ""
            raise NotFound(
                f"no {self.one}{where} has the id or a label {text!r} in any language",
                field=field,
                data={"label": text},
            )
        return found


def _said(label: Label) -> str:
    if label is None:
        return "no label"
    if isinstance(label, str):
        return repr(label)
    return ", ".join(f"{tag}: {text!r}" for tag, text in label.items())


@dataclass(frozen=True)
class ClassLabels:
    """One class: its label and its fields (own and inherited), by id and by label."""

    id: str
    label: Label
    fields: Lookup

    def field_ids(self) -> list[str]:
        return list(self.fields.items)


class LabelIndex:
    """The labels of every class of one database at one ref."""

    def __init__(self, classes: Iterable[ClassLabels], schema: Schema | None = None) -> None:
        classes_ = list(classes)
        self.by_id: dict[str, ClassLabels] = {c.id: c for c in classes_}
        self.classes = Lookup("class", "classes", (Named(c.id, c.label) for c in classes_))
        # The classes that parse, for what needs inheritance and relationships (graph hops).
        self.schema = schema if schema is not None else Schema({})

    @classmethod
    def from_classes(cls, stored: Iterable[Mapping[str, Any]]) -> LabelIndex:
        """From OMS's class list (each class as stored, with `version`): fields include what
        each class inherits."""
        raw = [dict(c) for c in stored]
        parsed: dict[str, ClassDef] = {}
        for c in raw:
            try:
                definition = ClassDef.from_api(
                    {k: v for k, v in c.items() if k not in STORED_EXTRAS}
                )
            except SpiceError:
                continue  # indexed below from what it declares itself
            parsed[definition.id] = definition
        schema = Schema(parsed)
        return cls((_class_labels(c, schema) for c in raw if isinstance(c.get("id"), str)), schema)

    def class_id(self, text: str, *, field: str = "class_label") -> str:
        return self.classes.resolve(text, field=field)

    def field_id(self, class_id: str, text: str, *, field: str = "field") -> str:
        return self.by_id[class_id].fields.resolve(text, field=field, within=class_id)

    def class_label(self, class_id: str, languages: Sequence[str]) -> str:
        return pick_label(self.by_id[class_id].label, languages, class_id)

    def field_labels(self, class_id: str, languages: Sequence[str]) -> dict[str, str]:
        """{field id: label} for every field of the class, in the client's language."""
        fields = self.by_id[class_id].fields.items.values()
        return {f.id: pick_label(f.label, languages, f.id) for f in fields}

    def data_to_ids(self, class_id: str, data: Any, *, where: str = "data") -> Any:
        """A payload's keys as field ids. Keys naming no field stay as sent, so that OMS
        refuses them naming the field; two keys naming one field are 400."""
        if not isinstance(data, Mapping):
            return data
        fields = self.by_id[class_id].fields
        rewritten: dict[str, Any] = {}
        sent_as: dict[str, str] = {}
        for key, value in data.items():
            target = fields.find(key, field=f"{where}.{key}") if isinstance(key, str) else None
            target = target or key
            if target in rewritten:
                raise MalformedInput(
                    f"{where}: {sent_as[target]!r} and {key!r} both name the field {target!r}",
                    field=f"{where}.{key}",
                    data={"field": target, "keys": [sent_as[target], key]},
                )
            rewritten[target] = value
            sent_as[target] = key
        return rewritten

    def class_refs_to_ids(self, body: Any) -> Any:
        """A class body's `parent_class` and relationship targets as ids when they are labels
        of existing classes; anything else stays for OMS to judge."""
        if not isinstance(body, Mapping):
            return body
        out = dict(body)
        parent = out.get("parent_class")
        if isinstance(parent, str):
            out["parent_class"] = self.classes.find(parent, field="parent_class") or parent
        relationships = out.get("relationships")
        if isinstance(relationships, list):
            out["relationships"] = [
                self._target_to_id(rel, i) for i, rel in enumerate(relationships)
            ]
        return out

    def _target_to_id(self, rel: Any, i: int) -> Any:
        if not isinstance(rel, Mapping) or not isinstance(rel.get("target"), str):
            return rel
        target = rel["target"]
        found = self.classes.find(target, field=f"relationships[{i}].target")
        return {**rel, "target": found or target}


def _class_labels(raw: Mapping[str, Any], schema: Schema) -> ClassLabels:
    class_id = str(raw["id"])
    label = _label_of(raw.get("label"))
    fields: list[Named] = []
    if class_id in schema:
        try:
            resolved = schema.resolved(class_id)
        except SpiceError:
            resolved = None
        if resolved is not None:
            fields += [Named(p.name, p.label, "property") for p in resolved.properties]
            fields += [Named(r.predicate, r.label, "relationship") for r in resolved.relationships]
            return ClassLabels(class_id, label, Lookup("field", "fields", fields))
    fields += _declared(raw, "properties", "name", "property")
    fields += _declared(raw, "relationships", "predicate", "relationship")
    return ClassLabels(class_id, label, Lookup("field", "fields", fields))


def _declared(raw: Mapping[str, Any], key: str, name: str, kind: FieldKind) -> list[Named]:
    items = raw.get(key)
    if not isinstance(items, list):
        return []
    return [
        Named(item[name], _label_of(item.get("label")), kind)
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get(name), str)
    ]


def _label_of(value: Any) -> Label:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items() if isinstance(v, str)}
    return None


def preferred_languages(accept_language: str | None) -> tuple[str, ...]:
    """The language tags of an Accept-Language header, best first: by q-value, then in the
    order sent; `q=0` means "not this one" and malformed entries are skipped."""
    if not accept_language:
        return ()
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, *params = (piece.strip() for piece in part.split(";"))
        if not tag or not re.fullmatch(r"\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", tag):
            continue
        quality = 1.0
        for param in params:
            matched = _QUALITY.match(param.replace(" ", ""))
            if param.lower().startswith("q=") and matched is None:
                quality = -1.0
            elif matched is not None:
                quality = float(matched.group(1))
        if 0 < quality <= 1:
            ranked.append((-quality, position, tag.lower()))
    return tuple(tag for _, _, tag in sorted(ranked))


def pick_label(label: Label, languages: Sequence[str], fallback: str) -> str:
    """The label's text in the first language that has one (`ko-KR` finds `ko`, `zh` finds
    `zh-Hant`), else English, else `fallback` (the id). A plain-string label is the same in
    every language."""
    if isinstance(label, str):
        return label
    if not label:
        return fallback
    by_tag = {tag.lower(): text for tag, text in label.items()}
    for wanted in (*languages, DEFAULT_LANGUAGE):
        if wanted == "*":
            return by_tag.get(DEFAULT_LANGUAGE) or next(iter(by_tag.values()))
        found = _lookup(by_tag, wanted)
        if found is not None:
            return found
    return fallback


def _lookup(by_tag: Mapping[str, str], wanted: str) -> str | None:
    # RFC 4647 lookup: drop subtags from the end until something matches...
    parts = wanted.split("-")
    while parts:
        found = by_tag.get("-".join(parts))
        if found is not None:
            return found
        parts.pop()
    # ...then any regional or script variant of the primary language.
    primary = wanted.split("-")[0]
    return next((text for tag, text in by_tag.items() if tag.split("-")[0] == primary), None)
