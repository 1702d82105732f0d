"""Phone numbers in a column, checked in full: international numbers by libphonenumber's own
patterns run as vectorised regular expressions, the rest by OMS's phone rule one by one."""

from __future__ import annotations

from collections import Counter

import polars as pl

from spice_harvester.application.funnel.distinct import Distinct
from spice_harvester.domain.inference.evidence import Candidate
from spice_harvester.domain.inference.phones import (
    INTERNATIONAL_SHAPE,
    MAX_NATIONAL_DIGITS,
    NATIONAL_SHAPE,
    CountryRules,
    Desc,
    RegionRules,
    country_codes,
    country_rules,
    is_phone,
    main_region,
)
from spice_harvester.domain.ontology.types import ValueType

T = ValueType


def scan_phones(distinct: Distinct, region: str | None, named_phone: bool) -> list[Candidate]:
    """A phone candidate when the values look like phone numbers.

    National numbers (no +) count only with a region (given, or that of the column's
    international numbers) and, unless the column is named like a phone, with separators.
    """
    international = distinct.matches(INTERNATIONAL_SHAPE)
    national_shape = NATIONAL_SHAPE if named_phone else r"[ .\-/()]"
    shares = distinct.probe_share(INTERNATIONAL_SHAPE) + (
        distinct.probe_share(NATIONAL_SHAPE) if region or named_phone else 0.0
    )
    if shares < 0.5:
        return []
    valid, codes = _international(distinct, international)
    region = region or _region_of(codes)
    national = ~international & distinct.matches(NATIONAL_SHAPE)
    national = national & distinct.matches(national_shape)
    if region is not None and national.any():
        chosen_region = region
        valid = valid | distinct.checked(national, lambda text: is_phone(text, chosen_region))
    constraints = {"region": region} if region else {}
    detail = "phone numbers" + (f" (national ones read as {region})" if national.any() else "")
    return [distinct.candidate(T.PHONE, valid, detail, constraints=constraints)]


def _region_of(codes: Counter[int]) -> str | None:
    for code, _ in codes.most_common():
        region = main_region(code)
        if region is not None:
            return region
    return None


def _international(distinct: Distinct, shaped: pl.Series) -> tuple[pl.Series, Counter[int]]:
    """Which values are valid international numbers, and how many rows each code has."""
    digits = distinct.values.str.replace_all(r"[^0-9]", "")
    code = _calling_codes(digits)
    valid = _none(distinct.values.len())
    codes: Counter[int] = Counter()
    for calling_code in code.filter(shaped).drop_nulls().unique().to_list():
        in_country = (shaped & (code == calling_code)).fill_null(False)
        codes[calling_code] = distinct.rows(in_country)
        national = digits.str.slice(len(str(calling_code)))
        rules = country_rules(calling_code)
        decided = _none(distinct.values.len())
        if rules is not None:
            decided = in_country & ~_needs_rule(national, rules)
            passed = _valid(national.filter(decided), rules)
            found = distinct.values.filter(decided).filter(passed)
            valid = valid | distinct.values.is_in(found.implode())
        # What the patterns do not settle, OMS's phone rule does.
        valid = valid | distinct.checked(in_country & ~decided, lambda text: is_phone(text, None))
    return valid, codes


def _none(size: int) -> pl.Series:
    return pl.Series([False] * size, dtype=pl.Boolean)


def _calling_codes(digits: pl.Series) -> pl.Series:
    known = pl.Series(sorted(country_codes()), dtype=pl.Int64)
    frame = pl.DataFrame({"d": digits})
    expression: pl.Expr = pl.lit(None, dtype=pl.Int64)
    # Calling codes are prefix-free, so at most one of the three lengths is a code.
    for length in (3, 2, 1):
        prefix = pl.col("d").str.slice(0, length).cast(pl.Int64, strict=False)
        fits = prefix.is_in(known.implode()) & (pl.col("d").str.len_chars() > length)
        expression = pl.when(fits).then(prefix).otherwise(expression)
    return frame.select(expression.alias("code")).to_series()


def _needs_rule(national: pl.Series, rules: CountryRules) -> pl.Series:
    lengths = national.str.len_chars()
    unusual = (lengths < 2) | (lengths > MAX_NATIONAL_DIGITS)
    if rules.national_prefix:
        unusual = unusual | national.str.contains(f"^(?:{rules.national_prefix})")
    return unusual


def _matches(national: pl.Series, desc: Desc) -> pl.Series:
    fits = national.str.contains(f"^(?:{desc.pattern})$")
    if desc.lengths:
        allowed = pl.Series(desc.lengths, dtype=pl.UInt32).implode()
        fits = fits & national.str.len_chars().is_in(allowed)
    return fits


def _valid_here(national: pl.Series, region: RegionRules) -> pl.Series:
    typed = _none(national.len())
    for desc in region.types:
        typed = typed | _matches(national, desc)
    return _matches(national, region.general) & typed


def _valid(national: pl.Series, rules: CountryRules) -> pl.Series:
    """libphonenumber's is_valid_number for the digits after the calling code.

    With one region the number must be valid there; with several, the first region that
    claims the number (by its leading digits, or else by the number being valid for it)
    decides.
    """
    if len(rules.regions) == 1:
        return _valid_here(national, rules.regions[0])
    frame = pl.DataFrame({"n": national, "i": pl.int_range(0, national.len(), eager=True)})
    valid_rows: list[pl.Series] = []
    for region in rules.regions:
        if frame.height == 0:
            break
        remaining = frame["n"]
        valid_here = _valid_here(remaining, region)
        if region.leading_digits is not None:
            claims = remaining.str.contains(f"^(?:{region.leading_digits})")
        else:
            claims = valid_here
        valid_rows.append(frame["i"].filter(claims & valid_here))
        frame = frame.filter(~claims)
    found = pl.concat(valid_rows) if valid_rows else pl.Series([], dtype=pl.Int64)
    return pl.int_range(0, national.len(), eager=True).is_in(found.implode())
