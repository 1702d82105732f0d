"""Numbers and booleans: integer, decimal, float and boolean values in their stored forms."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from spice_harvester.domain.ontology.types import Constraints
from spice_harvester.domain.ontology.values_common import refuse, shown

_INTEGER = re.compile(r"[+-]?[0-9]+")
# Plain decimal notation with an optional exponent; no NaN, Infinity or digit underscores.
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

# Integers are stored as 64-bit numbers (xsd:long), which every client and database can hold.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Beyond this many digits either side of the point a "decimal" is an attack, not a quantity;
# it also keeps "1e999999" from expanding into a million-character string.
MAX_DIGITS = 100

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def normalize_integer(value: Any, _: Constraints, field: str) -> int:
    """An int from an int, an integral float, or a string of digits such as "-7"."""
    number: int
    if isinstance(value, bool):
        raise refuse(field, f"must be a whole number, not {shown(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(text := value.strip()):
        if len(text.lstrip("+-")) > 19:
            raise refuse(field, f"is too large for an integer: {shown(value)}")
        number = int(text)
    else:
        raise refuse(field, f"must be a whole number, not {shown(value)}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise refuse(field, f"is outside the 64-bit integer range; use a decimal: {shown(value)}")
    return number


def to_decimal(value: Any, field: str) -> Decimal:
    """The exact decimal a number or decimal string denotes."""
    number: Decimal
    if isinstance(value, bool):
        raise refuse(field, f"must be a number, not {shown(value)}")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise refuse(field, f"must be a finite number, not {shown(value)}")
        # repr gives the shortest text that round-trips, so 0.1 stays 0.1 rather than 0.1000...055
        number = Decimal(repr(value))
    elif isinstance(value, Decimal) and value.is_finite():
        number = value
    elif isinstance(value, str) and DECIMAL_TEXT.fullmatch(text := value.strip()):
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise refuse(field, f"has too many digits: {shown(value)}") from None
    else:
        raise refuse(field, f"must be a number, not {shown(value)}")
    if number.adjusted() >= MAX_DIGITS or _fraction_digits(number) > MAX_DIGITS:
        raise refuse(field, f"has too many digits: {shown(value)}")
    return number


def decimal_text(number: Decimal) -> str:
    """Fixed-point text keeping the scale given: 12.50 stays "12.50", 1E+3 becomes "1000"."""
    if number.is_zero():
        number = abs(number)  # "-0.00" is the same quantity as "0.00"; store one spelling
    return format(number, "f")


def _fraction_digits(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite decimals only reach here
    return max(0, -exponent)


def normalize_decimal(value: Any, constraints: Constraints, field: str) -> str:
    """The canonical decimal string, checked against precision and scale."""
    number = to_decimal(value, field)
    fraction = _fraction_digits(number)
    whole = max(0, number.adjusted() + 1)
    scale, precision = constraints.scale, constraints.precision
    # Refuse rather than round: silently changing a stored quantity would lose data.
    if scale is not None and fraction > scale:
        raise refuse(field, f"has more than {scale} digits after the point: {shown(value)}")
    if precision is not None and whole + fraction > precision:
        raise refuse(field, f"has more than {precision} digits: {shown(value)}")
    return decimal_text(number)


def normalize_float(value: Any, _: Constraints, field: str) -> float:
    """A finite float from a number or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise refuse(field, f"must be a number, not {shown(value)}")
    if isinstance(value, str) and not DECIMAL_TEXT.fullmatch(value.strip()):
        raise refuse(field, f"must be a number, not {shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise refuse(field, f"is too large for a float: {shown(value)}") from None
    if not math.isfinite(number):
        raise refuse(field, f"must be a finite number, not {shown(value)}")
    return number


def normalize_boolean(value: Any, _: Constraints, field: str) -> bool:
    """A bool from true/false, or from the strings true/false, yes/no, 1/0 in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise refuse(field, f"must be true or false, not {shown(value)}")
