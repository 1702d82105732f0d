"""Money in a column: amounts with currency symbols or codes, one currency or several."""

from __future__ import annotations

from typing import Any

import polars as pl

from spice_harvester.application.funnel.distinct import Distinct
from spice_harvester.application.funnel.scan_numbers import exact_bounds
from spice_harvester.domain.inference.evidence import Candidate
from spice_harvester.domain.inference.model import Ambiguity
from spice_harvester.domain.inference.money import (
    AMBIGUOUS_SYMBOLS,
    MARKER,
    NATIVE_MONEY,
    SYMBOLS,
    money_pattern,
)
from spice_harvester.domain.inference.numbers import FORMATS, PLAIN, NumberFormat
from spice_harvester.domain.ontology.types import ValueType

T = ValueType
# Amounts OMS reads bare when the property names its currency.
_OMS_BARE = r"^[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)$"


def scan_money(distinct: Distinct) -> list[Candidate]:
    if not distinct.worth(MARKER):
        return []
    best: tuple[int, NumberFormat, pl.Series] | None = None
    for number_format in FORMATS:
        mask = distinct.matches(money_pattern(number_format))
        rows = distinct.rows(mask)
        if rows and (best is None or rows > best[0]):
            best = (rows, number_format, mask)
    if best is None:
        return []
    _, number_format, marked = best
    currencies = _currencies(distinct, marked)
    bare = distinct.matches(number_format.pattern()) & ~marked
    mask = marked | bare if len(currencies) == 1 else marked
    constraints: dict[str, Any] = {}
    if len(currencies) == 1:
        constraints["currency"] = next(iter(currencies))
    if distinct.rows(mask) == distinct.present:
        constraints.update(_bounds(distinct, mask, number_format))
    native = number_format is PLAIN or number_format.example == "1,234.56"
    native = native and distinct.rows(
        mask & (distinct.matches(NATIVE_MONEY) | distinct.matches(_OMS_BARE))
    ) == distinct.rows(mask)
    several = "" if len(currencies) == 1 else f" in {len(currencies)} currencies"
    written = "" if number_format is PLAIN else f" written like {number_format.example}"
    return [
        distinct.candidate(
            T.MONEY,
            mask,
            f"amounts with a currency{several}{written}",
            format=None if native else number_format.example,
            native=native,
            constraints=constraints,
            ambiguities=_symbol_doubts(distinct, marked),
        )
    ]


def _markers(values: pl.Series) -> pl.Series:
    return values.str.extract(f"({MARKER})", 1)


def _currencies(distinct: Distinct, marked: pl.Series) -> dict[str, int]:
    markers = _markers(distinct.values).filter(marked)
    codes = markers.replace_strict(SYMBOLS, default=markers.str.to_uppercase())
    table = pl.DataFrame({"code": codes, "rows": distinct.counts.filter(marked)})
    totals = table.group_by("code").agg(pl.col("rows").sum())
    return dict(zip(totals["code"].to_list(), totals["rows"].to_list(), strict=True))


def _bounds(distinct: Distinct, mask: pl.Series, number_format: NumberFormat) -> dict[str, Any]:
    amounts = distinct.values.filter(mask).str.replace_all(MARKER, "").str.replace_all(r"\s", "")
    for mark in number_format.group:
        amounts = amounts.str.replace_all(mark, "", literal=True)
    if number_format.decimal != ".":
        amounts = amounts.str.replace_all(number_format.decimal, ".", literal=True)
    # A sign may stand before or after the symbol: "-$5" and "$-5" are both -5.
    negative = amounts.str.count_matches("-") % 2 == 1
    unsigned = amounts.str.replace_all(r"[+-]", "")
    signed = pl.select(pl.when(negative).then("-" + unsigned).otherwise(unsigned)).to_series()
    low, high = exact_bounds(signed)
    return {"min": low, "max": high}


def _symbol_doubts(distinct: Distinct, marked: pl.Series) -> tuple[Ambiguity, ...]:
    markers = set(_markers(distinct.values).filter(marked).unique().to_list())
    doubts = []
    for symbol, also in AMBIGUOUS_SYMBOLS.items():
        if symbol in markers:
            doubts.append(
                Ambiguity(
                    kind="currency",
                    message=f"{symbol} is read as {SYMBOLS[symbol]}, but it is {also}",
                    chosen=SYMBOLS[symbol],
                )
            )
    return tuple(doubts)
