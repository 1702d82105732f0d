"""One column measured: missing cells, distinct values, every type's fit, text shape."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from spice_harvester.application.funnel.distinct import Distinct
from spice_harvester.application.funnel.scan_dates import scan_dates, scan_times
from spice_harvester.application.funnel.scan_money import scan_money
from spice_harvester.application.funnel.scan_numbers import leading_zero_rows, scan_numbers
from spice_harvester.application.funnel.scan_phones import scan_phones
from spice_harvester.application.funnel.scan_text import (
    scan_coordinates,
    scan_identifiers,
    scan_json,
)
from spice_harvester.domain.inference.booleans import read_words
from spice_harvester.domain.inference.decide import ENUM_MAX_VALUES
from spice_harvester.domain.inference.evidence import Candidate, ColumnEvidence, TextStats
from spice_harvester.domain.inference.hints import Concept, concepts
from spice_harvester.domain.inference.missing import MISSING_WORDS
from spice_harvester.domain.inference.patterns import (
    LEVELS,
    MAX_CODE_LENGTH,
    alnum_class,
    render,
)
from spice_harvester.domain.ontology.types import ValueType

T = ValueType
SAMPLES_SHOWN = 5
# Types a column of digit codes also fits; such a column may still become a string.
_DIGIT_CODES = frozenset({T.INTEGER, T.DECIMAL, T.FLOAT})
_BOOLEAN_MAX_SPELLINGS = 8  # "Yes", "yes", "YES", "no", ... of one pair


@dataclass(frozen=True)
class ScanOptions:
    include_complex_types: bool = False
    phone_region: str | None = None


@dataclass(frozen=True)
class Scanned:
    evidence: ColumnEvidence
    trimmed: pl.Series  # every cell trimmed, in row order (missing ones included)


def scan_column(raw: pl.Series, options: ScanOptions) -> Scanned:
    name = raw.name
    trimmed = raw.str.strip_chars()
    blank = (trimmed.is_null() | (trimmed == "")).fill_null(True)
    words = pl.Series(sorted(MISSING_WORDS), dtype=pl.String).implode()
    token = trimmed.str.to_lowercase().is_in(words).fill_null(False)
    token = token & ~blank
    present = ~(blank | token)
    # In order of first appearance, so examples and failures show in row order.
    counted = (
        pl.DataFrame({"value": trimmed.filter(present)})
        .group_by("value", maintain_order=True)
        .len(name="rows")
    )
    distinct = Distinct(counted["value"], counted["rows"], int(present.sum()))
    found = concepts(name)
    candidates = _candidates(distinct, found, options)
    text = _text_stats(raw.filter(present), distinct, candidates)
    enum_values, case_variants = _enum_values(distinct)
    evidence = ColumnEvidence(
        name=name,
        row_count=raw.len(),
        present=distinct.present,
        blank=int(blank.sum()),
        missing_tokens=_token_counts(trimmed.filter(token)),
        distinct=distinct.values.len(),
        candidates=tuple(candidates),
        text=text,
        concepts=found,
        leading_zero_rows=leading_zero_rows(distinct),
        sample_values=tuple(
            raw.filter(present).head(200).unique(maintain_order=True).head(SAMPLES_SHOWN)
        ),
        enum_values=enum_values,
        case_variants=case_variants,
    )
    return Scanned(evidence, trimmed)


def _candidates(
    distinct: Distinct, found: tuple[Concept, ...], options: ScanOptions
) -> list[Candidate]:
    if distinct.present == 0:
        return []
    candidates = scan_identifiers(distinct)
    candidates += scan_phones(distinct, options.phone_region, Concept.PHONE in found)
    if options.include_complex_types or Concept.COORDINATE in found:
        candidates += scan_coordinates(distinct)
    candidates += scan_dates(distinct)
    candidates += scan_times(distinct)
    candidates += scan_money(distinct)
    candidates += _booleans(distinct)
    candidates += scan_numbers(distinct)
    if options.include_complex_types:
        candidates += scan_json(distinct)
    return candidates


def _booleans(distinct: Distinct) -> list[Candidate]:
    if distinct.values.len() > _BOOLEAN_MAX_SPELLINGS:
        return []
    reading = read_words(set(distinct.values.to_list()))
    if reading is None:
        return []
    every = pl.Series([True] * distinct.values.len(), dtype=pl.Boolean)
    return [
        distinct.candidate(
            T.BOOLEAN,
            every,
            f"the words {reading.words}",
            format=None if reading.native else reading.words,
            native=reading.native,
        )
    ]


def _token_counts(tokens: pl.Series) -> dict[str, int]:
    if tokens.len() == 0:
        return {}
    counted = tokens.rename("value").value_counts(name="rows", sort=True)
    return dict(zip(counted["value"].to_list(), counted["rows"].to_list(), strict=True))


def _enum_values(distinct: Distinct) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """Values by frequency, case variants folded, when few and repeated enough for an enum."""
    size = distinct.values.len()
    if not 2 <= size <= ENUM_MAX_VALUES * 2 or distinct.present < 2 * size:
        return None, ()
    ordered = pl.DataFrame({"value": distinct.values, "rows": distinct.counts}).sort(
        ["rows", "value"], descending=[True, False]
    )
    spellings: dict[str, str] = {}
    variants: list[str] = []
    for value in ordered["value"].to_list():
        folded = value.casefold()
        if folded in spellings:
            variants.append(value)
        else:
            spellings[folded] = value
    if len(spellings) > ENUM_MAX_VALUES:
        return None, ()
    return tuple(spellings.values()), tuple(variants)


def _text_stats(
    raw_present: pl.Series, distinct: Distinct, candidates: list[Candidate]
) -> TextStats:
    lengths = raw_present.str.len_chars()
    padded = int((raw_present != raw_present.str.strip_chars()).sum())
    if raw_present.len() == 0:
        return TextStats(0, 0, 0.0, False, 0)
    settled = any(
        c.matched_rows == distinct.present and c.type not in _DIGIT_CODES for c in candidates
    )
    pattern = None if settled or padded else code_pattern(distinct.values)
    return TextStats(
        min_length=int(lengths.min()),  # type: ignore[arg-type]
        max_length=int(lengths.max()),  # type: ignore[arg-type]
        mean_length=float(lengths.mean()),  # type: ignore[arg-type]
        has_newline=bool(raw_present.str.contains("\n", literal=True).any()),
        padded=padded,
        pattern=pattern,
    )


def code_pattern(values: pl.Series) -> str | None:
    """The one fixed shape all values follow, if they follow one (see domain patterns)."""
    if values.len() < 2:
        return None
    probe = values.head(256)
    if probe.str.contains(r"\s").any() or probe.str.len_chars().max() > MAX_CODE_LENGTH:  # type: ignore[operator]
        return None
    for level, rules in enumerate(LEVELS):
        if _signatures(probe, rules).n_unique() > 1:
            continue
        signatures = _signatures(values, rules).unique()
        if signatures.len() != 1:
            continue
        klass = "[A-Za-z0-9]"
        if level == 2:
            klass = alnum_class(
                bool(values.str.contains("[A-Z]").any()),
                bool(values.str.contains("[a-z]").any()),
                bool(values.str.contains("[0-9]").any()),
            )
        return render(str(signatures.item(0)), klass)
    return None


def _signatures(values: pl.Series, rules: tuple[tuple[str, str], ...]) -> pl.Series:
    for pattern, stand_in in rules:
        values = values.str.replace_all(pattern, stand_in)
    return values
