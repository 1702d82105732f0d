"""Booleans in several languages, and 0/1 columns, which are as much integers."""

from __future__ import annotations

import pytest

from spice_harvester.domain.inference.booleans import parse_boolean, read_words
from spice_harvester.domain.ontology.types import ValueType
from tests.unit.funnel.columns import column, kinds, stored_values

T = ValueType


@pytest.mark.parametrize(
    ("words", "native"),
    [
        (["true", "false"], True),
        (["Yes", "No", "yes"], True),
        (["Y", "N"], False),
        (["예", "아니오"], False),
        (["はい", "いいえ"], False),
        (["是", "否"], False),
        (["sí", "no"], False),
        (["ja", "nein"], False),
        (["oui", "non"], False),
        (["vrai", "faux"], False),
    ],
)
def test_true_false_words_make_a_boolean(words: list[str], native: bool) -> None:
    values = words * 3
    profile = column(values)
    assert profile.inferred_type.type is T.BOOLEAN
    assert profile.needs_conversion is not native
    stored = stored_values(profile, values)
    assert set(stored) == {True, False}


def test_words_of_two_languages_together_are_not_a_boolean() -> None:
    assert read_words({"yes", "nein"}) is None
    assert column(["yes", "nein", "yes"]).inferred_type.type is not T.BOOLEAN


def test_zero_and_one_are_integers_with_the_boolean_reading_reported() -> None:
    profile = column(["0", "1", "1", "0"], name="count")
    assert profile.inferred_type.type is T.INTEGER
    assert "type" in kinds(profile)
    assert profile.inferred_type.confidence < 0.8


def test_zero_and_one_named_like_a_flag_are_booleans() -> None:
    profile = column(["0", "1", "1", "0"], name="is_active")
    assert profile.inferred_type.type is T.BOOLEAN
    assert any("integer" in a.alternatives for a in profile.ambiguities)


def test_parse_boolean_reads_each_language() -> None:
    assert parse_boolean(" Oui ") is True
    assert parse_boolean("아니오") is False
    assert parse_boolean("maybe") is None
