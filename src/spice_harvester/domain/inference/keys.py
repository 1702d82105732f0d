"""Which columns may identify a row, in which order to try them, and how to say why."""

from __future__ import annotations

from spice_harvester.domain.inference.hints import Concept
from spice_harvester.domain.inference.model import ColumnProfile, KeySuggestion
from spice_harvester.domain.inference.naming import singular, stem
from spice_harvester.domain.ontology.types import ValueType

T = ValueType
# Never part of a key: measured or free values repeat by accident or change.
_UNKEYABLE = frozenset(
    {T.TEXT, T.FLOAT, T.DECIMAL, T.MONEY, T.OBJECT, T.ARRAY, T.BOOLEAN, T.COORDINATE}
)
_MEASURES = frozenset({Concept.QUANTITY, Concept.MONEY, Concept.TEXT})
_TEMPORAL = frozenset({T.DATE, T.DATETIME, T.TIME})
MAX_COMPOSITE_CANDIDATES = 8


def keyable(profile: ColumnProfile) -> bool:
    """Scalar, never missing, not a measure: a column a key may use."""
    return (
        profile.null_count == 0
        and profile.inferred_type.type not in _UNKEYABLE
        and not any(Concept(hint) in _MEASURES for hint in profile.name_hints)
    )


def _id_like(name: str) -> bool:
    lower = name.lower()
    suffixes = ("_id", "_key", "_code", "_no", "_number")
    return lower == "id" or lower.endswith(suffixes) or name.endswith("Id")


def single_rank(profile: ColumnProfile, table: str) -> int:
    """Lower is better: `<table>_id`, then `id`, then id-like names and codes, dates last."""
    name = profile.column_name.lower()
    own = {f"{stem(table)}_id", f"{table.lower()}_id", f"{singular(table.lower())}_id"}
    hints = {Concept(h) for h in profile.name_hints}
    type_ = profile.inferred_type.type
    if name in own:
        return 0
    if name == "id":
        return 1
    if _id_like(name) or hints & {Concept.IDENTIFIER, Concept.CODE}:
        return 2
    if type_ is T.UUID or "pattern" in profile.suggested_constraints:
        return 3
    if type_ in (T.INTEGER, T.STRING):
        return 4
    if type_ in (T.DATE, T.DATETIME, T.TIME):
        return 8
    return 6


def composite_score(profile: ColumnProfile) -> int:
    """Higher is better: line numbers, then identifiers, then dates and categories."""
    hints = {Concept(h) for h in profile.name_hints}
    type_ = profile.inferred_type.type
    if Concept.SEQUENCE in hints and type_ is T.INTEGER:
        return 5
    if _id_like(profile.column_name) or hints & {Concept.IDENTIFIER, Concept.CODE}:
        return 4
    if type_ in (T.DATE, T.ENUM) or "pattern" in profile.suggested_constraints:
        return 3
    if type_ is T.DATETIME:
        return 2
    return 1


def single_key(
    profiles: tuple[ColumnProfile, ...], table: str, rows: int, *, temporal: bool = False
) -> KeySuggestion | None:
    """The best column that is unique and never missing, if any.

    Dates and times count only with `temporal`: a unique timestamp is usually a coincidence,
    so they are the last resort after combinations of other columns.
    """
    unique = [
        p
        for p in profiles
        if keyable(p)
        and p.unique_count == rows
        and rows > 0
        and (temporal or p.inferred_type.type not in _TEMPORAL)
    ]
    if not unique:
        return None
    ranked = sorted(unique, key=lambda p: single_rank(p, table))
    best = ranked[0]
    return KeySuggestion(
        columns=(best.column_name,),
        evidence=f"{best.column_name} is unique and never missing in {rows:,} rows",
        alternatives=tuple((p.column_name,) for p in ranked[1:4]),
    )


def composite_candidates(profiles: tuple[ColumnProfile, ...]) -> list[ColumnProfile]:
    """The columns worth combining, best first, at most MAX_COMPOSITE_CANDIDATES."""
    usable = [p for p in profiles if keyable(p) and p.unique_count > 1]
    usable.sort(key=lambda p: -composite_score(p))
    return usable[:MAX_COMPOSITE_CANDIDATES]


def composite_key(found: list[tuple[str, ...]], tried: int, rows: int) -> KeySuggestion | None:
    """The suggestion for the unique combinations found (best first), if any."""
    if not found:
        return None
    columns = found[0]
    return KeySuggestion(
        columns=columns,
        evidence=(
            f"no single column is unique; ({', '.join(columns)}) is unique and never missing "
            f"across {rows:,} rows ({tried} combinations tried)"
        ),
        alternatives=tuple(found[1:4]),
    )
