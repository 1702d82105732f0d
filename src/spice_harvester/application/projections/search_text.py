"""The text the search read model indexes for an instance, and how queries are read.

Folding is NFKC, then case folding, then NFKC again (as BFF's store-scan search folds), so
full-width and half-width forms and case compare equal. The indexed text is the instance's
id and every string value (nested ones too), one per line, so a term never matches across
two values. Relationship values are other instances' ids and are indexed like any string:
searching for an id also finds the instances that refer to it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.versioning.documents import DocState

# PostgreSQL refuses a tsvector over 1 MB; nobody searches that far into one document.
MAX_TEXT = 200_000
MAX_TERMS = 20
MAX_QUERY = 1000


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def collapsed(text: str) -> str:
    return " ".join(fold(text).split())


def document_text(state: DocState) -> str | None:
    """The indexed text of a live instance; None for classes and deleted documents."""
    if state.ref.doc_type != "instance" or state.data is None:
        return None
    lines = [collapsed(state.ref.doc_id)]
    lines.extend(collapsed(text) for text in _strings(state.data))
    return "\n".join(line for line in lines if line)[:MAX_TEXT]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key in sorted(value):
            yield from _strings(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class TextQuery:
    """The folded query and its distinct terms (split on white space)."""

    text: str
    terms: tuple[str, ...]

    @classmethod
    def parse(cls, q: str) -> TextQuery:
        if len(q) > MAX_QUERY:
            raise ValidationFailed(f"q: at most {MAX_QUERY} characters", field="q")
        text = collapsed(q)
        terms = tuple(dict.fromkeys(text.split()))
        if not terms:
            raise ValidationFailed("q: give some text to search for", field="q")
        if len(terms) > MAX_TERMS:
            raise ValidationFailed(f"q: at most {MAX_TERMS} terms, not {len(terms)}", field="q")
        return cls(text, terms)


def like_pattern(term: str) -> str:
    r"""`%term%` with LIKE's wildcards in the term made literal (escape character `\`)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
