"""Text as queries see it: folding across widths, cases and Hangul forms; `like` patterns;
search terms and the ranking of matches."""

from __future__ import annotations

import time
import unicodedata

import pytest

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.query.text import LikePattern, SearchQuery, fold, match_texts


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Ｓｐｉｃｅ", "spice"),  # full-width Latin
        ("ｽﾊﾟｲｽ", "スパイス"),  # half-width katakana
        ("STRASSE", "straße"),  # case folding, not lower-casing
        (unicodedata.normalize("NFD", "김민수"), "김민수"),  # decomposed Hangul
        ("①", "1"),
    ],
)
def test_folding_makes_widths_cases_and_forms_equal(one: str, other: str) -> None:
    assert fold(one) == fold(other)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("spice%", "Spice grinder", True),
        ("%GRIND%", "Spice grinder", True),
        ("spice", "Spice grinder", False),
        ("s_ice grinder", "Spice grinder", True),
        ("s_ice", "Spce", False),
        ("%", "", True),
        ("_", "", False),
        ("%a%b%c", "xaybzc", True),
        ("%a%b%c", "xaybzcd", False),
        ("100\\%", "100%", True),
        ("100\\%", "1000", False),
        ("a\\_b", "a_b", True),
        ("a\\_b", "axb", False),
        ("c:\\\\dir", "c:\\dir", True),
        ("trailing\\", "trailing\\", True),
        ("%민수", "김민수", True),
        ("%ｽﾊﾟｲｽ%", "特製スパイス缶", True),
        ("%%%x", "yyx", True),
    ],
)
def test_like_patterns(pattern: str, text: str, expected: bool) -> None:
    assert LikePattern.compile(pattern).matches(text) is expected


def test_like_costs_pattern_times_text_at_worst() -> None:
    pattern = LikePattern.compile("%a" * 400 + "b")
    began = time.perf_counter()
    assert not pattern.matches("a" * 5000)
    assert time.perf_counter() - began < 2  # a backtracking regex would never finish


def test_a_search_query_is_its_folded_terms() -> None:
    query = SearchQuery.parse("  Spice   ＧＲＩＮＤＥＲ spice ")
    assert query.terms == ("spice", "grinder")
    assert query.text == "spice grinder spice"
    for empty in ("", "   "):
        with pytest.raises(ValidationFailed) as refused:
            SearchQuery.parse(empty)
        assert refused.value.field == "q"
    with pytest.raises(ValidationFailed):
        SearchQuery.parse(" ".join(f"w{i}" for i in range(21)))


def test_terms_are_found_inside_korean_and_japanese_text() -> None:
    korean = match_texts(SearchQuery.parse("민수"), [("name", "김민수")])
    assert korean is not None
    assert korean.fields == ("name",)
    japanese = match_texts(SearchQuery.parse("スパイス"), [("name", "特製ｽﾊﾟｲｽ缶")])
    assert japanese is not None
    assert match_texts(SearchQuery.parse("없음"), [("name", "김민수")]) is None


def test_matches_rank_by_terms_then_exact_field_then_phrase_then_fields() -> None:
    query = SearchQuery.parse("spice grinder")

    def rank(*texts: tuple[str, str]) -> tuple[int, bool, bool, int]:
        match = match_texts(query, texts)
        assert match is not None
        return match.rank()

    one_term = rank(("name", "Spice rack"))
    one_term_exactly = rank(("name", "Spice"))
    both_apart = rank(("name", "big grinder"), ("note", "for spice"))
    phrase = rank(("note", "the Spice Grinder deluxe"))
    exact = rank(("name", "Spice  grinder"))
    exact_and_more = rank(("name", "spice grinder"), ("note", "spice"))
    assert sorted([one_term, one_term_exactly, both_apart, phrase, exact, exact_and_more]) == [
        exact_and_more,
        exact,
        phrase,
        both_apart,
        one_term_exactly,
        one_term,
    ]
