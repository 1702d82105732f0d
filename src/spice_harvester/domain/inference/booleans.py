"""True/false words in several languages, and reading a column's words as a boolean."""

from __future__ import annotations

from dataclasses import dataclass

# (true words, false words) per language; compared trimmed and case-folded.
PAIRS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "en": (frozenset({"true", "yes", "y", "t"}), frozenset({"false", "no", "n", "f"})),
    "digits": (frozenset({"1"}), frozenset({"0"})),
    "ko": (frozenset({"예", "네", "참"}), frozenset({"아니오", "아니요", "거짓"})),
    "ja": (frozenset({"はい", "真"}), frozenset({"いいえ", "偽"})),
    "zh": (frozenset({"是", "真"}), frozenset({"否", "假"})),
    "es": (frozenset({"sí", "si", "verdadero"}), frozenset({"no", "falso"})),
    "de": (frozenset({"ja", "wahr"}), frozenset({"nein", "falsch"})),
    "fr": (frozenset({"oui", "vrai"}), frozenset({"non", "faux"})),
}
# The words OMS's own boolean rule reads.
NATIVE_WORDS: frozenset[str] = frozenset({"true", "false", "yes", "no", "1", "0"})
_TRUE = frozenset().union(*(pair[0] for pair in PAIRS.values()))
_FALSE = frozenset().union(*(pair[1] for pair in PAIRS.values()))
ALL_WORDS: frozenset[str] = _TRUE | _FALSE


@dataclass(frozen=True)
class BooleanReading:
    language: str
    words: str  # "yes/no" as the column writes them; the profile's `format`
    native: bool
    only_digits: bool  # 0 and 1 alone: as much an integer column as a boolean one


def read_words(distinct: set[str]) -> BooleanReading | None:
    """How a column's distinct (trimmed) values read as a boolean, if they do."""
    folded = {value.casefold() for value in distinct}
    if not folded or len(folded) > 2:
        return None
    for language, (true_words, false_words) in PAIRS.items():
        if not folded <= true_words | false_words or len(folded & true_words) > 1:
            continue
        if len(folded & false_words) > 1:
            continue
        shown = sorted(distinct, key=lambda word: word.casefold() in false_words)
        return BooleanReading(
            language=language,
            words="/".join(shown),
            native=folded <= NATIVE_WORDS,
            only_digits=language == "digits",
        )
    return None


def parse_boolean(text: str) -> bool | None:
    """The truth value of one word in any of the languages, or None."""
    word = text.strip().casefold()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None
