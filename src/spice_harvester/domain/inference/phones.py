"""Phone numbers: OMS's phone rule, and the libphonenumber metadata restated as patterns.

Checking one number with libphonenumber costs some 15 microseconds, too slow for a column of
200,000 numbers. For international numbers written with digits and common separators only,
validity is exactly this: the country code's regions are tried in order (a region with
leading digits claims numbers starting with them; one without claims numbers valid for it),
and the number is valid if the claiming region's general pattern and any of its number-type
patterns match, lengths included. `CountryRules` holds those patterns so a column can be
checked with vectorised regular expressions; numbers the restatement does not cover (a
national prefix after the country code, extensions, letters) go to the rule itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.types import Constraints
from spice_harvester.domain.ontology.values_text import normalize_phone

# "+", a digit, then digits and the separators people write; ends on a digit.
INTERNATIONAL_SHAPE = r"^\+[0-9][0-9 ().\-/]*[0-9]$"
# A national number: digits with separators, optionally a bracketed area code.
NATIONAL_SHAPE = r"^\(?[0-9]{2,5}\)?(?:[ .\-/]?[0-9]{2,5}){1,4}$"
MAX_NATIONAL_DIGITS = 17
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@dataclass(frozen=True)
class Desc:
    """A number-type description: a full-match pattern and the allowed lengths (empty: any)."""

    pattern: str
    lengths: tuple[int, ...]


@dataclass(frozen=True)
class RegionRules:
    region: str
    leading_digits: str | None
    general: Desc
    types: tuple[Desc, ...]


@dataclass(frozen=True)
class CountryRules:
    code: int
    national_prefix: str | None  # numbers starting with it after the code go to the rule itself
    regions: tuple[RegionRules, ...]


def _desc(desc: PhoneNumberDesc | None) -> Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return Desc(desc.national_number_pattern, tuple(desc.possible_length))


def _region_rules(region: str) -> RegionRules | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None:
        return None
    general = _desc(metadata.general_desc)
    if general is None:
        return None
    types = tuple(
        desc for name in _TYPE_DESCS if (desc := _desc(getattr(metadata, name))) is not None
    )
    return RegionRules(region, metadata.leading_digits, general, types)


@cache
def country_rules(code: int) -> CountryRules | None:
    """The patterns for one country calling code; None where only the rule itself will do."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions or "001" in regions:  # non-geographic numbering plans
        return None
    rules = tuple(found for region in regions if (found := _region_rules(region)) is not None)
    if len(rules) != len(regions):
        return None
    main = PhoneMetadata.metadata_for_region(regions[0], None)
    prefix = main.national_prefix_for_parsing if main is not None else None
    return CountryRules(code, prefix or None, rules)


def country_codes() -> frozenset[int]:
    return frozenset(COUNTRY_CODE_TO_REGION_CODE)


def main_region(code: int) -> str | None:
    """The region a country calling code stands for (KR for 82, US for 1)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions or regions[0] == "001":
        return None
    return regions[0]


def is_phone(text: str, region: str | None) -> bool:
    """Whether OMS's phone rule accepts the text, with `region` as its region constraint."""
    try:
        normalize_phone(text, Constraints(region=region), "value")
    except ValidationFailed:
        return False
    return True
