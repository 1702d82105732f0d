"""The vectorised phone check agrees with libphonenumber number by number."""

from __future__ import annotations

import random

import phonenumbers
import polars as pl

from spice_harvester.application.funnel.distinct import Distinct
from spice_harvester.application.funnel.scan_phones import scan_phones

# Country codes with one region, several regions (+1, +44, +7) and national prefixes.
CODES = (82, 1, 44, 81, 49, 33, 86, 7, 61, 39, 55)


def numbers(seed: int, count: int) -> list[str]:
    pick = random.Random(seed)
    made = []
    for _ in range(count):
        code = pick.choice(CODES)
        digits = "".join(pick.choice("0123456789") for _ in range(pick.randint(7, 11)))
        made.append(f"+{code} {digits[:3]}-{digits[3:]}")
    return made


def test_each_number_is_judged_as_libphonenumber_judges_it() -> None:
    values = sorted(set(numbers(5, 3_000)))
    series = pl.Series(values, dtype=pl.String)
    distinct = Distinct(series, pl.Series([1] * len(values)), len(values))
    candidate = scan_phones(distinct, None, named_phone=True)[0]
    expected = sum(1 for v in values if phonenumbers.is_valid_number(phonenumbers.parse(v, None)))
    assert 0 < expected < len(values)
    assert candidate.matched_rows == expected
