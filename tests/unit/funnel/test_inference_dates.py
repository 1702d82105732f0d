"""Dates, datetimes and times: ISO and local formats, day/month order, conversion to ISO."""

from __future__ import annotations

from spice_harvester.domain.ontology.types import ValueType
from tests.unit.funnel.columns import column, kinds, stored_values

T = ValueType


def test_iso_dates_are_dates_that_need_no_conversion() -> None:
    values = ["2024-12-31", "2024-01-05", None, ""]
    profile = column(values)
    assert profile.inferred_type.type is T.DATE
    assert not profile.needs_conversion
    assert profile.suggested_constraints == {"min": "2024-01-05", "max": "2024-12-31"}
    assert profile.inferred_type.reason.startswith("2 of 4 values are ISO dates; 2 blanks")


def test_slashed_year_first_dates_are_read_by_oms_as_they_are() -> None:
    profile = column(["2024/12/31", "2024/01/05"])
    assert profile.inferred_type.type is T.DATE
    assert not profile.needs_conversion


def test_an_impossible_date_keeps_the_column_a_string() -> None:
    values = [f"2024-03-{day:02d}" for day in range(1, 29)]
    values.insert(3, "2024-02-30")
    profile = column(values)
    assert profile.inferred_type.type is T.STRING
    assert [(m.value, m.row) for m in profile.non_matching] == [("2024-02-30", 4)]


def test_a_day_above_twelve_makes_the_column_day_first() -> None:
    values = ["31/12/2024", "01/02/2024", "15/06/2024"]
    profile = column(values)
    assert profile.inferred_type.type is T.DATE
    assert profile.format == "%d/%m/%Y"
    order = next(a for a in profile.ambiguities if "01/02/2024" in a.examples)
    assert "31/12/2024 can only be read day-first" in order.message
    assert stored_values(profile, values) == ["2024-12-31", "2024-02-01", "2024-06-15"]


def test_a_month_first_column_is_recognised() -> None:
    values = ["12/31/2024", "01/02/2024", "6/15/2024"]
    profile = column(values)
    assert profile.format == "%m/%d/%Y"
    assert stored_values(profile, values) == ["2024-12-31", "2024-01-02", "2024-06-15"]


def test_when_no_value_settles_the_order_the_ambiguity_lowers_confidence() -> None:
    profile = column(["01/02/2024", "03/04/2024", "05/06/2024"])
    assert profile.inferred_type.type is T.DATE
    assert profile.format == "%d/%m/%Y"
    assert "date_order" in kinds(profile)
    assert profile.inferred_type.confidence < 0.7


def test_days_equal_to_months_are_not_ambiguous() -> None:
    profile = column(["01/01/2024", "02/02/2024", "31/12/2024"])
    assert {a.kind for a in profile.ambiguities} <= {"note"}
    assert not [a for a in profile.ambiguities if a.kind == "date_order"]


def test_korean_and_german_dates_convert_to_iso() -> None:
    korean = ["2024년 12월 31일", "2024년 1월 5일", "2025년3월 2일"]
    assert stored_values(column(korean), korean) == ["2024-12-31", "2024-01-05", "2025-03-02"]
    german = ["31.12.2024", "05.01.2024"]
    profile = column(german)
    assert profile.format == "%d.%m.%Y"
    assert stored_values(profile, german) == ["2024-12-31", "2024-01-05"]


def test_iso_datetimes_with_and_without_zones() -> None:
    with_zone = ["2024-01-31T09:30:00+09:00", "2024-02-01T00:00:00Z"]
    profile = column(with_zone)
    assert profile.inferred_type.type is T.DATETIME
    assert not profile.needs_conversion
    assert profile.suggested_constraints == {
        "min": "2024-01-31T09:30:00+09:00",
        "max": "2024-02-01T00:00:00+00:00",
    }
    naive = column(["2024-01-31 09:30", "2024-02-01 10:00:00.123"])
    assert naive.inferred_type.type is T.DATETIME
    assert "UTC" in naive.inferred_type.reason


def test_mixing_offsets_and_none_is_reported() -> None:
    profile = column(["2024-01-31T09:30:00+09:00", "2024-02-01T00:00:00"])
    assert profile.inferred_type.type is T.DATETIME
    assert "time_zone" in kinds(profile)


def test_local_datetimes_need_conversion() -> None:
    values = ["31/12/2024 23:59", "01/02/2024 08:00"]
    profile = column(values)
    assert profile.inferred_type.type is T.DATETIME
    assert profile.format == "%d/%m/%Y %H:%M"
    assert stored_values(profile, values) == [
        "2024-12-31T23:59:00+00:00",
        "2024-02-01T08:00:00+00:00",
    ]


def test_times_of_day_are_times() -> None:
    profile = column(["09:30", "23:59:59", "00:00:00.5"])
    assert profile.inferred_type.type is T.TIME
    assert profile.suggested_constraints == {"min": "00:00:00.500000", "max": "23:59:59"}
    assert column(["24:00", "09:30"]).inferred_type.type is T.STRING
