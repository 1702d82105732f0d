"""Class definitions as clients send them: properties, relationships, labels and their own rules."""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.types import Constraints, ValueType, parse_type_name
from spice_harvester.domain.ontology.values import check_constraints, coerce_default

CLASS_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,99}$"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
# A key value becomes part of an instance id, so it has to be a scalar.
UNKEYABLE_TYPES = frozenset({ValueType.ARRAY, ValueType.OBJECT})
# Messages from the value rules start with the field they name; this stands for "this
# property" until the property's place in the payload (`properties[2]`) is known.
_HERE = "@"

Cardinality = Literal["1:1", "1:n", "n:1", "n:m"]
FLIPPED: Mapping[str, Cardinality] = {"1:1": "1:1", "1:n": "n:1", "n:1": "1:n", "n:m": "n:m"}
Problem = tuple[str | None, str]
"""A field path (None for the whole payload) and what is wrong there."""


def problems_error(problems: Sequence[Problem], **data: Any) -> ValidationFailed:
    """One error for several problems: the first names the field, all of them go in `data`."""
    field, message = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    said = field is None or message.startswith(field)
    text = f"{message}{more}" if said else f"{field}: {message}{more}"
    errors = [{"field": f, "message": m} for f, m in problems]
    return ValidationFailed(text, field=field, data={"errors": errors, **data})


class _LocalProblems(ValueError):
    """Carries field paths out of a model validator, which pydantic can only place at the model."""

    def __init__(self, problems: list[Problem], *, up: int = 0) -> None:
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems
        # How many trailing parts of pydantic's location to drop to reach the model they name.
        self.up = up


def _text(value: object, what: str, *, allow_empty: bool) -> str:
    if not isinstance(value, str) or not (allow_empty or value.strip()):
        raise ValueError(f"{what} must be a non-empty string")
    return value


def _localised(value: object, *, allow_empty: bool) -> str | dict[str, str]:
    if isinstance(value, str):
        return _text(value, "a label", allow_empty=allow_empty)
    if not isinstance(value, Mapping):
        raise ValueError("must be a string or a map of language tag to string")
    if not value:
        raise ValueError("a map of languages needs at least one entry")
    checked: dict[str, str] = {}
    for tag, text in value.items():
        if not isinstance(tag, str) or not _LANGUAGE_TAG.fullmatch(tag):
            raise ValueError(f"{tag!r} is not a language tag such as 'en', 'ko' or 'zh-Hant'")
        checked[tag] = _text(text, f"the {tag!r} text", allow_empty=allow_empty)
    return checked


def _label(value: object) -> str | dict[str, str]:
    return _localised(value, allow_empty=False)


def _description(value: object) -> str | dict[str, str]:
    return _localised(value, allow_empty=True)


def _type(value: object) -> ValueType:
    if isinstance(value, ValueType):
        return value
    try:
        return parse_type_name(value)  # type: ignore[arg-type]  # it names non-strings itself
    except ValidationFailed as exc:
        raise ValueError(exc.message) from None


Label = Annotated[str | dict[str, str], PlainValidator(_label)]
Description = Annotated[str | dict[str, str], PlainValidator(_description)]
ClassId = Annotated[str, Field(pattern=CLASS_ID_PATTERN)]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class _Model(BaseModel):
    # A misspelt key ("requird") must be refused, not silently dropped.
    model_config = ConfigDict(frozen=True, extra="forbid")


class PropertyDef(_Model):
    name: Name
    type: Annotated[ValueType, BeforeValidator(_type)]
    label: Label | None = None
    description: Description | None = None
    required: bool = False
    unique: bool = False
    # Between `type` and `default` because pydantic validates in order and both validators
    # below need the type; validated when absent too, as an enum or array needs constraints.
    constraints: Constraints | None = Field(None, validate_default=True)
    default: Any = None

    @field_validator("constraints")
    @classmethod
    def _constraints_fit_type(
        cls, value: Constraints | None, info: ValidationInfo
    ) -> Constraints | None:
        if "type" not in info.data:
            return value
        try:
            checked = check_constraints(info.data["type"], value, field=_HERE)
        except ValidationFailed as exc:
            raise _LocalProblems([(exc.field, exc.message)], up=1) from None
        return checked if value is not None else None

    @field_validator("default")
    @classmethod
    def _default_fits_type(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or "type" not in info.data or "constraints" not in info.data:
            return value
        type_, constraints = info.data["type"], info.data["constraints"]
        try:
            return coerce_default(value, type_, constraints, f"{_HERE}.default")
        except ValidationFailed as exc:
            raise _LocalProblems([(exc.field, exc.message)], up=1) from None


class RelationshipDef(_Model):
    predicate: Name
    target: ClassId
    label: Label | None = None
    description: Description | None = None
    cardinality: Cardinality
    inverse_predicate: Name | None = None
    required: bool = False

    def mirror(self, source: str) -> RelationshipDef:
        """The relationship the target carries back to `source` (needs `inverse_predicate`)."""
        assert self.inverse_predicate is not None
        return RelationshipDef(
            predicate=self.inverse_predicate,
            target=source,
            cardinality=FLIPPED[self.cardinality],
            inverse_predicate=self.predicate,
        )


class ClassDef(_Model):
    id: ClassId
    label: Label
    description: Description | None = None
    parent_class: ClassId | None = None
    abstract: bool = False
    key: tuple[Name, ...] = ()
    properties: tuple[PropertyDef, ...] = ()
    relationships: tuple[RelationshipDef, ...] = ()

    @field_validator("key", mode="before")
    @classmethod
    def _no_key_is_empty(cls, value: object) -> object:
        return () if value is None else value

    @model_validator(mode="after")
    def _consistent(self) -> ClassDef:
        problems = _local_problems(self)
        if problems:
            raise _LocalProblems(problems)
        return self

    @classmethod
    def from_api(cls, payload: object) -> ClassDef:
        """Validate a client payload, naming every bad field path (`properties[1].type`)."""
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise problems_error(_translate(exc)) from None

    def to_api(self) -> dict[str, Any]:
        """The normalised form: canonical type names, labels as given, absent options left out."""
        return self.model_dump(mode="json", exclude_none=True)

    def property(self, name: str) -> PropertyDef | None:
        return next((p for p in self.properties if p.name == name), None)

    def relationship(self, predicate: str) -> RelationshipDef | None:
        return next((r for r in self.relationships if r.predicate == predicate), None)


def _local_problems(c: ClassDef) -> list[Problem]:
    problems: list[Problem] = []
    props: dict[str, int] = {}
    for i, p in enumerate(c.properties):
        if p.name in props:
            problems.append((f"properties[{i}].name", f"duplicate property {p.name!r}"))
        props.setdefault(p.name, i)
    preds: dict[str, int] = {}
    for i, r in enumerate(c.relationships):
        if r.predicate in preds:
            problems.append((f"relationships[{i}].predicate", f"duplicate {r.predicate!r}"))
        elif r.predicate in props:
            problems.append((f"relationships[{i}].predicate", f"{r.predicate!r} is a property"))
        preds.setdefault(r.predicate, i)
    if c.parent_class == c.id:
        problems.append(("parent_class", f"{c.id} cannot inherit from itself"))
    own = {p.name: p for p in c.properties}
    for i, name in enumerate(c.key):
        if name in c.key[:i]:
            problems.append((f"key[{i}]", f"{name!r} is already in the key"))
        elif name in own and own[name].type in UNKEYABLE_TYPES:
            problems.append((f"key[{i}]", f"{name!r} is {own[name].type.value}, not a scalar"))
        elif name not in own and c.parent_class is None:
            problems.append((f"key[{i}]", f"{c.id} has no property {name!r}"))
    return problems + _pairing_problems(c, props)


def _pairing_problems(c: ClassDef, props: Mapping[str, int]) -> list[Problem]:
    """Inverses pointing back into the class itself must be declared here, since the class
    being written is the one that would carry them."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(c.relationships):
        q = r.inverse_predicate
        if q is None:
            continue
        field = f"relationships[{i}].inverse_predicate"
        if (r.target, q) in seen:
            problems.append((field, f"another relationship already gives {r.target} {q!r}"))
        seen.add((r.target, q))
        if r.target != c.id:
            continue
        partner = c.relationship(q)
        wanted = (c.id, FLIPPED[r.cardinality], r.predicate)
        if q == r.predicate:
            if r.cardinality not in ("1:1", "n:m"):
                problems.append((field, f"a self-inverse needs 1:1 or n:m, not {r.cardinality}"))
        elif q in props:
            problems.append((field, f"{q!r} is a property of {c.id}"))
        elif (
            partner is None
            or (partner.target, partner.cardinality, partner.inverse_predicate) != wanted
        ):
            want = f"target {c.id}, cardinality {wanted[1]}, inverse_predicate {r.predicate}"
            problems.append((field, f"declare {q!r} in {c.id} as well ({want})"))
    return problems


def _translate(exc: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors():
        loc = error["loc"]
        cause = error.get("ctx", {}).get("error")
        prefix = _path(loc)
        if isinstance(cause, _LocalProblems):
            base = _path(loc[: len(loc) - cause.up])
            for field, message in cause.problems:
                problems.append((_placed(field, base), _placed_message(message, base)))
        elif error["type"] == "extra_forbidden":
            problems.append((prefix, f"unknown field {loc[-1]!r}{_allowed(loc[:-1])}"))
        elif error["type"] == "missing":
            problems.append((prefix, "is required"))
        elif error["type"] == "string_pattern_mismatch":
            rule = "a letter" if loc[-1] in ("id", "target", "parent_class") else "a letter or _"
            said = f"{reprlib.repr(error['input'])} is not a valid name"
            rest = "then at most 99 letters, digits or _"
            problems.append((prefix, f"{said}: start with {rule}, {rest}"))
        elif error["type"] == "model_type" and not loc:
            problems.append((None, "a class must be a JSON object"))
        else:
            problems.append((prefix or None, str(cause) if cause else error["msg"]))
    return problems


def _placed(field: str | None, base: str) -> str | None:
    relative = (field or "").removeprefix(_HERE).removeprefix(".")
    return ".".join(part for part in (base, relative) if part) or None


def _placed_message(message: str, base: str) -> str:
    if not message.startswith(f"{_HERE}."):
        return message
    return f"{base}.{message[len(_HERE) + 1 :]}" if base else message[len(_HERE) + 1 :]


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _allowed(parent: tuple[int | str, ...]) -> str:
    model: type[BaseModel] | None = ClassDef
    if parent[:1] == ("properties",):
        # Nested array item constraints (`constraints.items`) are Constraints too.
        model = Constraints if parent[2:3] == ("constraints",) else PropertyDef
    elif parent[:1] == ("relationships",):
        model = RelationshipDef
    elif parent:
        model = None
    return f"; expected one of: {', '.join(model.model_fields)}" if model else ""


def label_for(
    label: str | Mapping[str, str] | None, lang: str | None, *, fallback: str = ""
) -> str:
    """The best text for `lang`: exact tag, then same primary language, then English, then any."""
    if label is None or isinstance(label, str):
        return label or fallback
    if not label:
        return fallback
    by_tag = {tag.lower(): text for tag, text in label.items()}
    wanted = (lang or "en").lower()
    primary = wanted.split("-")[0]
    for choice in (wanted, primary):
        if choice in by_tag:
            return by_tag[choice]
    for preferred in (primary, "en"):
        for tag, text in by_tag.items():
            if tag.split("-")[0] == preferred:
                return text
    return next(iter(label.values()))
