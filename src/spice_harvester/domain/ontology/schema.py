"""A set of classes seen together: inheritance, effective fields, limits and inverse pairs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from spice_harvester.domain.errors import AlreadyExists, NotFound, ValidationFailed
from spice_harvester.domain.ontology.classes import (
    UNKEYABLE_TYPES,
    ClassDef,
    Problem,
    PropertyDef,
    RelationshipDef,
    problems_error,
)

# target class -> inverse predicate -> (index of the relationship in its class, the mirror)
_Pairs = dict[str, dict[str, tuple[int, RelationshipDef]]]


@dataclass(frozen=True)
class SchemaLimits:
    """The `validation.*` settings. Depth counts parent hops; the property count includes
    inherited properties (relationships are not counted)."""

    max_property_count: int = 100
    max_relationship_depth: int = 5


@dataclass(frozen=True)
class ResolvedClass:
    """A class with everything it inherits: ancestors nearest first, fields root class first."""

    definition: ClassDef
    ancestors: tuple[str, ...]
    properties: tuple[PropertyDef, ...]
    relationships: tuple[RelationshipDef, ...]
    key: tuple[str, ...]
    declared_by: Mapping[str, str]
    """Property or predicate name -> id of the class that declares it."""

    @property
    def id(self) -> str:
        return self.definition.id

    def property(self, name: str) -> PropertyDef | None:
        return next((p for p in self.properties if p.name == name), None)

    def relationship(self, predicate: str) -> RelationshipDef | None:
        return next((r for r in self.relationships if r.predicate == predicate), None)


class Schema:
    """An immutable view over a set of classes; every change answers a new Schema."""

    def __init__(self, classes: Mapping[str, ClassDef], limits: SchemaLimits | None = None) -> None:
        for class_id, definition in classes.items():
            if class_id != definition.id:
                raise ValueError(f"class {definition.id} is stored under {class_id!r}")
        self._classes: Mapping[str, ClassDef] = MappingProxyType(dict(classes))
        self._limits = limits or SchemaLimits()
        # Safe to cache: nothing in a Schema ever changes.
        self._resolved: dict[str, ResolvedClass] = {}

    @classmethod
    def of(cls, classes: Iterable[ClassDef], limits: SchemaLimits | None = None) -> Schema:
        return cls({c.id: c for c in classes}, limits)

    @property
    def classes(self) -> Mapping[str, ClassDef]:
        return self._classes

    @property
    def limits(self) -> SchemaLimits:
        return self._limits

    def __contains__(self, class_id: object) -> bool:
        return class_id in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def class_def(self, class_id: str) -> ClassDef:
        found = self._classes.get(class_id)
        if found is None:
            raise NotFound(f"class {class_id} does not exist", field="class_id")
        return found

    def resolved(self, class_id: str) -> ResolvedClass:
        """The class with its inherited properties, relationships and key."""
        if class_id not in self._resolved:
            self.class_def(class_id)
            resolved, problems = _resolve(self._classes, class_id, self._limits)
            if problems:
                raise problems_error(problems)
            self._resolved[class_id] = resolved
        return self._resolved[class_id]

    def subclasses(self, class_id: str) -> list[str]:
        """Every class inheriting from `class_id`, directly or not, nearest first."""
        self.class_def(class_id)
        return _descendants(self._classes, class_id)

    def is_subclass_of(self, class_id: str, ancestor: str) -> bool:
        """True for the class itself too, so an instance of a subclass fits a relationship."""
        self.class_def(class_id)
        return ancestor in _chain(self._classes, class_id)

    def instance_classes(self) -> list[str]:
        """Classes that may have instances (not abstract), by id."""
        return sorted(c.id for c in self._classes.values() if not c.abstract)

    def check_class(self, new: ClassDef, *, replacing: str | None = None) -> None:
        """Refuse `new` unless this schema with it added (or replacing `replacing`) is valid."""
        if replacing is None and new.id in self._classes:
            raise AlreadyExists(f"class {new.id} already exists", field="id")
        if replacing is not None:
            self.class_def(replacing)
            if new.id != replacing:
                raise ValidationFailed(
                    f"a class id cannot change ({replacing} → {new.id})", field="id"
                )
        self._prospective(new)

    def inverse_updates(self, new: ClassDef) -> list[ClassDef]:
        """Other classes as they must be stored with `new`, so inverse relationships stay paired."""
        classes = {**self._classes, new.id: new}
        updates, problems = _mirror_updates(classes, new.id, self._classes.get(new.id), new)
        if problems:
            raise problems_error(problems)
        return updates

    def removal_updates(self, class_id: str) -> list[ClassDef]:
        """Other classes as they must be stored once `class_id` is gone (its mirrors removed)."""
        updates, _ = _mirror_updates(self._classes, class_id, self.class_def(class_id), None)
        return updates

    def with_class(self, new: ClassDef) -> Schema:
        """This schema with `new` added or replaced, inverse relationships included."""
        classes, _ = self._prospective(new)
        return Schema(classes, self._limits)

    def without_class(self, class_id: str) -> Schema:
        """This schema without the class; refused while another class inherits or relates to it."""
        self.class_def(class_id)
        classes = {**self._classes, **{u.id: u for u in self.removal_updates(class_id)}}
        del classes[class_id]
        dependents = [
            {"class_id": c.id, "field": field}
            for c in classes.values()
            for field in _uses(c, class_id)
        ]
        if dependents:
            names = ", ".join(f"{d['class_id']}.{d['field']}" for d in dependents)
            raise ValidationFailed(
                f"{class_id} is still used by {names}", field="id", data={"dependents": dependents}
            )
        return Schema(classes, self._limits)

    def _prospective(self, new: ClassDef) -> tuple[dict[str, ClassDef], list[ClassDef]]:
        classes = {**self._classes, new.id: new}
        # Everything below walks parent links, so a missing parent or a cycle stops here.
        _chain(classes, new.id)
        updates, problems = _mirror_updates(classes, new.id, self._classes.get(new.id), new)
        classes.update((u.id, u) for u in updates)
        problems = _resolve(classes, new.id, self._limits)[1] + problems
        affected = set(_descendants(classes, new.id))
        for update in updates:
            affected |= {update.id, *_descendants(classes, update.id)}
        for dependent in sorted(affected - {new.id}):
            for field, message in _resolve(classes, dependent, self._limits)[1]:
                where = f" ({field})" if field else ""
                problems.append((None, f"{dependent}{where} would become invalid: {message}"))
        if problems:
            raise problems_error(problems)
        return classes, updates


def _chain(classes: Mapping[str, ClassDef], class_id: str) -> tuple[str, ...]:
    """The class and its ancestors, nearest first; refuses a missing parent or a cycle."""
    chain = [class_id]
    parent = classes[class_id].parent_class
    while parent is not None:
        if parent in chain:
            cycle = [*chain[chain.index(parent) :], parent]
            message = f"inheritance cycle: {' → '.join(cycle)}"
            raise problems_error([("parent_class", message)], cycle=cycle)
        if parent not in classes:
            message = f"{chain[-1]} inherits from {parent}, which does not exist"
            raise problems_error([("parent_class", message)])
        chain.append(parent)
        parent = classes[parent].parent_class
    return tuple(chain)


def _resolve(
    classes: Mapping[str, ClassDef], class_id: str, limits: SchemaLimits
) -> tuple[ResolvedClass, list[Problem]]:
    chain = _chain(classes, class_id)
    problems: list[Problem] = []
    if len(chain) - 1 > limits.max_relationship_depth:
        levels = f"{len(chain) - 1} levels ({' → '.join(chain)})"
        limit = limits.max_relationship_depth
        problems.append(("parent_class", f"inheritance {levels} is over the limit of {limit}"))
    properties: list[PropertyDef] = []
    relationships: list[RelationshipDef] = []
    owner: dict[str, str] = {}
    for ancestor in reversed(chain):
        for field, item in _members(classes[ancestor]):
            name = item.name if isinstance(item, PropertyDef) else item.predicate
            if name in owner:
                where = field if ancestor == class_id else None
                problems.append(
                    (where, f"{ancestor} redefines {name!r} inherited from {owner[name]}")
                )
                continue
            owner[name] = ancestor
            if isinstance(item, PropertyDef):
                properties.append(item)
            else:
                relationships.append(item)
    if len(properties) > limits.max_property_count:
        count = f"{len(properties)} properties with inherited ones"
        problems.append(
            ("properties", f"{class_id} has {count}; the limit is {limits.max_property_count}")
        )
    key_owner = next((c for c in chain if classes[c].key), None)
    key = classes[key_owner].key if key_owner else ()
    by_name = {p.name: p for p in properties}
    for i, name in enumerate(key):
        where = f"key[{i}]" if key_owner == class_id else None
        prop = by_name.get(name)
        if prop is None:
            problems.append((where, f"{class_id} has no property {name!r}, own or inherited"))
        elif prop.type in UNKEYABLE_TYPES:
            problems.append((where, f"key property {name!r} is {prop.type.value}, not a scalar"))
    for i, rel in enumerate(classes[class_id].relationships):
        if rel.target not in classes:
            problems.append((f"relationships[{i}].target", f"class {rel.target} does not exist"))
    resolved = ResolvedClass(
        classes[class_id], chain[1:], tuple(properties), tuple(relationships), key, owner
    )
    return resolved, problems


def _members(c: ClassDef) -> Iterator[tuple[str, PropertyDef | RelationshipDef]]:
    for i, p in enumerate(c.properties):
        yield f"properties[{i}].name", p
    for i, r in enumerate(c.relationships):
        yield f"relationships[{i}].predicate", r


def _descendants(classes: Mapping[str, ClassDef], class_id: str) -> list[str]:
    children: dict[str, list[str]] = {}
    for c in classes.values():
        if c.parent_class is not None:
            children.setdefault(c.parent_class, []).append(c.id)
    found: list[str] = []
    frontier = [class_id]
    while frontier:
        # `found` guards against a cycle in a schema that was never checked.
        frontier = [c for p in frontier for c in children.get(p, []) if c not in found]
        found.extend(frontier)
    return [c for c in found if c != class_id]


def _uses(c: ClassDef, class_id: str) -> Iterator[str]:
    if c.parent_class == class_id:
        yield "parent_class"
    for i, rel in enumerate(c.relationships):
        if rel.target == class_id:
            yield f"relationships[{i}].target"


def _pairs(c: ClassDef | None, source: str) -> _Pairs:
    pairs: _Pairs = {}
    for i, rel in enumerate(c.relationships if c else ()):
        # A class pairs relationships with itself on its own (ClassDef checks that).
        if rel.inverse_predicate is not None and rel.target != source:
            pairs.setdefault(rel.target, {})[rel.inverse_predicate] = (i, rel.mirror(source))
    return pairs


def _mirror_updates(
    classes: Mapping[str, ClassDef], source: str, old: ClassDef | None, new: ClassDef | None
) -> tuple[list[ClassDef], list[Problem]]:
    """Targets rewritten so each relationship `new` gives an inverse has its mirror there,
    and mirrors of relationships `old` had but `new` lacks are gone."""
    before, after = _pairs(old, source), _pairs(new, source)
    updates: list[ClassDef] = []
    problems: list[Problem] = []
    for target_id in sorted(before.keys() | after.keys()):
        target = classes.get(target_id)
        if target is None:
            continue  # resolution reports the missing target
        stale = {q: m.inverse_predicate for q, (_, m) in before.get(target_id, {}).items()}
        wanted = dict(after.get(target_id, {}))
        kept: list[RelationshipDef] = []
        for rel in target.relationships:
            ours = rel.target == source and rel.inverse_predicate is not None
            if rel.predicate in wanted:
                i, mirror = wanted.pop(rel.predicate)
                pairs_with = {mirror.inverse_predicate, stale.get(rel.predicate)}
                adoptable = rel.inverse_predicate is None and rel.cardinality == mirror.cardinality
                if rel.target == source and (rel.inverse_predicate in pairs_with or adoptable):
                    # Keep what was said about the mirror itself; the pairing follows `new`.
                    same = {"label": rel.label, "description": rel.description}
                    kept.append(mirror.model_copy(update={**same, "required": rel.required}))
                    continue
                clash = f"{target_id} already has a relationship {rel.predicate!r} to {rel.target}"
                problems.append((f"relationships[{i}].inverse_predicate", clash))
            elif ours and stale.get(rel.predicate) == rel.inverse_predicate:
                continue  # the mirror of a relationship `new` no longer has
            kept.append(rel)
        taken = _taken(classes, target)
        for q, (i, mirror) in wanted.items():
            if q in taken:
                clash = f"{target_id} already has {q!r} (declared by {taken[q]})"
                problems.append((f"relationships[{i}].inverse_predicate", clash))
            else:
                kept.append(mirror)
        if tuple(kept) != target.relationships:
            updates.append(target.model_copy(update={"relationships": tuple(kept)}))
    return updates, problems


def _taken(classes: Mapping[str, ClassDef], c: ClassDef) -> dict[str, str]:
    """Names a new relationship of `c` would collide with: own properties and anything inherited."""
    taken = {p.name: c.id for p in c.properties}
    seen = {c.id}
    parent = c.parent_class
    while parent is not None and parent in classes and parent not in seen:
        seen.add(parent)
        for _, item in _members(classes[parent]):
            name = item.name if isinstance(item, PropertyDef) else item.predicate
            taken.setdefault(name, parent)
        parent = classes[parent].parent_class
    return taken
