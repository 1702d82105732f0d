"""Missing cells: blanks and words such as N/A are counted, never typed, and block required."""

from __future__ import annotations

from spice_harvester.domain.inference.convert import convert_value
from spice_harvester.domain.inference.missing import is_missing
from spice_harvester.domain.ontology.types import ValueType
from tests.unit.funnel.columns import column

T = ValueType


def test_missing_words_and_blanks_are_counted_and_do_not_decide_the_type() -> None:
    values = ["12", "", "   ", None, "NULL", "null", "N/A", "NA", "-", "None", "7"]
    profile = column(values)
    assert profile.inferred_type.type is T.INTEGER
    assert profile.null_count == 9
    assert profile.blank_count == 3
    assert profile.missing_tokens == {"NULL": 1, "null": 1, "N/A": 1, "NA": 1, "-": 1, "None": 1}
    assert not profile.required


def test_required_is_suggested_only_without_missing_cells() -> None:
    assert column(["a", "b"]).required
    assert not column(["a", ""]).required


def test_a_column_with_nothing_in_it_is_a_string_with_low_confidence() -> None:
    profile = column(["", None, "N/A"])
    assert profile.inferred_type.type is T.STRING
    assert profile.inferred_type.confidence <= 0.1
    assert profile.unique_count == 0


def test_missing_cells_convert_to_none() -> None:
    profile = column(["1", "2"])
    assert convert_value(" n/a ", profile) is None
    assert convert_value(None, profile) is None
    assert is_missing(float("nan"))
    assert not is_missing("0")
