"""Text as queries compare it: one folded form for every script, `like` patterns, search ranking.

Folding is NFKC, then case folding (then NFKC again, since folding can leave text that is not
normalised): full-width and half-width forms (`Ｓｐｉｃｅ`, `ｽﾊﾟｲｽ`), compatibility characters
and case all compare equal, and decomposed Hangul compares equal to composed Hangul.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from spice_harvester.domain.errors import ValidationFailed

MAX_PATTERN = 1000
MAX_TERMS = 20


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def collapsed(text: str) -> str:
    """Folded, with every run of white space one space and none at either end."""
    return " ".join(fold(text).split())


class _Wildcard:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ANY_ONE = _Wildcard("_")
ANY_RUN = _Wildcard("%")
Token = str | _Wildcard


@dataclass(frozen=True)
class LikePattern:
    """SQL `like`, case- and width-insensitive: `%` is any run of characters (none included),
    `_` exactly one, `\\` makes the next character literal (`\\%`, `\\_`, `\\\\`). The whole
    text must match. Matching is greedy with one backtrack point, so it costs at most
    len(pattern) x len(text) steps whatever the pattern (no regular expression blow-up)."""

    text: str
    tokens: tuple[Token, ...]

    @classmethod
    def compile(cls, pattern: str, *, field: str = "value") -> LikePattern:
        if len(pattern) > MAX_PATTERN:
            raise ValidationFailed(
                f"{field}: a like pattern may have at most {MAX_PATTERN} characters",
                field=field,
            )
        tokens: list[Token] = []
        literal: list[str] = []

        def flush() -> None:
            tokens.extend(fold("".join(literal)))
            literal.clear()

        escaped = False
        for char in pattern:
            if escaped:
                literal.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char in "%_":
                flush()
                wildcard = ANY_RUN if char == "%" else ANY_ONE
                # Two `%` in a row mean what one does; keeping one keeps matching linear.
                if not (wildcard is ANY_RUN and tokens and tokens[-1] is ANY_RUN):
                    tokens.append(wildcard)
            else:
                literal.append(char)
        if escaped:
            literal.append("\\")  # a trailing backslash stands for itself
        flush()
        return cls(pattern, tuple(tokens))

    def matches(self, text: str) -> bool:
        return _like(self.tokens, fold(text))


def _like(tokens: tuple[Token, ...], text: str) -> bool:
    t = p = 0
    star = -1  # the last `%` seen, and where in the text it started to stand
    mark = 0
    while t < len(text):
        if p < len(tokens) and (tokens[p] is ANY_ONE or tokens[p] == text[t]):
            p += 1
            t += 1
        elif p < len(tokens) and tokens[p] is ANY_RUN:
            star, mark = p, t
            p += 1
        elif star >= 0:
            # Let the last `%` swallow one more character and try again from there.
            mark += 1
            p, t = star + 1, mark
        else:
            return False
    while p < len(tokens) and tokens[p] is ANY_RUN:
        p += 1
    return p == len(tokens)


# -- search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """What a search looks for: the whole query, and its terms (split on white space)."""

    text: str
    terms: tuple[str, ...]

    @classmethod
    def parse(cls, q: str, *, field: str = "q") -> SearchQuery:
        text = collapsed(q)
        terms = tuple(dict.fromkeys(text.split()))
        if not terms:
            raise ValidationFailed(f"{field}: give some text to search for", field=field)
        if len(terms) > MAX_TERMS:
            raise ValidationFailed(
                f"{field}: at most {MAX_TERMS} terms, not {len(terms)}", field=field
            )
        return cls(text, terms)


@dataclass(frozen=True)
class SearchMatch:
    """How one instance matched. Ranked by the number of terms found, then an exact field
    (a field whose whole value is the query or one of its terms), then the query found as one
    run of text in a field, then the number of fields that matched."""

    terms: tuple[str, ...]
    fields: tuple[str, ...]
    exact: bool
    phrase: bool

    def rank(self) -> tuple[int, bool, bool, int]:
        """Smaller is better (so results sort ascending by it)."""
        return (-len(self.terms), not self.exact, not self.phrase, -len(self.fields))


def match_texts(query: SearchQuery, texts: Iterable[tuple[str, str]]) -> SearchMatch | None:
    """How `(field, text)` pairs match the query, or None when no term is in any of them.
    A term matches as a substring of a field's folded text, so words inside Korean or
    Japanese text without spaces are found too."""
    found: set[str] = set()
    fields: dict[str, None] = {}
    exact = phrase = False
    for field, raw in texts:
        text = collapsed(raw)
        hits = [term for term in query.terms if term in text]
        if not hits:
            continue
        found.update(hits)
        fields[field] = None
        exact = exact or text == query.text or text in query.terms
        phrase = phrase or query.text in text
    if not found:
        return None
    terms = tuple(term for term in query.terms if term in found)
    return SearchMatch(terms, tuple(fields), exact, phrase)
