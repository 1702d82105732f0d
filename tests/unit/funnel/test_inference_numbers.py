"""Numbers: whole columns read, codes kept as text, locale formats recognised and converted."""

from __future__ import annotations

from decimal import Decimal

from spice_harvester.domain.inference.numbers import DOT_GROUPS, parse_number
from spice_harvester.domain.ontology.types import ValueType
from tests.unit.funnel.columns import column, kinds, stored_values

T = ValueType


def test_a_column_of_whole_numbers_is_integer_with_its_range() -> None:
    profile = column(["12", "-3", "+7", "400"])
    assert profile.inferred_type.type is T.INTEGER
    assert profile.suggested_constraints == {"min": -3, "max": 400}
    assert not profile.needs_conversion
    assert "4 of 4 values are whole numbers" in profile.inferred_type.reason


def test_one_bad_value_among_ten_thousand_integers_keeps_the_column_a_string() -> None:
    values = [str(n) for n in range(9_999)]
    values.insert(6_000, "abc")
    profile = column(values)
    assert profile.inferred_type.type is T.STRING
    assert profile.inferred_type.confidence < 0.7
    assert [(m.value, m.row, m.expected) for m in profile.non_matching] == [
        ("abc", 6_001, T.INTEGER)
    ]
    assert "type" in kinds(profile)
    assert "9,999 of 10,000 values are whole numbers" in profile.inferred_type.reason


def test_sampling_can_miss_the_bad_value_that_the_full_read_finds() -> None:
    values = [str(n) for n in range(5_000)] + ["abc"]
    assert column(values).inferred_type.type is T.STRING
    assert column(values, sample_rows=100).inferred_type.type is T.INTEGER


def test_codes_with_leading_zeros_stay_strings() -> None:
    profile = column(["01234", "90210", "00501", "12345"], name="zip")
    assert profile.inferred_type.type is T.STRING
    assert profile.suggested_constraints["pattern"] == r"^\d{5}$"
    assert column(["007", "12", "5"]).inferred_type.type is T.STRING


def test_zero_and_decimals_below_one_are_still_numbers() -> None:
    assert column(["0", "10", "20"]).inferred_type.type is T.INTEGER
    assert column(["0.5", "0.25", "1.75"]).inferred_type.type is T.DECIMAL


def test_decimals_keep_exact_bounds() -> None:
    profile = column(["0.1", "0.10000000000000001", "2.50", "-0.000001"])
    assert profile.inferred_type.type is T.DECIMAL
    assert profile.suggested_constraints == {"min": "-0.000001", "max": "2.50"}


def test_numbers_in_exponent_notation_are_floats() -> None:
    profile = column(["1e3", "2.5E-4", "7"])
    assert profile.inferred_type.type is T.FLOAT
    assert profile.suggested_constraints == {"min": 0.00025, "max": 1000.0}


def test_german_numbers_are_decimals_that_need_conversion() -> None:
    values = ["1.234,56", "12,5", "3.000.000,00", "-7,25"]
    profile = column(values)
    assert profile.inferred_type.type is T.DECIMAL
    assert profile.format == "1.234,56"
    assert profile.needs_conversion
    assert stored_values(profile, values) == ["1234.56", "12.5", "3000000.00", "-7.25"]


def test_french_numbers_with_spaces_and_a_decimal_comma_are_decimals() -> None:
    values = ["1 234,56", "12 000,5", "7,25", "1\u00a0000,00"]
    profile = column(values)
    assert profile.inferred_type.type is T.DECIMAL
    assert profile.format == "1 234,56"
    assert stored_values(profile, values) == ["1234.56", "12000.5", "7.25", "1000.00"]


def test_english_grouped_numbers_are_read_with_commas_as_thousands() -> None:
    values = ["1,234.56", "12.5", "1,000,000.00"]
    profile = column(values)
    assert profile.inferred_type.type is T.DECIMAL
    assert profile.format == "1,234.56"
    assert stored_values(profile, values) == ["1234.56", "12.5", "1000000.00"]


def test_a_single_comma_before_three_digits_is_reported_as_ambiguous() -> None:
    profile = column(["1,234", "5,678", "12"])
    assert profile.inferred_type.type is T.INTEGER
    assert profile.format == "1,234.56"
    ambiguity = next(a for a in profile.ambiguities if a.kind == "number_format")
    assert ambiguity.message.startswith("1,234 could be 1234 ")
    assert "or 1.234 " in ambiguity.message
    assert ambiguity.examples == ("1,234", "5,678")
    assert ambiguity.alternatives == ("1.234,56",)


def test_other_values_settle_what_a_comma_means() -> None:
    profile = column(["1,234", "2,5", "12,75"])
    assert profile.inferred_type.type is T.DECIMAL
    assert profile.format == "1.234,56"
    assert "number_format" not in kinds(profile)


def test_integers_too_large_for_64_bits_are_not_integers() -> None:
    profile = column(["1", "123456789012345678901234"])
    assert profile.inferred_type.type is T.DECIMAL


def test_parse_number_reads_only_values_in_the_format() -> None:
    assert parse_number("1.234,5", DOT_GROUPS) == Decimal("1234.5")
    assert parse_number("1,234.5", DOT_GROUPS) is None
    assert parse_number("12") == Decimal("12")
