"""Links between tables from foreign-key evidence: which column points at which table's key.

A column of table X refers to table Y when every one of its present values is a key value
of Y. Containment alone can be coincidence (small integers are contained in any numbered
key), so a link also needs the names to agree (`client_id` and `clients.client_id`,
`ship_from_warehouse` and `warehouses`) or, for codes, the same fixed shape on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

from spice_harvester.domain.inference.naming import own_identifier, stem, words
from spice_harvester.domain.ontology.classes import Cardinality

FULL = 1.0
WORTH_REPORTING = 0.5  # partial containment above this is reported, never linked
POLYMORPHIC_SHARE = 0.05  # a target holding at least this share of the values counts


@dataclass(frozen=True)
class Containment:
    """How much of one column lies within one table's key."""

    table: str
    column: str
    target_table: str
    target_key: str
    ratio: float  # distinct values of the column found among the key's values
    name_score: int  # see `name_agreement`
    same_shape: bool  # both sides follow one fixed code pattern


@dataclass(frozen=True)
class Link:
    table: str
    column: str
    target_table: str
    target_key: str
    predicate: str
    cardinality: Cardinality
    required: bool
    containment: float
    evidence: str


def name_agreement(column: str, target_table: str, target_key: str) -> int:
    """4: the target's own identifier by name (`client_id` and `clients.client_id`);
    3: same name as the key; 2: `<target>_id` or ends with the key's name (`cause_event_id`);
    1: names the target (`ship_from_warehouse`); 0: nothing in common."""
    lower = column.lower()
    key = target_key.lower()
    target = stem(target_table)
    if lower == key:
        return 4 if own_identifier(target_key, target_table) else 3
    if lower in (f"{target}_id", f"{target}id") or lower.endswith(f"_{key}"):
        return 2
    column_words = [w.lower() for w in words(column)]
    target_words = target.split("_")
    if target_words and column_words[-len(target_words) :] == target_words:
        return 1
    return 0


def plausible(found: Containment, key_is_numeric: bool) -> bool:
    """Full containment backed by names, or by a shared code shape for text keys."""
    if found.ratio < FULL:
        return False
    if found.name_score > 0:
        return True
    return found.same_shape and not key_is_numeric


def predicate_for(column: str, target_table: str, target_key: str) -> str:
    """The relationship's name: `client_id` -> `client`, `cause_event_id` -> `cause`,
    `ship_from_warehouse` -> `ship_from`."""
    lower = column.lower()
    target = stem(target_table)
    for suffix in (f"_{target_key.lower()}", f"_{target}"):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return column[: -len(suffix)]
    for suffix in ("_id", "id"):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return column[: -len(suffix)].rstrip("_")
    return column


def cardinality(repeats: bool) -> Cardinality:
    """n:1 when the referring column repeats a value, else 1:1."""
    return "n:1" if repeats else "1:1"


def best(found: list[Containment]) -> Containment:
    """Among full containments of one column, the best-named, then the smallest target."""
    return max(found, key=lambda c: (c.name_score, c.same_shape))


def polymorphic(found: list[Containment]) -> list[Containment]:
    """Targets that each hold a real share of a column's values when no single one holds all."""
    shares = [c for c in found if POLYMORPHIC_SHARE <= c.ratio < FULL]
    if len(shares) >= 2 and sum(c.ratio for c in shares) >= 0.99:
        return sorted(shares, key=lambda c: -c.ratio)
    return []
