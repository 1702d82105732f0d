"""Full-text search over instance values, read from the store until the search read model of
issue 6 exists.

Each instance's id and string values (nested ones included; relationship values, which are
other instances' ids, left out) are folded (`domain/query/text.py`: NFKC, case folding) and
each term of the query is looked for as a substring, so Korean and Japanese words inside
longer text are found and full-width or half-width input matches either form. Hits rank by
`SearchMatch.rank`, then class and id.

Cost: every instance of the classes searched is read, a page of 2,000 at a time, and its
strings folded here: linear in the instances (about 45,000 for the whole 3PL sample). The
best `limit` hits are kept in a heap, so memory follows the limit.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from itertools import chain
from typing import Any

from spice_harvester.application.instance_links import iter_instances
from spice_harvester.application.query import Reads
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.query.text import SearchMatch, SearchQuery, match_texts
from spice_harvester.domain.query.traversal import concrete_classes
from spice_harvester.domain.versioning.documents import DocState

MAX_LIMIT = 100


class SearchRunner(Reads):
    def run(
        self,
        db: str,
        q: str,
        *,
        class_id: str | None,
        branch: str,
        at: str | None,
        limit: int = 20,
    ) -> dict[str, Any]:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"limit: between 1 and {MAX_LIMIT}, not {limit}", field="limit")
        query = SearchQuery.parse(q)
        commit, schema = self.commit_and_schema(db, branch, at)
        if class_id is not None and class_id not in schema:
            raise ValidationFailed(
                f"class_id: class {class_id!r} does not exist",
                field="class_id",
                data={"class_id": class_id},
            )
        classes = (
            concrete_classes(schema, class_id)
            if class_id is not None
            else tuple(schema.instance_classes())
        )
        links = {
            c: frozenset(r.predicate for r in schema.resolved(c).relationships) for c in classes
        }
        states = chain.from_iterable(
            iter_instances(self.store, db, commit, c) for c in sorted(classes)
        )
        found = _Found(
            (state, match)
            for state in states
            if (match := match_texts(query, _texts(state, links[state.ref.class_id])))
        )
        best = heapq.nsmallest(
            limit, found, key=lambda hit: (hit[1].rank(), hit[0].ref.class_id, hit[0].ref.doc_id)
        )
        return {
            "q": q,
            "terms": list(query.terms),
            "hits": [_hit(state, match) for state, match in best],
            "total": found.count,
            "limit": limit,
            "commit_id": commit,
        }


class _Found(Iterator[tuple[DocState, SearchMatch]]):
    def __init__(self, hits: Iterator[tuple[DocState, SearchMatch]]) -> None:
        self._hits = hits
        self.count = 0

    def __next__(self) -> tuple[DocState, SearchMatch]:
        hit = next(self._hits)
        self.count += 1
        return hit


def _hit(state: DocState, match: SearchMatch) -> dict[str, Any]:
    return {
        "class_id": state.ref.class_id,
        "id": state.ref.doc_id,
        "matched_fields": list(match.fields),
        "matched_terms": list(match.terms),
        "exact": match.exact,
        "data": state.data,
    }


def _texts(state: DocState, links: frozenset[str]) -> Iterator[tuple[str, str]]:
    yield "id", state.ref.doc_id
    for name, value in (state.data or {}).items():
        if name not in links:
            for text in _strings(value):
                yield name, text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
