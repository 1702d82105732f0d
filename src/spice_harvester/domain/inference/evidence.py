"""What was measured on a column, before any decision: the input of `decide`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spice_harvester.domain.inference.hints import Concept
from spice_harvester.domain.inference.model import Ambiguity
from spice_harvester.domain.ontology.types import ValueType


@dataclass(frozen=True)
class Candidate:
    """One type the values might have, and how many of them fit it."""

    type: ValueType
    matched_rows: int
    detail: str  # completes "N of M values are ...": "ISO dates", "whole numbers"
    format: str | None = None
    native: bool = True  # OMS accepts the text as it is (else `convert_value` is needed)
    constraints: Mapping[str, Any] = field(default_factory=dict)
    ambiguities: tuple[Ambiguity, ...] = ()
    failing: tuple[str, ...] = ()  # a few distinct values that did not fit


@dataclass(frozen=True)
class TextStats:
    """Lengths and shape of the raw (untrimmed) values, for strings and enums."""

    min_length: int
    max_length: int
    mean_length: float
    has_newline: bool
    padded: int  # values with spaces around them
    pattern: str | None = None  # the fixed shape all values share, if any


@dataclass(frozen=True)
class ColumnEvidence:
    name: str
    row_count: int
    present: int  # rows with a value
    blank: int  # null cells and empty or whitespace-only text
    missing_tokens: Mapping[str, int]  # words meaning "nothing" as spelled: {"N/A": 3}
    distinct: int  # distinct values among the present ones, trimmed
    candidates: tuple[Candidate, ...]
    text: TextStats
    concepts: tuple[Concept, ...] = ()
    leading_zero_rows: int = 0
    # Distinct values by frequency when few enough for an enum; with case variants folded.
    enum_values: tuple[str, ...] | None = None
    case_variants: tuple[str, ...] = ()
    sample_values: tuple[str, ...] = ()

    @property
    def missing(self) -> int:
        return self.row_count - self.present
