"""Numbers in a column: which number format fits, whole or decimal, and their range."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

from spice_harvester.application.funnel.distinct import Distinct
from spice_harvester.domain.inference.evidence import Candidate
from spice_harvester.domain.inference.model import Ambiguity
from spice_harvester.domain.inference.numbers import (
    APOSTROPHE_GROUPS,
    COMMA_GROUPS,
    DOT_GROUPS,
    EXPONENT,
    FORMATS,
    LEADING_ZERO,
    MAX_INTEGER_DIGITS,
    PLAIN,
    SPACE_GROUPS,
    SPACE_GROUPS_POINT,
    NumberFormat,
)
from spice_harvester.domain.ontology.types import ValueType
from spice_harvester.domain.ontology.values_numbers import decimal_text

T = ValueType
NUMBERISH = r"^[+-]?[0-9.,'\u2019 \u00a0\u202f]*[0-9][0-9.,'\u2019 \u00a0\u202f]*$"
_MARKS: dict[NumberFormat, tuple[str, ...]] = {
    COMMA_GROUPS: (",",),
    DOT_GROUPS: (".", ","),
    SPACE_GROUPS: (" ", "\u00a0", "\u202f"),
    SPACE_GROUPS_POINT: (" ", "\u00a0", "\u202f"),
    APOSTROPHE_GROUPS: ("'", "\u2019"),
}


def leading_zero_rows(distinct: Distinct) -> int:
    if not distinct.worth(NUMBERISH):
        return 0
    return distinct.rows(distinct.matches(LEADING_ZERO) & distinct.matches(NUMBERISH))


def scan_numbers(distinct: Distinct) -> list[Candidate]:
    """Integer, decimal and float candidates (none for codes with leading zeros)."""
    exponent = distinct.contains("e") or distinct.contains("E")
    if not distinct.worth(NUMBERISH) and not exponent:
        return []
    if leading_zero_rows(distinct):
        return []
    candidates = [_float(distinct)] if exponent else []
    fitting = _formats(distinct)
    if fitting:
        chosen, mask = fitting[0]
        doubts = _format_doubts(distinct, fitting)
        candidates.append(_integer(distinct, chosen, mask, doubts))
        candidates.append(_decimal(distinct, chosen, mask, doubts))
    return candidates


def _formats(distinct: Distinct) -> list[tuple[NumberFormat, pl.Series]]:
    """Formats with their masks: those fitting every value first (by preference), then others."""
    scanned: list[tuple[NumberFormat, pl.Series, int]] = []
    for number_format in FORMATS:
        marks = _MARKS.get(number_format, ())
        if marks and not any(distinct.contains(mark) for mark in marks):
            continue
        mask = distinct.matches(number_format.pattern())
        scanned.append((number_format, mask, distinct.rows(mask)))
    full = [(f, m) for f, m, rows in scanned if rows == distinct.present]
    partial = sorted((s for s in scanned if s[2] < distinct.present), key=lambda s: -s[2])
    return full + [(f, m) for f, m, rows in partial if rows > 0]


def _canonical(values: pl.Series, number_format: NumberFormat) -> pl.Series:
    plain = values
    for mark in number_format.group:
        plain = plain.str.replace_all(mark, "", literal=True)
    if number_format.decimal != ".":
        plain = plain.str.replace_all(number_format.decimal, ".", literal=True)
    return plain


def _format_doubts(
    distinct: Distinct, fitting: list[tuple[NumberFormat, pl.Series]]
) -> tuple[Ambiguity, ...]:
    chosen, mask = fitting[0]
    if int(mask.sum()) < distinct.values.len():
        return ()  # the chosen format is a near miss; its doubts are not the story
    doubts = []
    ours = _canonical(distinct.values, chosen)
    for other, other_mask in fitting[1:]:
        if int(other_mask.sum()) < distinct.values.len():
            continue
        differs = (ours != _canonical(distinct.values, other)).fill_null(False)
        if not differs.any():
            continue
        example = str(distinct.values.filter(differs).item(0))
        doubts.append(
            Ambiguity(
                kind="number_format",
                message=(
                    f"{example} could be {chosen.canonical(example)} (written like "
                    f"{chosen.example}) or {other.canonical(example)} (written like "
                    f"{other.example}); read like {chosen.example}"
                ),
                chosen=chosen.example,
                alternatives=(other.example,),
                examples=tuple(distinct.values.filter(differs).head(5).to_list()),
            )
        )
    return tuple(doubts)


def _integer(
    distinct: Distinct, chosen: NumberFormat, mask: pl.Series, doubts: tuple[Ambiguity, ...]
) -> Candidate:
    whole = mask & distinct.matches(chosen.integer_pattern())
    canonical = _canonical(distinct.values, chosen).str.strip_chars_start("+")
    digits = canonical.str.strip_chars_start("-").str.len_chars()
    whole = whole & (digits <= MAX_INTEGER_DIGITS)
    constraints: dict[str, Any] = {}
    if distinct.rows(whole) == distinct.present:
        numbers = canonical.filter(whole).cast(pl.Int64)
        constraints = {"min": int(numbers.min()), "max": int(numbers.max())}  # type: ignore[arg-type]
    return distinct.candidate(
        T.INTEGER,
        whole,
        _detail("whole numbers", chosen),
        format=None if chosen.native else chosen.example,
        native=chosen.native,
        constraints=constraints,
        ambiguities=doubts,
    )


def _decimal(
    distinct: Distinct, chosen: NumberFormat, mask: pl.Series, doubts: tuple[Ambiguity, ...]
) -> Candidate:
    constraints: dict[str, Any] = {}
    if distinct.rows(mask) == distinct.present:
        canonical = _canonical(distinct.values, chosen)
        low, high = exact_bounds(canonical)
        constraints = {"min": low, "max": high}
    return distinct.candidate(
        T.DECIMAL,
        mask,
        _detail("decimal numbers", chosen),
        format=None if chosen.native else chosen.example,
        native=chosen.native,
        constraints=constraints,
        ambiguities=doubts,
    )


def _float(distinct: Distinct) -> Candidate:
    mask = distinct.matches(EXPONENT) | distinct.matches(PLAIN.pattern())
    constraints: dict[str, Any] = {}
    if distinct.rows(mask) == distinct.present:
        numbers = distinct.values.cast(pl.Float64, strict=False)
        constraints = {"min": float(numbers.min()), "max": float(numbers.max())}  # type: ignore[arg-type]
    return distinct.candidate(
        T.FLOAT, mask, "numbers, some in exponent notation", constraints=constraints
    )


def exact_bounds(canonical: pl.Series) -> tuple[str, str]:
    """The least and greatest of plain decimal texts, exactly (floats only narrow the search)."""
    approximate = canonical.cast(pl.Float64, strict=False)
    unread = approximate.is_null()
    low = _exact(
        canonical.filter((approximate == approximate.min()).fill_null(False) | unread), min
    )
    high = _exact(
        canonical.filter((approximate == approximate.max()).fill_null(False) | unread), max
    )
    return low, high


def _exact(texts: pl.Series, pick: Any) -> str:
    return decimal_text(pick(Decimal(text) for text in texts.to_list()))


def _detail(what: str, number_format: NumberFormat) -> str:
    if number_format.native:
        return what
    return f"{what} written like {number_format.example}"
