"""Inverse relationships kept in step: a write's links mirrored onto their targets, one commit.

A relationship with an `inverse_predicate` is one link seen from both ends. When a write sets,
changes or removes `A.p`, each target it adds gains `A` under the inverse field `q` and each
target it drops loses `A`; the target changes go in the write's own commit, each expecting the
version read, so a concurrent change to a target is a 409 `occ_conflict`, never a lost update.
The pair is symmetric: writing `B.q` keeps `A.p` in step the same way.

A one-valued `q` that already names another instance is refused (409 `conflict` naming the
target and its value), never silently taken over: to move a link, write its one-valued end.
A many-valued `q` that a loss would leave empty while it is required is refused the same way.

On delete, a referrer pointing through a paired field holds the mirror of the deleted
instance's own link, so it loses the id in the same commit instead of blocking the delete;
only a referrer whose required field would be left empty blocks it (and is what `cascade`
deletes), as any other referrer does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spice_harvester.application.instance_links import Referrer, target_classes
from spice_harvester.application.instance_values import is_many
from spice_harvester.domain.errors import Conflict
from spice_harvester.domain.ontology.schema import Schema
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef, DocState
from spice_harvester.ports.versioned_store import VersionedStore

PROBLEMS_SHOWN = 100
_ABSENT: Any = object()


@dataclass(frozen=True)
class Written:
    """One instance a write leaves: its stored data before (None for a create) and after."""

    ref: DocRef
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]


@dataclass(frozen=True)
class Mirrored:
    """What keeping the inverses asks for: every written instance's final data (its own
    inverse fields may gain ids, when instances of one write point at each other) and one
    change per other target, all the gains and losses of that target merged into it."""

    data: Mapping[str, dict[str, Any]]
    """Ref key -> the written instance's data as it must be stored."""
    changes: list[Change]

    def of(self, ref: DocRef) -> dict[str, Any]:
        return self.data[ref.key]

    def update_fields(
        self,
        ref: DocRef,
        current: Mapping[str, Any],
        data: Mapping[str, Any],
        unset: Sequence[str],
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The field merge of an update (`data`, `unset`), widened when the instance is a
        target of its own write (a link to itself through an inverse pair)."""
        final = self.data[ref.key]
        if final == merged(current, data, unset):
            return dict(data), tuple(unset)
        changed = {k: v for k, v in final.items() if k in data or current.get(k, _ABSENT) != v}
        return changed, tuple(k for k in current if k not in final)


def merged(
    current: Mapping[str, Any], data: Mapping[str, Any], unset: Sequence[str]
) -> dict[str, Any]:
    """An instance after a field merge."""
    result = {**current, **data}
    for name in unset:
        result.pop(name, None)
    return result


@dataclass(frozen=True)
class _Step:
    """One end of a link made or broken: `target_id` gains or loses `source` under `inverse`."""

    source: DocRef
    predicate: str
    inverse: str
    target_class: str
    target_id: str
    gain: bool


@dataclass
class _Doc:
    ref: DocRef
    data: dict[str, Any]
    state: DocState | None  # None for an instance the write itself creates or updates


def mirror_links(
    store: VersionedStore, db: str, at: str, schema: Schema, written: Sequence[Written]
) -> Mirrored:
    """The inverse fields of every instance the written ones link to or unlink from, read at
    `at`, brought in step; refused with one 409 listing every clash. Call after the link
    targets were checked to exist: a target that is neither stored nor written is skipped."""
    docs = {w.ref.key: _Doc(w.ref, dict(w.after), None) for w in written}
    steps = [step for w in written for step in _steps(schema, w)]
    if not steps:
        return Mirrored({key: doc.data for key, doc in docs.items()}, [])
    candidates = {
        (s.target_class, s.target_id): [
            DocRef.of_instance(cls, s.target_id) for cls in target_classes(schema, s.target_class)
        ]
        for s in steps
    }
    wanted = sorted({r for refs in candidates.values() for r in refs if r.key not in docs})
    for state in (store.get_many(db, at, wanted) if wanted else {}).values():
        docs[state.ref.key] = _Doc(state.ref, dict(state.data or {}), state)
    problems: list[dict[str, Any]] = []
    # Losses first, so every gain sees what the write leaves behind.
    for step in sorted(steps, key=lambda s: s.gain):
        refs = candidates[(step.target_class, step.target_id)]
        found = [docs[r.key] for r in refs if r.key in docs]
        if not step.gain:
            for doc in found:
                _lose(schema, doc, step, problems)
        elif len(found) > 1:
            names = ", ".join(f"{d.ref.class_id}/{d.ref.doc_id}" for d in found)
            message = (
                f"{step.predicate}: {step.target_id!r} names several instances ({names}), "
                f"so its {step.inverse} cannot be kept in step"
            )
            problems.append(_problem(message, step, found[0].ref, None))
        elif found:
            _gain(schema, found[0], step, problems)
    if problems:
        raise Conflict(
            problems[0]["message"] + (f" (and {len(problems) - 1} more)" if problems[1:] else ""),
            field=problems[0]["source"]["field"],
            data={"conflicts": problems[:PROBLEMS_SHOWN], "conflict_count": len(problems)},
        )
    changes = [
        _change(doc)
        for doc in sorted(docs.values(), key=lambda d: d.ref)
        if doc.state is not None and doc.data != doc.state.data
    ]
    return Mirrored({w.ref.key: docs[w.ref.key].data for w in written}, changes)


def split_referrers(
    schema: Schema, referrers: Sequence[Referrer]
) -> tuple[list[Referrer], list[Referrer]]:
    """(blocking, mirrored): a referrer pointing through a paired field holds the mirror of
    the deleted instance's own link and is unlinked with it, unless that field is required and
    would be left empty; such a referrer, and one through an unpaired field, blocks."""
    blocking: list[Referrer] = []
    mirrored: list[Referrer] = []
    for r in referrers:
        known = r.class_id in schema
        rel = schema.resolved(r.class_id).relationship(r.predicate) if known else None
        paired = rel is not None and rel.inverse_predicate is not None
        (mirrored if paired and not (r.required and _emptied(r)) else blocking).append(r)
    return blocking, mirrored


def _emptied(r: Referrer) -> bool:
    value = (r.state.data or {}).get(r.predicate)
    return not isinstance(value, list) or all(v in r.hits for v in value)


def _ids(value: Any) -> list[str]:
    """The ids a stored relationship value holds (a string for *:1, a list for *:n)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _steps(schema: Schema, w: Written) -> Iterator[_Step]:
    for rel in schema.resolved(w.ref.class_id).relationships:
        q = rel.inverse_predicate
        if q is None:
            continue
        old = _ids((w.before or {}).get(rel.predicate))
        new = _ids(w.after.get(rel.predicate))
        for target_id in old:
            if target_id not in new:
                yield _Step(w.ref, rel.predicate, q, rel.target, target_id, gain=False)
        for target_id in new:
            if target_id not in old:
                yield _Step(w.ref, rel.predicate, q, rel.target, target_id, gain=True)


def _gain(schema: Schema, doc: _Doc, step: _Step, problems: list[dict[str, Any]]) -> None:
    mirror = schema.resolved(doc.ref.class_id).relationship(step.inverse)
    if mirror is None:
        return  # the target's class lost the mirror: nothing to keep
    me = step.source.doc_id
    current = _ids(doc.data.get(step.inverse))
    if is_many(mirror):
        if me not in current:
            doc.data[step.inverse] = [*current, me]
    elif not current or current == [me]:
        doc.data[step.inverse] = me
    else:
        held = current[0]
        target = f"{doc.ref.class_id}/{doc.ref.doc_id}"
        message = (
            f"{step.predicate}: {target} already has {step.inverse} {held!r}, and "
            f"{step.inverse} takes one id ({mirror.cardinality}): set {step.inverse} on "
            f"{target} to move it"
        )
        problems.append(_problem(message, step, doc.ref, held))


def _lose(schema: Schema, doc: _Doc, step: _Step, problems: list[dict[str, Any]]) -> None:
    mirror = schema.resolved(doc.ref.class_id).relationship(step.inverse)
    me = step.source.doc_id
    value = doc.data.get(step.inverse)
    current = _ids(value)
    if mirror is None or me not in current:
        return
    kept = [i for i in current if i != me]
    if kept:
        doc.data[step.inverse] = kept if isinstance(value, list) else kept[0]
    elif mirror.required:
        target = f"{doc.ref.class_id}/{doc.ref.doc_id}"
        message = (
            f"{step.predicate}: {target} requires {step.inverse}, and losing "
            f"{me!r} would leave it empty"
        )
        problems.append(_problem(message, step, doc.ref, value))
    else:
        del doc.data[step.inverse]


def _problem(message: str, step: _Step, target: DocRef, current: Any) -> dict[str, Any]:
    return {
        "message": message,
        "class_id": target.class_id,
        "id": target.doc_id,
        "field": step.inverse,
        "current": current,
        "source": {
            "class_id": step.source.class_id,
            "id": step.source.doc_id,
            "field": step.predicate,
        },
    }


def _change(doc: _Doc) -> Change:
    assert doc.state is not None
    before = doc.state.data or {}
    data = {k: v for k, v in doc.data.items() if before.get(k, _ABSENT) != v}
    unset = tuple(k for k in before if k not in doc.data)
    return Change(doc.ref, ChangeKind.UPDATE, data, unset, expected_seq=doc.state.seq)
