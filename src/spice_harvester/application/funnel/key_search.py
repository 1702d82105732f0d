"""Finding a table's key: one unique column, else the smallest unique combination."""

from __future__ import annotations

from itertools import combinations
from math import prod

import polars as pl

from spice_harvester.domain.inference.keys import (
    composite_candidates,
    composite_key,
    composite_score,
    single_key,
)
from spice_harvester.domain.inference.model import ColumnProfile, KeySuggestion

MAX_KEY_COLUMNS = 3


def find_key(
    trimmed: pl.DataFrame, profiles: tuple[ColumnProfile, ...], table: str
) -> KeySuggestion | None:
    """The key of a table of trimmed values (missing cells as they were)."""
    rows = trimmed.height
    single = single_key(profiles, table, rows)
    if single is not None or rows < 2:
        return single
    candidates = composite_candidates(profiles)
    tried = 0
    for size in range(2, MAX_KEY_COLUMNS + 1):
        combos = sorted(
            combinations(candidates, size),
            key=lambda combo: -sum(composite_score(p) for p in combo),
        )
        found: list[tuple[str, ...]] = []
        for combo in combos:
            if prod(p.unique_count for p in combo) < rows:
                continue  # too few value combinations to tell every row apart
            names = tuple(p.column_name for p in combo)
            tried += 1
            if trimmed.n_unique(subset=list(names)) == rows:
                found.append(_in_table_order(names, profiles))
        if found:
            return composite_key(found, tried, rows)
    return single_key(profiles, table, rows, temporal=True)


def _in_table_order(names: tuple[str, ...], profiles: tuple[ColumnProfile, ...]) -> tuple[str, ...]:
    order = {p.column_name: i for i, p in enumerate(profiles)}
    return tuple(sorted(names, key=order.__getitem__))
