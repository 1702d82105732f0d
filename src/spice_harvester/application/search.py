"""Full-text search over instance values: from the search read model (the `search`
projection) when it reflects the branch's head, else from the store.

`source`: `auto` (the default) asks the read model when its branch is fresh and no `at` is
given, and otherwise reads the store, so an answer never misses a write the caller has seen
acknowledged; `index` always asks the read model and says how far behind it is
(`index_status`); `store` always reads the store. Hits found in the read model are read back
from the store at the head the answer names, so `data` and `matched_fields` are the same
whichever side answered.

Store side: each instance's id and string values (nested ones included; relationship values,
which are other instances' ids, left out) are folded (`domain/query/text.py`: NFKC, case
folding) and each term of the query is looked for as a substring, so Korean and Japanese
words inside longer text are found and full-width or half-width input matches either form.
Hits rank by `SearchMatch.rank`, then class and id.

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
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.query.text import SearchMatch, SearchQuery, match_texts
from spice_harvester.domain.query.traversal import concrete_classes
from spice_harvester.domain.versioning.documents import DocRef, DocState
from spice_harvester.ports.projections import SearchIndex
from spice_harvester.ports.versioned_store import VersionedStore

MAX_LIMIT = 100
SOURCES = ("auto", "index", "store")


class SearchRunner(Reads):
    def __init__(
        self, store: VersionedStore, limits: SchemaLimits, index: SearchIndex | None = None
    ) -> None:
        super().__init__(store, limits)
        self.index = index

    def run(
        self,
        db: str,
        q: str,
        *,
        class_id: str | None,
        branch: str,
        at: str | None,
        limit: int = 20,
        source: str = "auto",
    ) -> dict[str, Any]:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"limit: between 1 and {MAX_LIMIT}, not {limit}", field="limit")
        if source not in SOURCES:
            raise ValidationFailed(
                f"source: one of {', '.join(SOURCES)}, not {source!r}", field="source"
            )
        query = SearchQuery.parse(q)
        if source == "index" and at is not None:
            raise ValidationFailed(
                "source: the search index holds each branch's head only; leave out `at` or "
                "ask source=store",
                field="source",
            )
        commit, schema = self.commit_and_schema(db, branch, at)
        classes = self._classes(schema, class_id)
        if source != "store" and at is None and self.index is not None:
            answer = self._from_index(db, q, query, schema, classes, branch, limit, source)
            if answer is not None:
                return answer
        if source == "index":
            raise ValidationFailed("source: no search index is configured", field="source")
        return self._from_store(db, q, query, schema, classes, commit, limit)

    @staticmethod
    def _classes(schema: Schema, class_id: str | None) -> tuple[str, ...]:
        if class_id is not None and class_id not in schema:
            raise ValidationFailed(
                f"class_id: class {class_id!r} does not exist",
                field="class_id",
                data={"class_id": class_id},
            )
        return (
            concrete_classes(schema, class_id)
            if class_id is not None
            else tuple(schema.instance_classes())
        )

    def _from_index(
        self,
        db: str,
        q: str,
        query: SearchQuery,
        schema: Schema,
        classes: tuple[str, ...],
        branch: str,
        limit: int,
        source: str,
    ) -> dict[str, Any] | None:
        """The read model's answer, or None when `auto` finds it behind the head."""
        assert self.index is not None
        found = self.index.search(db, branch, q, list(classes), limit)
        if source == "auto" and not found.freshness.fresh:
            return None
        # Read back at the commit the read model reflects: the hits are of that state.
        at = found.freshness.commit_id or found.freshness.head_commit
        refs = [DocRef.of_instance(hit.class_id, hit.doc_id) for hit in found.hits]
        states = self.store.get_many(db, at, refs) if refs else {}
        ranked: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        for ref in refs:
            state = states.get(ref.key)
            if state is None or state.data is None:
                continue
            match = match_texts(query, _texts(state, _links(schema, ref.class_id)))
            if match:
                ranked.append(((0, match.rank(), ref.class_id, ref.doc_id), _hit(state, match)))
            else:  # found by a relationship value only, which the store side leaves out
                ranked.append(((1, ref.class_id, ref.doc_id), _bare_hit(state)))
        # The page in the store side's order; the read model chose which hits make the page.
        hits = [hit for _, hit in sorted(ranked, key=lambda pair: pair[0])]
        return {
            "q": q,
            "terms": list(query.terms),
            "hits": hits,
            "total": found.total,
            "limit": limit,
            "commit_id": at,
            "source": "index",
            "index_status": {**found.freshness.as_dict(), "version": found.version},
        }

    def _from_store(
        self,
        db: str,
        q: str,
        query: SearchQuery,
        schema: Schema,
        classes: tuple[str, ...],
        commit: str,
        limit: int,
    ) -> dict[str, Any]:
        links = {c: _links(schema, c) for c in classes}
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
            "source": "store",
        }


def _links(schema: Schema, class_id: str) -> frozenset[str]:
    return frozenset(r.predicate for r in schema.resolved(class_id).relationships)


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


def _bare_hit(state: DocState) -> dict[str, Any]:
    # The read model also indexes relationship values, which the store side leaves out.
    return {
        "class_id": state.ref.class_id,
        "id": state.ref.doc_id,
        "matched_fields": [],
        "matched_terms": [],
        "exact": False,
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
