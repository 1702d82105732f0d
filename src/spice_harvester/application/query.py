"""Structured queries: a class's instances (its subclasses' included) that pass every filter,
ordered and paged, at a branch or any ref.

Where the work happens, cheapest first:

- no filters and the default order: a page straight from the store (a count per class, then
  `list_docs` for the classes the page overlaps);
- a filter `id eq|in`: the instances read by key (`get_many`);
- an `eq` or `in` filter on a field whose stored JSON is equal exactly when values are
  (strings, enums, emails..., integers, booleans, dates, times, relationship ids): the store
  finds the candidates in SQL (`find_docs`; with no index on values yet the database still
  reads every instance of the classes, about 25 ms per 10,000 on SQLite, but only matches
  reach Python);
- anything else (ranges, `like`, decimals, datetimes, money): every instance of the classes,
  read in pages of 2,000 (`iter_instances`) and decoded here, about 10x the cost of the SQL
  lookup per instance.

Every candidate is then checked against every filter in Python, so the lookup is only ever a
narrowing. The page is kept with a heap of `offset + limit` entries (memory follows the page,
not the matches) and the total counts every match, so it costs a full pass over the
candidates even when the page is small.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from spice_harvester.application.instance_links import iter_instances
from spice_harvester.application.instance_reads import instance_views
from spice_harvester.application.ontology import schema_at_commit
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.query.filters import (
    Condition,
    Operator,
    Ordering,
    compile_filters,
    compile_ordering,
    compile_select,
    query_fields,
    selected,
)
from spice_harvester.domain.query.traversal import concrete_classes
from spice_harvester.domain.versioning.documents import DocRef, DocState
from spice_harvester.ports.versioned_store import VersionedStore

MAX_LIMIT = 1000


@dataclass(frozen=True)
class QueryRequest:
    class_id: str
    filters: Sequence[Any] = ()
    select: Sequence[str] | None = None
    order_by: str | None = None
    order_direction: str = "asc"
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class Selection:
    """A class's filters, order and selected fields, checked against one schema."""

    class_id: str
    classes: tuple[str, ...]
    conditions: tuple[Condition, ...]
    ordering: Ordering
    select: tuple[str, ...] | None

    def passes(self, state: DocState) -> bool:
        return all(c.holds(state.ref.doc_id, state.data) for c in self.conditions)


def compile_selection(
    schema: Schema,
    class_id: str,
    filters: Sequence[Any] = (),
    *,
    select: Sequence[Any] | None = None,
    order_by: str | None = None,
    order_direction: str = "asc",
    class_field: str = "class_id",
    where: str = "",
) -> Selection:
    """`where` prefixes the names errors give (`hops[1].`), so a 422 points into the body."""
    if class_id not in schema:
        raise ValidationFailed(
            f"{class_field}: class {class_id!r} does not exist",
            field=class_field,
            data={"class_id": class_id},
        )
    fields = query_fields(schema.resolved(class_id))
    return Selection(
        class_id,
        concrete_classes(schema, class_id),
        compile_filters(fields, filters, owner=class_id, where=f"{where}filters"),
        compile_ordering(fields, order_by, order_direction, owner=class_id),
        compile_select(fields, select, owner=class_id, where=f"{where}select"),
    )


@dataclass(frozen=True)
class Matches:
    states: list[DocState]
    total: int


def find_matches(
    store: VersionedStore, db: str, commit: str, selection: Selection, *, limit: int, offset: int
) -> Matches:
    """One page of the instances passing the selection at `commit`, and how many pass."""
    check_page(limit, offset)
    ordering = selection.ordering
    if not selection.conditions and ordering.field is None and not ordering.descending:
        return _store_page(store, db, commit, selection.classes, limit, offset)
    counted = _Counted(s for s in _candidates(store, db, commit, selection) if selection.passes(s))
    page = heapq.nsmallest(
        offset + limit,
        counted,
        key=lambda s: ordering.key(s.ref.class_id, s.ref.doc_id, s.data),
    )
    return Matches(page[offset:], counted.count)


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit: between 1 and {MAX_LIMIT}, not {limit}", field="limit")
    if offset < 0:
        raise ValidationFailed(f"offset: 0 or more, not {offset}", field="offset")


class _Counted(Iterator[DocState]):
    def __init__(self, states: Iterable[DocState]) -> None:
        self._states = iter(states)
        self.count = 0

    def __next__(self) -> DocState:
        state = next(self._states)
        self.count += 1
        return state


def _store_page(
    store: VersionedStore,
    db: str,
    commit: str,
    classes: Sequence[str],
    limit: int,
    offset: int,
) -> Matches:
    """The page in key order (class, then id): a page read per class the page overlaps (which
    counts that class too), a count for each other class."""
    states: list[DocState] = []
    total = 0
    skip = offset
    for class_id in sorted(classes):
        wanted = limit - len(states)
        if wanted > 0:
            page = store.list_docs(db, commit, "instance", class_id, limit=wanted, offset=skip)
            states.extend(page.items)
            count = page.total
            skip = max(0, skip - count)
        else:
            count = store.count(db, commit, "instance", class_id)
        total += count
    return Matches(states, total)


def _candidates(
    store: VersionedStore, db: str, commit: str, selection: Selection
) -> Iterable[DocState]:
    """A superset of the matches, found the cheapest way the filters allow."""
    classes = sorted(selection.classes)
    if not classes:
        return []
    by_id = next(
        (
            c
            for c in selection.conditions
            if c.field.kind == "id" and c.operator in (Operator.EQ, Operator.IN)
        ),
        None,
    )
    if by_id is not None:
        refs = [DocRef.of_instance(c, str(i)) for c in classes for i in by_id.wanted]
        found = store.get_many(db, commit, refs)
        return [found[key] for key in sorted(found)]
    lookup = next((c for c in selection.conditions if c.lookup() is not None), None)
    if lookup is not None:
        values = lookup.lookup() or ()
        return store.find_docs(db, commit, classes, lookup.field.name, values)
    return chain.from_iterable(iter_instances(store, db, commit, c) for c in classes)


class Reads:
    """What every query does first: fix one commit (`at`, else the branch head) so that all
    its reads see one state, and take the schema there (read once per process per commit)."""

    def __init__(self, store: VersionedStore, limits: SchemaLimits) -> None:
        self.store = store
        self.limits = limits

    def commit_and_schema(self, db: str, branch: str, at: str | None) -> tuple[str, Schema]:
        commit = self.store.resolve(db, at or branch, branch=branch).commit_id
        return commit, schema_at_commit(self.store, db, commit, self.limits)


class QueryRunner(Reads):
    """Runs structured queries."""

    def run(self, db: str, request: QueryRequest, branch: str, at: str | None) -> dict[str, Any]:
        commit, schema = self.commit_and_schema(db, branch, at)
        selection = compile_selection(
            schema,
            request.class_id,
            request.filters,
            select=request.select,
            order_by=request.order_by,
            order_direction=request.order_direction,
        )
        matches = find_matches(
            self.store, db, commit, selection, limit=request.limit, offset=request.offset
        )
        views = instance_views(self.store, db, matches.states)
        if selection.select is not None:
            for view in views:
                view["data"] = selected(view["data"], selection.select)
        return {
            "class_id": request.class_id,
            "instances": views,
            "total": matches.total,
            "limit": request.limit,
            "offset": request.offset,
            "commit_id": commit,
        }
