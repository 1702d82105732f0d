"""Cells that mean "no value": empty text, whitespace and the words exports write for nothing."""

from __future__ import annotations

# Compared after trimming and lower-casing. "NA" is also Namibia's country code; a column of
# country codes that holds it loses those cells to "missing", which the counts make visible.
MISSING_WORDS: frozenset[str] = frozenset(
    {"", "null", "n/a", "na", "-", "none", "nan", "#n/a", "nil"}
)


def is_missing(raw: object) -> bool:
    """True for None, blank text and the missing words, in any case."""
    if raw is None:
        return True
    if isinstance(raw, float) and raw != raw:  # NaN
        return True
    return isinstance(raw, str) and raw.strip().lower() in MISSING_WORDS
