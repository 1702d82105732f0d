"""What instance writes check against stored data: link targets, unique values, referrers.

Unique values and referrers are found by scanning the classes concerned at the ref: the cost
grows with their instance count (about 0.3 s per 10,000 instances on SQLite), a known limit until
an index exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
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
    pending: frozenset[InstanceKey] = frozenset(),
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
    store: VersionedStore, db: str, ref: str, schema: Schema, resolved: ResolvedClass
) -> dict[str, dict[str, InstanceKey]]:
    """For each unique property: stored value -> the instance holding it. A property's values
    are unique across the class declaring it and all of that class's subclasses."""
    scopes: dict[str, list[str]] = {}
    for name in unique_properties(resolved):
        owner = resolved.declared_by.get(name, resolved.id)
        for cls in target_classes(schema, owner):
            scopes.setdefault(cls, []).append(name)
    taken: dict[str, dict[str, InstanceKey]] = {name: {} for name in unique_properties(resolved)}
    for cls, names in scopes.items():
        for state in iter_instances(store, db, ref, cls):
            data = state.data or {}
            for name in names:
                if data.get(name) is not None:
                    taken[name].setdefault(value_key(data[name]), (cls, state.ref.doc_id))
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
    """Instances outside `doomed` (class id -> ids) whose links point into it."""
    found: list[Referrer] = []
    for source in schema.instance_classes():
        concerned = []
        for rel in schema.resolved(source).relationships:
            ids = {
                doc_id
                for cls, doc_ids in doomed.items()
                if cls in schema and rel.target in schema and schema.is_subclass_of(cls, rel.target)
                for doc_id in doc_ids
            }
            if ids:
                concerned.append((rel, ids))
        if not concerned:
            continue
        for state in iter_instances(store, db, ref, source):
            if state.ref.doc_id in doomed.get(source, set()):
                continue
            data = state.data or {}
            for rel, ids in concerned:
                value = data.get(rel.predicate)
                pointed = value if isinstance(value, list) else [value]
                hits = tuple(v for v in pointed if isinstance(v, str) and v in ids)
                if hits:
                    found.append(
                        Referrer(
                            source,
                            state.ref.doc_id,
                            rel.predicate,
                            is_many(rel),
                            rel.required,
                            hits,
                            state,
                        )
                    )
    return found
