"""What instance writes check against stored data: link targets, unique values, referrers.

Unique values and referrers are looked up by value (`VersionedStore.find_docs`): only the values
being written, or the ids being deleted, are sent, and the database filters the JSON, so only
matching instances come back. Without an index on values the database still reads every
instance of the classes concerned: about 25 ms per 10,000 on SQLite, against 0.5 s when they
were decoded and compared here (bench/lookups.py).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from spice_harvester.application.instance_values import Link, is_many
from spice_harvester.domain.ontology.schema import ResolvedClass, Schema
from spice_harvester.domain.versioning.documents import DocRef, DocState
from spice_harvester.ports.versioned_store import VersionedStore

SCAN_PAGE = 2000
InstanceKey = tuple[str, str]
"""(class id, instance id)"""


def iter_instances(store: VersionedStore, db: str, ref: str, class_id: str) -> Iterator[DocState]:
    """Every live instance of one class (not its subclasses) at `ref`, in id order."""
    offset = 0
    while True:
        page = store.list_docs(db, ref, "instance", class_id, limit=SCAN_PAGE, offset=offset)
        yield from page.items
        offset += SCAN_PAGE
        if not page.items or offset >= page.total:
            return


def target_classes(schema: Schema, target: str) -> list[str]:
    """Classes whose instances can be the target of a relationship to `target`."""
    if target not in schema:
        return []
    candidates = [target, *schema.subclasses(target)]
    return [c for c in candidates if not schema.class_def(c).abstract]


def missing_targets(
    store: VersionedStore,
    db: str,
    ref: str,
    schema: Schema,
    links: Iterable[Link],
    pending: Container[InstanceKey] = frozenset(),
) -> list[tuple[Link, str]]:
    """Each (link, id) whose target is neither stored at `ref` nor about to be (`pending`)."""
    links = list(links)
    classes = {link.target: target_classes(schema, link.target) for link in links}
    wanted = {
        DocRef.of_instance(cls, target_id)
        for link in links
        for cls in classes[link.target]
        for target_id in link.ids
    }
    found = store.get_many(db, ref, sorted(wanted)) if wanted else {}
    missing: list[tuple[Link, str]] = []
    for link in links:
        for target_id in link.ids:
            if not any(
                DocRef.of_instance(cls, target_id).key in found or (cls, target_id) in pending
                for cls in classes[link.target]
            ):
                missing.append((link, target_id))
    return missing


def value_key(value: Any) -> str:
    """A stored value as a hashable, order-independent text (money and coordinates are dicts)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def unique_properties(resolved: ResolvedClass) -> list[str]:
    return [p.name for p in resolved.properties if p.unique]


def taken_values(
    store: VersionedStore,
    db: str,
    ref: str,
    schema: Schema,
    resolved: ResolvedClass,
    wanted: Mapping[str, Collection[Any]],
) -> dict[str, dict[str, InstanceKey]]:
    """For each unique property: value -> the instance holding it, for the `wanted` values
    (property -> values about to be written) that are stored. A property's values are unique
    across the class declaring it and all of that class's subclasses."""
    names = unique_properties(resolved)
    scopes = {
        name: target_classes(schema, resolved.declared_by.get(name, resolved.id)) for name in names
    }
    # Should two instances hold one value, the first class met (then the lowest id) is named.
    rank = {cls: i for i, cls in enumerate(dict.fromkeys(c for n in names for c in scopes[n]))}
    taken: dict[str, dict[str, InstanceKey]] = {name: {} for name in names}
    for name in names:
        values = [v for v in wanted.get(name, ()) if v is not None]
        if not values or not scopes[name]:
            continue
        found = store.find_docs(db, ref, scopes[name], name, values)
        for state in sorted(found, key=lambda s: (rank[s.ref.class_id], s.ref.doc_id)):
            holder = (state.ref.class_id, state.ref.doc_id)
            taken[name].setdefault(value_key((state.data or {}).get(name)), holder)
    return taken


@dataclass(frozen=True)
class Referrer:
    """An instance pointing, through one relationship field, at instances being deleted."""

    class_id: str
    id: str
    predicate: str
    many: bool
    required: bool
    hits: tuple[str, ...]
    state: DocState

    def as_dict(self) -> dict[str, Any]:
        return {"class_id": self.class_id, "id": self.id, "predicate": self.predicate}


def find_referrers(
    store: VersionedStore,
    db: str,
    ref: str,
    schema: Schema,
    doomed: Mapping[str, set[str]],
) -> list[Referrer]:
    """Instances outside `doomed` (class id -> ids) whose links point into it, by class, then
    id, then relationship."""
    found: list[Referrer] = []
    for source in schema.instance_classes():
        spared = doomed.get(source, set())
        pointing: dict[str, list[Referrer]] = {}
        for rel in schema.resolved(source).relationships:
            ids = {
                doc_id
                for cls, doc_ids in doomed.items()
                if cls in schema and rel.target in schema and schema.is_subclass_of(cls, rel.target)
                for doc_id in doc_ids
            }
            if not ids:
                continue
            for state in store.find_docs(db, ref, [source], rel.predicate, sorted(ids)):
                if state.ref.doc_id in spared:
                    continue
                value = (state.data or {}).get(rel.predicate)
                pointed = value if isinstance(value, list) else [value]
                hits = tuple(v for v in pointed if isinstance(v, str) and v in ids)
                if hits:
                    referrer = Referrer(
                        source,
                        state.ref.doc_id,
                        rel.predicate,
                        is_many(rel),
                        rel.required,
                        hits,
                        state,
                    )
                    pointing.setdefault(state.ref.doc_id, []).append(referrer)
        for doc_id in sorted(pointing):
            found += pointing[doc_id]
    return found
