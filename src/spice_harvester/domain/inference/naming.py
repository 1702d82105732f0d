"""Names for what a table becomes: class ids from table names, property names from columns."""

from __future__ import annotations

import re

from spice_harvester.domain.ontology.classes import CLASS_ID_PATTERN, NAME_PATTERN

_KEEP_S = ("ss", "is", "ics")
# Singular words ending in -us; other words ending in -us are plurals ("skus", "menus").
# fmt: off
_LATIN_US = frozenset({
    "status", "campus", "bus", "virus", "bonus", "census", "corpus", "focus", "radius", "genus",
    "nexus", "syllabus", "stimulus", "cactus", "abacus", "consensus", "apparatus", "prospectus",
    "thesaurus", "octopus",
})
# fmt: on


def singular(word: str) -> str:
    """English plural to singular for the shapes table names take (categories, boxes, skus)."""
    lower = word.lower()
    if lower in _LATIN_US:
        return word
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + ("Y" if word[-3:].isupper() else "y")
    if lower.endswith("uses") and lower[:-2] in _LATIN_US:
        return word[:-2]
    if lower.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith(_KEEP_S) and len(word) > 2:
        return word[:-1]
    return word


def own_identifier(column: str, table: str) -> bool:
    """Whether a column is named as the table's own identifier: `id`, `order_id` in `orders`."""
    lower = column.lower()
    target = stem(table)
    return lower in ("id", f"{target}_id", f"{target}id", f"{table.lower()}_id")


def words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^0-9A-Za-z]+", spaced) if w]


def class_id(table: str, fallback: str = "Table") -> str:
    """`order_items` -> `OrderItem`; names without Latin letters get the fallback."""
    parts = words(table)
    if not parts:
        return fallback
    parts[-1] = singular(parts[-1])
    candidate = "".join(part[:1].upper() + part[1:] for part in parts)
    if not re.match(CLASS_ID_PATTERN, candidate):
        candidate = f"{fallback}{candidate}" if re.match(r"^[0-9]", candidate) else fallback
    return candidate[:100]


def stem(table: str) -> str:
    """`order_items` -> `order_item`: the singular snake-case name rows of a table go by."""
    parts = [part.lower() for part in words(table)]
    if parts:
        parts[-1] = singular(parts[-1])
    return "_".join(parts)


def property_name(column: str, position: int, taken: set[str]) -> str:
    """A valid property name for a column (letters, digits, _), unique among `taken`."""
    base = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_")
    if base and base[0].isdigit():
        base = f"_{base}"
    if not base or not re.match(NAME_PATTERN, base[:100]):
        base = f"column_{position + 1}"
    base = base[:96]
    name, counter = base, 2
    while name in taken:
        name, counter = f"{base}_{counter}", counter + 1
    taken.add(name)
    return name
