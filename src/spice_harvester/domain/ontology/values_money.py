"""Money: an exact amount with an ISO 4217 currency, read from the forms people write."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from spice_harvester.domain.ontology.types import Constraints
from spice_harvester.domain.ontology.values_common import refuse, shown
from spice_harvester.domain.ontology.values_numbers import DECIMAL_TEXT, decimal_text, to_decimal

# Symbols that name one currency in practice; the full-width forms come from Korean and
# Japanese input methods. "$" is read as USD: give a code ("12.50 CAD") for other dollars.
SYMBOLS: dict[str, str] = {
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "￥": "JPY",
    "₩": "KRW",
    "￦": "KRW",
}

# Commas are accepted only as thousands separators ("12,000"); "12,50" is ambiguous and refused.
_UNSIGNED = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_AMOUNT = rf"[+-]?{_UNSIGNED}"
_CODE_FIRST = re.compile(rf"([A-Za-z]{{3}})\s*({_AMOUNT})")
_CODE_LAST = re.compile(rf"({_AMOUNT})\s*([A-Za-z]{{3}})")
_SYMBOL = "".join(re.escape(symbol) for symbol in SYMBOLS)
_SYMBOL_FIRST = re.compile(rf"([+-]?)\s*([{_SYMBOL}])\s*({_UNSIGNED})")
_GROUPED = re.compile(_AMOUNT)
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_KEYS = frozenset({"amount", "currency"})


def normalize_money(value: Any, constraints: Constraints, field: str) -> dict[str, str]:
    """{"amount": "<decimal string>", "currency": "<ISO 4217>"} from a dict, text or a number."""
    amount: Decimal
    code: str | None
    if isinstance(value, Mapping):
        amount, code = _from_mapping(value, field)
    elif isinstance(value, str):
        amount, code = _from_text(value, field)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        amount, code = to_decimal(value, field), None
    else:
        raise refuse(field, f'must be money such as "12.50 USD", not {shown(value)}')
    return {"amount": decimal_text(amount), "currency": _currency(code, constraints, field)}


def _from_mapping(value: Mapping[Any, Any], field: str) -> tuple[Decimal, str | None]:
    extra = set(value) - _KEYS
    if extra or "amount" not in value:
        raise refuse(field, f"must be an object with amount and currency, not {shown(value)}")
    raw_amount, code = value["amount"], value.get("currency")
    if code is not None and not (isinstance(code, str) and _CURRENCY.fullmatch(code)):
        raise refuse(field, f"has a currency that is not an ISO 4217 code: {shown(code)}")
    if isinstance(raw_amount, str):
        return _amount(raw_amount, field), code
    return to_decimal(raw_amount, field), code


def _from_text(value: str, field: str) -> tuple[Decimal, str | None]:
    text = value.strip()
    if match := _CODE_FIRST.fullmatch(text):
        return _amount(match[2], field), match[1]
    if match := _CODE_LAST.fullmatch(text):
        return _amount(match[1], field), match[2]
    if match := _SYMBOL_FIRST.fullmatch(text):
        return _amount(match[1] + match[3], field), SYMBOLS[match[2]]
    if _GROUPED.fullmatch(text) or DECIMAL_TEXT.fullmatch(text):
        return _amount(text, field), None
    raise refuse(
        field, f'must be money such as "12.50 USD", "$12.50" or "₩12,000", not {shown(value)}'
    )


def _amount(text: str, field: str) -> Decimal:
    grouped = _GROUPED.fullmatch(text.strip())
    return to_decimal(text.replace(",", "") if grouped else text, field)


def _currency(code: str | None, constraints: Constraints, field: str) -> str:
    fixed = constraints.currency
    if code is None:
        if fixed is None:
            raise refuse(field, 'needs a currency, such as "12.50 USD" or {"currency": "USD"}')
        return fixed
    code = code.upper()
    if fixed is not None and code != fixed:
        raise refuse(field, f"must be in {fixed}, not {code}")
    return code
