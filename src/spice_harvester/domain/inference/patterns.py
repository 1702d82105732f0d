"""Fixed-shape codes ("SKU-000123", "01234"): the regular expression every value follows.

A column's values are reduced to signatures at three levels of detail, each stand-in a
control character that cannot occur in the signature otherwise:

1. digits become DIGIT, letters stay (``SKU-000123`` -> ``SKU-DDDDDD``),
2. upper- and lower-case letters become UPPER and LOWER too,
3. letters and digits alike become ALNUM (tracking numbers mixing both).

When all values share one signature at some level, that signature is the pattern.
"""

from __future__ import annotations

import re
from itertools import groupby

DIGIT = "\x01"
UPPER = "\x02"
LOWER = "\x03"
ALNUM = "\x04"
# (regex that finds the characters, its stand-in) per level, applied in order.
LEVELS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("[0-9]", DIGIT),),
    (("[0-9]", DIGIT), ("[A-Z]", UPPER), ("[a-z]", LOWER)),
    (("[0-9A-Za-z]", ALNUM),),
)
_CLASSES = {DIGIT: r"\d", UPPER: "[A-Z]", LOWER: "[a-z]"}
_SPECIAL = frozenset(".^$*+?{}[]\\|()")
MAX_CODE_LENGTH = 64


def signature(text: str, level: int) -> str:
    """The signature of one value at one level (the columnar side computes the same)."""
    for pattern, stand_in in LEVELS[level]:
        text = re.sub(pattern, stand_in, text)
    return text


def render(sig: str, alnum_class: str = "[A-Za-z0-9]") -> str | None:
    """The anchored regular expression a signature stands for, or None if it says nothing.

    `alnum_class` is the character class ALNUM stands for: narrower when the column has,
    say, no lower-case letters.
    """
    if not any(char in sig for char in (DIGIT, UPPER, LOWER, ALNUM)):
        return None  # one literal value: an enum, not a code
    classes = {**_CLASSES, ALNUM: alnum_class}
    parts = ["^"]
    for char, run in groupby(sig):
        count = len(list(run))
        if char in classes:
            parts.append(classes[char] + (f"{{{count}}}" if count > 1 else ""))
        else:
            literal = "\\" + char if char in _SPECIAL else char
            parts.append(literal * count)
    parts.append("$")
    return "".join(parts)


def alnum_class(has_upper: bool, has_lower: bool, has_digit: bool) -> str:
    """The narrowest class covering the kinds of characters a column uses."""
    inner = (
        ("A-Z" if has_upper else "") + ("a-z" if has_lower else "") + ("0-9" if has_digit else "")
    )
    return f"[{inner or 'A-Za-z0-9'}]"
