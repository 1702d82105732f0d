"""Money: symbols and codes on either side, one currency or several, locale amounts."""

from __future__ import annotations

from spice_harvester.domain.inference.money import parse_money
from spice_harvester.domain.ontology.types import ValueType
from tests.unit.funnel.columns import column, kinds, stored_values

T = ValueType


def test_symbols_and_codes_of_one_currency_fix_the_currency() -> None:
    values = ["$12.50", "USD 3", "1,200.00 USD", "-$5"]
    profile = column(values)
    assert profile.inferred_type.type is T.MONEY
    assert profile.suggested_constraints == {"currency": "USD", "min": "-5", "max": "1200.00"}
    assert not profile.needs_conversion
    assert "currency" in kinds(profile)  # "$" is not only the US dollar


def test_a_column_of_several_currencies_is_money_without_a_fixed_currency() -> None:
    values = ["₩12,000", "€3.50", "£7", "¥1200", "12.00 EUR"]
    profile = column(values)
    assert profile.inferred_type.type is T.MONEY
    assert "currency" not in profile.suggested_constraints
    stored = stored_values(profile, values)
    assert [v["currency"] for v in stored] == ["KRW", "EUR", "GBP", "JPY", "EUR"]
    assert "5 currencies" not in profile.inferred_type.reason
    assert "4 currencies" in profile.inferred_type.reason


def test_bare_amounts_take_the_currency_of_the_others() -> None:
    values = ["₩12,000", "8,000", "₩500"]
    profile = column(values)
    assert profile.inferred_type.type is T.MONEY
    assert profile.suggested_constraints["currency"] == "KRW"
    assert stored_values(profile, values)[1] == {"amount": "8000", "currency": "KRW"}


def test_bare_amounts_among_several_currencies_are_not_money() -> None:
    profile = column(["$1", "€2", "3"])
    assert profile.inferred_type.type is not T.MONEY


def test_symbols_after_the_amount_and_decimal_commas_convert() -> None:
    values = ["12,50 €", "1.234,00 €", "3 €"]
    profile = column(values)
    assert profile.inferred_type.type is T.MONEY
    assert profile.needs_conversion
    assert profile.format == "1.234,56"
    assert stored_values(profile, values) == [
        {"amount": "12.50", "currency": "EUR"},
        {"amount": "1234.00", "currency": "EUR"},
        {"amount": "3", "currency": "EUR"},
    ]


def test_korean_won_written_after_the_amount_converts() -> None:
    values = ["12,000원", "500원"]
    profile = column(values)
    assert profile.suggested_constraints["currency"] == "KRW"
    assert stored_values(profile, values)[0] == {"amount": "12000", "currency": "KRW"}


def test_plain_numbers_named_price_stay_numbers() -> None:
    profile = column(["12.50", "3.00"], name="price")
    assert profile.inferred_type.type is T.DECIMAL
    assert "agrees" in profile.inferred_type.reason


def test_parse_money_reads_signs_on_either_side_of_the_symbol() -> None:
    negative = parse_money("-$5.25")
    assert negative is not None
    assert (str(negative.amount), negative.currency) == ("-5.25", "USD")
    assert parse_money("12 apples") is None
