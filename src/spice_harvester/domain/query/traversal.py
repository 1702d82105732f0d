"""Graph query hops planned against a schema: which relationship each hop follows, in which
direction, and which classes it reaches.

A hop names a predicate, and may name the class it reaches (`target_class`) and a direction:

- `"out"` follows a relationship of the current class (its values are the targets' ids);
- `"in"` follows a relationship of `target_class` that points back at the current class
  (the instances whose values hold the current nodes' ids);
- without a direction, a hop goes out when the current class has the predicate (and it can
  reach `target_class`), else in when exactly one class has a relationship by that name
  pointing at the current class. Several such classes, or none, are refused naming them.

So `{"predicate": "owned_by", "target_class": "Product"}` from Customer goes in (Customer has
no `owned_by`), and `{"predicate": "owns"}` goes out along the inverse OMS keeps on Customer;
for a relationship from a class to itself, out wins unless the hop says `"direction": "in"`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from spice_harvester.domain.errors import SpiceError, ValidationFailed
from spice_harvester.domain.ontology.classes import RelationshipDef
from spice_harvester.domain.ontology.schema import Schema

Direction = Literal["out", "in"]
DIRECTIONS: tuple[Direction, ...] = ("out", "in")
Resolver = Callable[[str, str, str], str | None]
"""(class id, the predicate as asked, where it was asked) -> the predicate of one of the
class's relationships it names, or None."""


@dataclass(frozen=True)
class HopRequest:
    predicate: str
    target_class: str | None = None
    direction: str | None = None


@dataclass(frozen=True)
class Hop:
    """A planned hop. `reached`: the classes whose instances it can reach (`target_class`
    and its subclasses that may have instances). `looked_up` (out hops): the classes a link
    may point into, so that an id found in none of them is a missing target."""

    predicate: str
    direction: Direction
    source_class: str
    target_class: str
    relationship_target: str
    reached: tuple[str, ...]
    looked_up: tuple[str, ...]

    def as_dict(self) -> dict[str, str]:
        return {
            "predicate": self.predicate,
            "direction": self.direction,
            "source_class": self.source_class,
            "target_class": self.target_class,
        }


def concrete_classes(schema: Schema, class_id: str) -> tuple[str, ...]:
    """The class and its subclasses that may have instances."""
    if class_id not in schema:
        return ()
    candidates = [class_id, *schema.subclasses(class_id)]
    return tuple(c for c in candidates if not schema.class_def(c).abstract)


def exact_predicates(schema: Schema) -> Resolver:
    """Predicates named by id only (OMS)."""

    def resolve(class_id: str, text: str, where: str) -> str | None:
        return text if schema.resolved(class_id).relationship(text) is not None else None

    return resolve


def plan_hops(
    schema: Schema, start_class: str, hops: Sequence[HopRequest], resolve: Resolver
) -> list[Hop]:
    """Every hop planned from `start_class` on, or 422 naming the hop's bad part."""
    planned: list[Hop] = []
    current = start_class
    for i, hop in enumerate(hops):
        step = _plan(schema, current, hop, resolve, f"hops[{i}]")
        planned.append(step)
        current = step.target_class
    return planned


def _plan(schema: Schema, current: str, hop: HopRequest, resolve: Resolver, where: str) -> Hop:
    target = hop.target_class
    if target is not None and target not in schema:
        raise ValidationFailed(
            f"{where}.target_class: class {target!r} does not exist",
            field=f"{where}.target_class",
            data={"class_id": target},
        )
    if hop.direction is not None and hop.direction not in DIRECTIONS:
        raise ValidationFailed(
            f"{where}.direction: {hop.direction!r} is neither out nor in",
            field=f"{where}.direction",
        )
    if hop.direction != "in":
        forward = _forward(schema, current, hop, resolve, where)
        if isinstance(forward, Hop):
            return forward
        if hop.direction == "out":
            raise ValidationFailed(forward, field=f"{where}.predicate")
    backward = _backward(schema, current, hop, resolve, where)
    if isinstance(backward, Hop):
        return backward
    if hop.direction is None:
        backward = f"{forward}, and {backward}"
    raise ValidationFailed(f"{where}.predicate: {backward}", field=f"{where}.predicate")


def _forward(
    schema: Schema, current: str, hop: HopRequest, resolve: Resolver, where: str
) -> Hop | str:
    """The out hop, or why there is none."""
    predicate = resolve(current, hop.predicate, f"{where}.predicate")
    rel = schema.resolved(current).relationship(predicate) if predicate else None
    if rel is None:
        return f"{current} has no relationship {hop.predicate!r}"
    reached = _narrower(schema, rel.target, hop.target_class)
    if reached is None:
        return f"{current}.{rel.predicate} points at {rel.target}, not {hop.target_class}"
    return Hop(
        rel.predicate,
        "out",
        current,
        reached,
        rel.target,
        concrete_classes(schema, reached),
        concrete_classes(schema, rel.target),
    )


def _backward(
    schema: Schema, current: str, hop: HopRequest, resolve: Resolver, where: str
) -> Hop | str:
    """The in hop, or why there is none."""
    owners = [hop.target_class] if hop.target_class is not None else sorted(schema.classes)
    found: list[tuple[str, RelationshipDef]] = []
    for owner in owners:
        rel = _pointing_back(schema, owner, current, hop, resolve, where)
        # An inherited relationship is found once, on the class that declares it.
        declared_here = rel is not None and (
            hop.target_class is not None
            or schema.resolved(owner).declared_by.get(rel.predicate, owner) == owner
        )
        if rel is not None and declared_here:
            found.append((owner, rel))
    if not found:
        if hop.target_class is None:
            return f"no class has a relationship {hop.predicate!r} pointing at {current}"
        return f"{hop.target_class} has no relationship {hop.predicate!r} pointing at {current}"
    if len(found) > 1:
        named = ", ".join(f"{owner}.{rel.predicate}" for owner, rel in found)
        raise ValidationFailed(
            f"{where}.predicate: several classes have {hop.predicate!r} pointing at {current} "
            f"({named}); give target_class",
            field=f"{where}.target_class",
            data={"candidates": [{"class_id": o, "predicate": r.predicate} for o, r in found]},
        )
    owner, rel = found[0]
    reached = concrete_classes(schema, owner)
    return Hop(rel.predicate, "in", current, owner, rel.target, reached, reached)


def _pointing_back(
    schema: Schema, owner: str, current: str, hop: HopRequest, resolve: Resolver, where: str
) -> RelationshipDef | None:
    try:
        resolved = schema.resolved(owner)
    except SpiceError:
        return None  # a class that does not resolve has nothing to offer here
    predicate = resolve(owner, hop.predicate, f"{where}.predicate")
    rel = resolved.relationship(predicate) if predicate else None
    if rel is None or _narrower(schema, rel.target, current) is None:
        return None
    return rel


def _narrower(schema: Schema, one: str, other: str | None) -> str | None:
    """The narrower of two classes when one inherits from the other (either may be asked
    for), else None; `one` when `other` is None."""
    if other is None or schema.is_subclass_of(other, one):
        return other or one
    if schema.is_subclass_of(one, other):
        return one
    return None
