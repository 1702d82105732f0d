"""Money written as text: an amount with a currency symbol or ISO 4217 code on either side."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from spice_harvester.domain.inference.numbers import PLAIN, NumberFormat
from spice_harvester.domain.ontology.values_money import SYMBOLS as OMS_SYMBOLS

# "$" is read as USD and "¥" as JPY, as OMS reads them; profiles report both as ambiguities.
SYMBOLS: dict[str, str] = {**OMS_SYMBOLS, "US$": "USD", "円": "JPY", "元": "CNY", "원": "KRW"}
AMBIGUOUS_SYMBOLS: dict[str, str] = {
    "$": "also the sign of CAD, AUD, HKD, SGD, MXN and other dollars and pesos",
    "¥": "also the sign of the Chinese yuan (CNY)",
    "￥": "also the sign of the Chinese yuan (CNY)",
}
# fmt: off
CODES: frozenset[str] = frozenset({
    "USD", "EUR", "GBP", "JPY", "KRW", "CNY", "HKD", "TWD", "SGD", "AUD", "CAD", "NZD", "CHF",
    "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RUB", "INR", "IDR", "THB", "VND", "PHP", "MYR",
    "BRL", "MXN", "ARS", "CLP", "COP", "PEN", "ZAR", "TRY", "AED", "SAR", "QAR", "ILS", "EGP",
    "NGN", "KES", "UAH", "RON", "BGN", "ISK",
})
# fmt: on

_SYMBOL_ALTERNATIVES = "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True))
_CODE_ALTERNATIVES = "|".join(sorted(CODES))
MARKER = rf"(?:{_SYMBOL_ALTERNATIVES}|(?i:{_CODE_ALTERNATIVES}))"
# OMS's own money forms: a code before or after, or one of its symbols first, with an amount
# grouped by commas at most.
_OMS_AMOUNT = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_OMS_SYMBOLS = "".join(re.escape(symbol) for symbol in OMS_SYMBOLS)
NATIVE_MONEY = (
    rf"^(?:[A-Za-z]{{3}}\s*[+-]?{_OMS_AMOUNT}|[+-]?{_OMS_AMOUNT}\s*[A-Za-z]{{3}}"
    rf"|[+-]?\s*[{_OMS_SYMBOLS}]\s*{_OMS_AMOUNT})$"
)


def money_pattern(number_format: NumberFormat) -> str:
    """An amount in that format with a currency marker before or after it (captured)."""
    amount = number_format.amount_pattern()
    return rf"^[+-]?\s*(?:({MARKER})\s*[+-]?{amount}|{amount}\s*({MARKER}))$"


@dataclass(frozen=True)
class MoneyText:
    amount: Decimal
    currency: str


def parse_money(text: str, number_format: NumberFormat = PLAIN) -> MoneyText | None:
    """The amount and currency the text writes, or None when it is not money in that format."""
    stripped = text.strip()
    match = re.fullmatch(money_pattern(number_format), stripped)
    if match is None:
        return None
    marker = match[1] or match[2]
    amount_text = stripped.replace(marker, "", 1).replace(" ", "").strip()
    negative = amount_text.count("-") % 2 == 1
    amount_text = amount_text.replace("-", "").replace("+", "")
    amount = Decimal(number_format.canonical(amount_text))
    return MoneyText(-amount if negative else amount, currency_of(marker))


def currency_of(marker: str) -> str:
    """The ISO 4217 code a symbol or code stands for."""
    return SYMBOLS.get(marker) or marker.upper()
