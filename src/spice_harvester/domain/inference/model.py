"""The results of profiling: frozen, JSON-ready records of what a column or table holds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from spice_harvester.domain.ontology.types import ValueType


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """A plain JSON object; options that were not found are left out."""
        return self.model_dump(mode="json", exclude_none=True)


class InferredType(_Record):
    type: ValueType
    confidence: float = Field(ge=0, le=1)
    reason: str


class Ambiguity(_Record):
    """Something the values leave open, with the reading that was chosen and the others."""

    kind: str  # "type", "date_order", "number_format", "currency", "name_hint", "case"...
    message: str
    chosen: str | None = None
    alternatives: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


class NonMatching(_Record):
    """A value that did not fit the type named, and the first data row (1-based) holding it."""

    value: str
    row: int
    expected: ValueType


class ColumnProfile(_Record):
    """What one column holds.

    `format` names how the text is written when OMS cannot read it as it is:
    an strptime pattern for dates and datetimes ("%d/%m/%Y"), an example number
    ("1.234,56") for numbers and money amounts, the true/false words for booleans
    ("ja/nein"), or "json" for arrays and objects. `needs_conversion` says whether
    cells must go through `convert_value` before OMS accepts them.
    """

    column_name: str
    inferred_type: InferredType
    row_count: int
    null_count: int  # every missing cell: nulls, blanks and words such as N/A
    blank_count: int
    missing_tokens: dict[str, int] = Field(default_factory=dict)
    unique_count: int
    sample_values: tuple[str, ...] = ()
    suggested_constraints: dict[str, Any] = Field(default_factory=dict)
    required: bool
    unique: bool
    format: str | None = None
    needs_conversion: bool = False
    ambiguities: tuple[Ambiguity, ...] = ()
    non_matching: tuple[NonMatching, ...] = ()
    name_hints: tuple[str, ...] = ()


class KeySuggestion(_Record):
    """The columns whose values identify a row, and why they were chosen."""

    columns: tuple[str, ...]
    evidence: str
    alternatives: tuple[tuple[str, ...], ...] = ()


class TableProfile(_Record):
    columns: tuple[ColumnProfile, ...]
    row_count: int
    profiled_rows: int  # fewer than row_count when sampled
    key: KeySuggestion | None = None

    def column(self, name: str) -> ColumnProfile:
        for profile in self.columns:
            if profile.column_name == name:
                return profile
        raise KeyError(name)
