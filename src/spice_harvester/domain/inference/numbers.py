"""Numbers as people write them: plain, with thousands separators, or with a decimal comma.

Every pattern here is written in the regular-expression syntax shared by Python's `re` and
the Rust engine polars uses, so one definition serves single values and whole columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# What OMS reads as it is (its DECIMAL_TEXT without an exponent): "12", "-0.5", ".5", "5.".
PLAIN_DECIMAL = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
PLAIN_INTEGER = r"^[+-]?[0-9]+$"
EXPONENT = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+$"
# A zero before another digit makes a code ("007", "01234"): reading it as a number loses it.
LEADING_ZERO = r"^[+-]?0[0-9]"
# More digits than a 64-bit integer holds can only be a code or an identifier.
MAX_INTEGER_DIGITS = 18

_SPACES = " \u00a0\u202f"  # space, no-break space, narrow no-break space (French grouping)


@dataclass(frozen=True)
class NumberFormat:
    """How one column writes numbers: its thousands mark ("" for none) and decimal mark."""

    example: str  # 1234.56 written this way; also the `format` a profile reports
    group: str
    decimal: str

    @property
    def native(self) -> bool:
        """OMS reads these numbers without conversion."""
        return self.group == "" and self.decimal == "."

    def amount_pattern(self) -> str:
        """An unsigned amount (no anchors), grouped or not, with an optional fraction."""
        if self.native:
            return r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
        group = f"[{re.escape(self.group)}]"
        whole = rf"(?:[0-9]{{1,3}}(?:{group}[0-9]{{3}})+|[0-9]+)"
        return rf"{whole}(?:{re.escape(self.decimal)}[0-9]+)?"

    def pattern(self) -> str:
        """A whole number-or-decimal value in this format."""
        return rf"^[+-]?{self.amount_pattern()}$"

    def integer_pattern(self) -> str:
        """A whole number in this format (grouping allowed, no fraction)."""
        if self.native:
            return PLAIN_INTEGER
        group = f"[{re.escape(self.group)}]"
        return rf"^[+-]?(?:[0-9]{{1,3}}(?:{group}[0-9]{{3}})+|[0-9]+)$"

    def canonical(self, text: str) -> str:
        """The plain spelling of a value in this format: "1.234,5" -> "1234.5"."""
        plain = text.strip()
        for mark in self.group:
            plain = plain.replace(mark, "")
        if self.decimal != ".":
            plain = plain.replace(self.decimal, ".")
        return plain


PLAIN = NumberFormat("1234.56", "", ".")
COMMA_GROUPS = NumberFormat("1,234.56", ",", ".")
DOT_GROUPS = NumberFormat("1.234,56", ".", ",")
SPACE_GROUPS = NumberFormat("1 234,56", _SPACES, ",")
SPACE_GROUPS_POINT = NumberFormat("1 234.56", _SPACES, ".")
APOSTROPHE_GROUPS = NumberFormat("1'234.56", "'\u2019", ".")

# In order of preference when several fit every value of a column.
FORMATS: tuple[NumberFormat, ...] = (
    PLAIN,
    COMMA_GROUPS,
    DOT_GROUPS,
    SPACE_GROUPS,
    SPACE_GROUPS_POINT,
    APOSTROPHE_GROUPS,
)
_BY_EXAMPLE = {number_format.example: number_format for number_format in FORMATS}


def number_format(example: str | None) -> NumberFormat:
    """The format a profile names by its example; plain when none is named."""
    return _BY_EXAMPLE.get(example or "", PLAIN)


def parse_number(text: str, number_format: NumberFormat = PLAIN) -> Decimal | None:
    """The exact number the text writes in that format, or None when it is not one."""
    stripped = text.strip()
    if not (re.fullmatch(number_format.pattern(), stripped) or re.fullmatch(EXPONENT, stripped)):
        return None
    try:
        return Decimal(number_format.canonical(stripped))
    except InvalidOperation:
        return None
