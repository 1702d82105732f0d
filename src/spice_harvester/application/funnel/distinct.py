"""A column's distinct present values with their row counts: what every scan works on.

Each distinct value is classified once, whatever the number of rows holding it, and
whole-column regular expressions run on these values in polars rather than in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl

from spice_harvester.domain.inference.evidence import Candidate
from spice_harvester.domain.inference.model import Ambiguity
from spice_harvester.domain.ontology.types import ValueType

PROBE_SIZE = 256
# A type the probe shows for fewer than this share of values can neither fit every value
# nor be a near miss worth naming, so the whole column is not scanned for it.
PROBE_SHARE = 0.5
FAILING_SHOWN = 5


@dataclass(frozen=True)
class Distinct:
    values: pl.Series  # trimmed, non-missing, distinct (Utf8)
    counts: pl.Series  # rows holding each value
    present: int

    @cached_property
    def probe(self) -> pl.Series:
        return self.values.head(PROBE_SIZE)

    def probe_share(self, pattern: str) -> float:
        if self.probe.len() == 0:
            return 0.0
        return int(self.probe.str.contains(pattern).sum()) / self.probe.len()

    def worth(self, pattern: str) -> bool:
        return self.probe_share(pattern) >= PROBE_SHARE

    def matches(self, pattern: str) -> pl.Series:
        return self.values.str.contains(pattern)

    def contains(self, text: str) -> bool:
        return bool(self.values.str.contains(text, literal=True).any())

    def rows(self, mask: pl.Series) -> int:
        return int(self.counts.filter(mask).sum())

    def failing(self, mask: pl.Series) -> tuple[str, ...]:
        return tuple(self.values.filter(~mask).head(FAILING_SHOWN).to_list())

    def checked(self, mask: pl.Series, check: Callable[[str], bool]) -> pl.Series:
        """The mask narrowed by an exact Python check of the values it admits."""
        admitted = self.values.filter(mask).to_list()
        passed = [value for value in admitted if check(value)]
        return mask & self.values.is_in(pl.Series(passed, dtype=pl.String).implode())

    def candidate(
        self,
        type_: ValueType,
        mask: pl.Series,
        detail: str,
        *,
        format: str | None = None,
        native: bool = True,
        constraints: Mapping[str, Any] | None = None,
        ambiguities: tuple[Ambiguity, ...] = (),
    ) -> Candidate:
        return Candidate(
            type=type_,
            matched_rows=self.rows(mask),
            detail=detail,
            format=format,
            native=native,
            constraints=constraints or {},
            ambiguities=ambiguities,
            failing=self.failing(mask),
        )


def any_of(masks: Iterable[pl.Series], length: int) -> pl.Series:
    combined = pl.Series([False] * length, dtype=pl.Boolean)
    for mask in masks:
        combined = combined | mask
    return combined
