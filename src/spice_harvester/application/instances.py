"""Instance use cases: the writes (create, merge, delete, bulk) here, reads and checks beside."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.application.instance_bulk import MAX_BULK, check_rows, prepared_ref
from spice_harvester.application.instance_ids import check_instance_id, join_key, split_key
from spice_harvester.application.instance_inverse import (
    Written,
    merged,
    mirror_links,
    split_referrers,
)
from spice_harvester.application.instance_links import (
    InstanceKey,
    Referrer,
    find_referrers,
    missing_targets,
    taken_values,
    unique_properties,
    value_key,
)
from spice_harvester.application.instance_reads import InstanceReader
from spice_harvester.application.instance_values import Link, Prepared, instance_class, prepare
from spice_harvester.application.ontology import schema_at_commit
from spice_harvester.domain.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    Conflict,
    NotFound,
    ValidationFailed,
)
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef, DocState
from spice_harvester.domain.versioning.model import CommitRequest, CommitResult
from spice_harvester.ports.versioned_store import VersionedStore

IDS_SHOWN = 1000
REFERRERS_SHOWN = 100
MAX_CASCADE_DEPTH = 10
MAX_CASCADE = 10_000


class InstanceWriter:
    """Validates instance writes against the schema and data at the branch head and commits them.

    The checks read the head before the commit; the commit then re-checks every `expected_seq`
    atomically, so a concurrent change to the same instance is caught, but a target deleted or a
    unique value taken between the two is not: a known limit while the checks run outside the
    commit's transaction.
    """

    def __init__(self, store: VersionedStore, limits: SchemaLimits) -> None:
        self.store = store
        self.limits = limits

    def _head(self, db: str, branch: str) -> tuple[str, Schema]:
        head = self.store.get_branch(db, branch).head
        return head, schema_at_commit(self.store, db, head, self.limits)

    def _commit(
        self, db: str, branch: str, actor: str, message: str, command_id: str, changes: list[Change]
    ) -> CommitResult:
        request = CommitRequest(branch, actor, message, tuple(changes), command_id=command_id)
        return self.store.commit(db, request)

    def _done(self, db: str, command_id: str) -> CommitResult | None:
        """The commit of a command retried after it committed but before its status was
        recorded: its checks would now fail (the instance exists, its version moved on), so
        the original result is answered instead. The command runner has already checked that
        the retry is the same request."""
        return self.store.command_result(db, command_id)

    def create(
        self, db: str, branch: str, class_id: str, payload: object, actor: str, command_id: str
    ) -> WriteOutcome:
        done = self._done(db, command_id)
        if done is not None:
            # The instance is the commit's first change; the rest are inverse links.
            return _outcome(done, DocRef.from_key(done.events[0].aggregate_id))
        head, schema = self._head(db, branch)
        prepared = prepare(schema, class_id, payload, partial=False)
        ref = prepared_ref(prepared)
        self._check_links(db, head, schema, prepared.links)
        self._check_unique(db, head, schema, prepared, ref.doc_id)
        mirrored = mirror_links(self.store, db, head, schema, [Written(ref, None, prepared.data)])
        # No expected_seq: CREATE refuses a live instance itself, and an id whose instance was
        # deleted may be created again (its version continues from the tombstone's).
        change = Change(ref, ChangeKind.CREATE, mirrored.of(ref))
        result = self._commit(
            db,
            branch,
            actor,
            f"Create {class_id}/{prepared.id}",
            command_id,
            [change, *mirrored.changes],
        )
        return _outcome(result, ref)

    def update(
        self,
        db: str,
        branch: str,
        class_id: str,
        instance_id: str,
        payload: object,
        expected_seq: int,
        actor: str,
        command_id: str,
    ) -> WriteOutcome:
        ref = DocRef.of_instance(class_id, instance_id)
        done = self._done(db, command_id)
        if done is not None:
            return _outcome(done, ref)
        head, schema = self._head(db, branch)
        instance_class(schema, class_id)
        state = self._current(db, head, ref, expected_seq)
        prepared = prepare(
            schema, class_id, payload, partial=True, instance_id=instance_id, current=state.data
        )
        if not prepared.data and not prepared.unset:
            raise ValidationFailed("data names no field to change", field="data")
        self._check_links(db, head, schema, prepared.links)
        self._check_unique(db, head, schema, prepared, instance_id)
        current = state.data or {}
        after = merged(current, prepared.data, prepared.unset)
        mirrored = mirror_links(self.store, db, head, schema, [Written(ref, current, after)])
        data, unset = mirrored.update_fields(ref, current, prepared.data, prepared.unset)
        change = Change(ref, ChangeKind.UPDATE, data, unset, expected_seq=expected_seq)
        result = self._commit(
            db,
            branch,
            actor,
            f"Update {class_id}/{instance_id}",
            command_id,
            [change, *mirrored.changes],
        )
        return _outcome(result, ref)

    def delete(
        self,
        db: str,
        branch: str,
        class_id: str,
        instance_id: str,
        expected_seq: int,
        actor: str,
        command_id: str,
        *,
        cascade: bool = False,
        unlink: bool = False,
    ) -> WriteOutcome:
        """Deletes one instance; others pointing at it answer 409 unless `cascade` deletes them
        too (recursively, bounded) or `unlink` removes their links to it."""
        if cascade and unlink:
            raise ValidationFailed("choose cascade or unlink, not both", field="cascade")
        ref = DocRef.of_instance(class_id, instance_id)
        done = self._done(db, command_id)
        if done is not None:
            return _outcome(done, ref, {"deleted": True, "changed": len(done.events)})
        head, schema = self._head(db, branch)
        instance_class(schema, class_id)
        self._current(db, head, ref, expected_seq)
        doomed: dict[str, set[str]] = {class_id: {instance_id}}
        changes = [Change(ref, ChangeKind.DELETE, expected_seq=expected_seq)]
        referrers = find_referrers(self.store, db, head, schema, doomed)
        if cascade:
            cascaded, referrers = self._cascade(db, head, schema, doomed, referrers)
            changes += cascaded
        # A referrer through an inverse pair holds the mirror of a deleted link: it loses it.
        blocking, mirrored = split_referrers(schema, referrers)
        if unlink:
            changes += _unlinks(referrers)
        elif blocking:
            shown = [r.as_dict() for r in blocking[:REFERRERS_SHOWN]]
            names = ", ".join(f"{r.class_id}/{r.id} ({r.predicate})" for r in blocking[:5])
            more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
            raise Conflict(
                f"{class_id}/{instance_id} is referenced by {names}{more}: "
                "delete with cascade=true or unlink=true",
                field="id",
                data={"referrers": shown, "referrer_count": len(blocking)},
            )
        else:
            changes += _unlinks(mirrored)
        message = f"Delete {class_id}/{instance_id}"
        deleted = sum(c.kind is ChangeKind.DELETE for c in changes[1:])
        counts = {"deleted": deleted, "unlinked": len(changes) - 1 - deleted}
        said = ", ".join(f"{n} {how}" for how, n in counts.items() if n)
        if said:
            message += f" (referrers: {said})"
        result = self._commit(db, branch, actor, message, command_id, changes)
        extra = {"deleted": True, "changed": len(changes)}
        return _outcome(result, ref, extra)

    def bulk_create(
        self,
        db: str,
        branch: str,
        class_id: str,
        rows: Sequence[object],
        actor: str,
        command_id: str,
    ) -> WriteOutcome:
        """Every row checked first (errors reported per row, nothing written), then one commit."""
        done = self._done(db, command_id)
        if done is not None:
            ids = [
                DocRef.from_key(e.aggregate_id).doc_id
                for e in done.events[: len(rows)]
                if e.event_type == "InstanceCreated"
            ]
            result = done
        else:
            head, schema = self._head(db, branch)
            prepared = check_rows(self.store, db, head, schema, class_id, rows)
            written = [Written(prepared_ref(p), None, p.data) for p in prepared]
            mirrored = mirror_links(self.store, db, head, schema, written)
            changes = [Change(w.ref, ChangeKind.CREATE, mirrored.of(w.ref)) for w in written]
            result = self._commit(
                db,
                branch,
                actor,
                f"Bulk create {len(changes)} {class_id}",
                command_id,
                [*changes, *mirrored.changes],
            )
            ids = [prepared_ref(p).doc_id for p in prepared]
        return WriteOutcome(
            result.commit.commit_id,
            class_id,
            1,
            {"class_id": class_id, "count": len(ids), "ids": ids[:IDS_SHOWN]},
        )

    # -- checks -------------------------------------------------------------------------

    def _current(self, db: str, head: str, ref: DocRef, expected_seq: int) -> DocState:
        state = self.store.get(db, head, ref)
        if state is None:
            raise NotFound(f"instance {ref.class_id}/{ref.doc_id} does not exist", field="id")
        if state.seq != expected_seq:
            # Checked here too so a stale delete is not answered with a referrer report.
            raise ConcurrencyConflict(ref.key, expected_seq, state.seq)
        return state

    def _check_links(self, db: str, head: str, schema: Schema, links: Sequence[Link]) -> None:
        missing = missing_targets(self.store, db, head, schema, links)
        if missing:
            link, target_id = missing[0]
            raise ValidationFailed(
                f"{link.field}: no {link.target} with id {target_id!r} on this branch",
                field=link.field,
                data={"missing": [{"field": m.field, "id": i} for m, i in missing[:100]]},
            )

    def _check_unique(
        self, db: str, head: str, schema: Schema, prepared: Prepared, own_id: str
    ) -> None:
        resolved = schema.resolved(prepared.class_id)
        names = [n for n in unique_properties(resolved) if prepared.data.get(n) is not None]
        if not names:
            return
        wanted = {name: [prepared.data[name]] for name in names}
        taken = taken_values(self.store, db, head, schema, resolved, wanted)
        for name in names:
            holder = taken[name].get(value_key(prepared.data[name]))
            if holder is not None and holder != (prepared.class_id, own_id):
                raise AlreadyExists(
                    f"{name} {prepared.data[name]!r} is already used by {holder[0]}/{holder[1]}",
                    field=name,
                    data={"class_id": holder[0], "id": holder[1]},
                )

    def _cascade(
        self,
        db: str,
        head: str,
        schema: Schema,
        doomed: dict[str, set[str]],
        referrers: list[Referrer],
    ) -> tuple[list[Change], list[Referrer]]:
        """Deletes for the blocking referrers, then theirs, level by level, within the bounds;
        with the referrers left, which only hold mirrors of deleted links (see split_referrers)."""
        changes: list[Change] = []
        seen: set[InstanceKey] = set()
        for _level in range(MAX_CASCADE_DEPTH):
            blocking, _ = split_referrers(schema, referrers)
            fresh = [r for r in blocking if (r.class_id, r.id) not in seen]
            if not fresh:
                return changes, referrers
            for r in fresh:
                if (r.class_id, r.id) in seen:
                    continue  # pointing through several fields
                seen.add((r.class_id, r.id))
                doomed.setdefault(r.class_id, set()).add(r.id)
                changes.append(Change(r.state.ref, ChangeKind.DELETE, expected_seq=r.state.seq))
            if len(changes) > MAX_CASCADE:
                raise ValidationFailed(
                    f"cascade would delete more than {MAX_CASCADE} instances", field="cascade"
                )
            referrers = find_referrers(self.store, db, head, schema, doomed)
        if split_referrers(schema, referrers)[0]:
            raise ValidationFailed(
                f"cascade goes deeper than {MAX_CASCADE_DEPTH} levels of references",
                field="cascade",
            )
        return changes, referrers


def _unlinks(referrers: list[Referrer]) -> list[Change]:
    """Updates removing the links: unset for *:1, the ids taken out of the list for *:n."""
    data: dict[InstanceKey, dict[str, Any]] = {}
    unset: dict[InstanceKey, list[str]] = {}
    states: dict[InstanceKey, DocState] = {}
    for r in referrers:
        key = (r.class_id, r.id)
        states[key] = r.state
        current = (r.state.data or {}).get(r.predicate)
        kept = [v for v in current if v not in r.hits] if isinstance(current, list) else []
        if kept:
            data.setdefault(key, {})[r.predicate] = kept
        elif r.required:
            raise ValidationFailed(
                f"{r.class_id}/{r.id} requires {r.predicate}: unlinking would leave it empty",
                field=r.predicate,
                data={"referrers": [r.as_dict()]},
            )
        else:
            unset.setdefault(key, []).append(r.predicate)
    return [
        Change(
            state.ref,
            ChangeKind.UPDATE,
            data.get(key, {}),
            tuple(unset.get(key, ())),
            expected_seq=state.seq,
        )
        for key, state in states.items()
    ]


def _outcome(
    result: CommitResult, ref: DocRef, extra: dict[str, Any] | None = None
) -> WriteOutcome:
    return WriteOutcome(
        result.commit.commit_id,
        ref.doc_id,
        result.versions.get(ref.key, 0),
        {"instance_id": ref.doc_id, "class_id": ref.class_id, **(extra or {})},
    )


__all__ = [
    "MAX_BULK",
    "InstanceReader",
    "InstanceWriter",
    "Prepared",
    "check_instance_id",
    "join_key",
    "prepare",
    "split_key",
]
