"""Class use cases: read the branch's schema, and write a class with its inverses in one commit."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from spice_harvester.application.schema_migration import Migration, carry_instances
from spice_harvester.domain.errors import NotFound, ValidationFailed
from spice_harvester.domain.ontology.classes import ClassDef
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef, DocState
from spice_harvester.domain.versioning.model import CommitRequest, CommitResult
from spice_harvester.ports.versioned_store import VersionedStore
from spice_harvester.settings import Settings

SCHEMA_PAGE = 1000


def limits_from(settings: Settings) -> SchemaLimits:
    validation = settings.oms.validation
    return SchemaLimits(validation.max_property_count, validation.max_relationship_depth)


@dataclass(frozen=True)
class StoredClass:
    definition: ClassDef
    version: int
    commit_id: str

    def as_api(self) -> dict[str, Any]:
        return {**self.definition.to_api(), "version": self.version, "commit_id": self.commit_id}


def stored_classes(store: VersionedStore, db: str, ref: str) -> dict[str, StoredClass]:
    """Every class at `ref`, with its version; the schema is small, so it is read whole."""
    found: dict[str, StoredClass] = {}
    offset = 0
    while True:
        page = store.list_docs(db, ref, "class", None, limit=SCHEMA_PAGE, offset=offset)
        for state in page.items:
            found[state.ref.doc_id] = _stored(state)
        offset += SCHEMA_PAGE
        if offset >= page.total:
            return found


def _stored(state: DocState) -> StoredClass:
    assert state.data is not None
    return StoredClass(ClassDef.from_api(state.data), state.seq, state.commit_id)


def load_schema(store: VersionedStore, db: str, ref: str, limits: SchemaLimits) -> Schema:
    return Schema({cid: c.definition for cid, c in stored_classes(store, db, ref).items()}, limits)


def schema_at_commit(
    store: VersionedStore, db: str, commit_id: str, limits: SchemaLimits
) -> Schema:
    """The schema at a commit (an id, never a branch name: what a commit holds never
    changes, so it is read once per process and kept, the most recent few)."""
    return _schema_at_commit(store, db, commit_id, limits)


_SCHEMAS_KEPT = 64
_schemas: OrderedDict[tuple[int, str, str, SchemaLimits], Schema] = OrderedDict()
_schemas_lock = threading.Lock()


def _schema_at_commit(
    store: VersionedStore, db: str, commit_id: str, limits: SchemaLimits
) -> Schema:
    key = (id(store), db, commit_id, limits)
    with _schemas_lock:
        found = _schemas.get(key)
        if found is not None:
            _schemas.move_to_end(key)
            return found
    loaded = load_schema(store, db, commit_id, limits)
    with _schemas_lock:
        _schemas[key] = loaded
        while len(_schemas) > _SCHEMAS_KEPT:
            _schemas.popitem(last=False)
    return loaded


def get_class(store: VersionedStore, db: str, ref: str, class_id: str) -> StoredClass:
    state = store.get(db, ref, DocRef.of_class(class_id))
    if state is None:
        raise NotFound(f"class '{class_id}' does not exist", field="class_id")
    return _stored(state)


class ClassWriter:
    """Validates a class change against the branch head's schema and commits it together with
    the inverse relationships it keeps in step on other classes."""

    def __init__(self, store: VersionedStore, limits: SchemaLimits) -> None:
        self.store = store
        self.limits = limits

    def _commit(
        self, db: str, branch: str, actor: str, message: str, command_id: str, changes: list[Change]
    ) -> CommitResult:
        return self.store.commit(
            db, CommitRequest(branch, actor, message, tuple(changes), command_id=command_id)
        )

    def create(
        self, db: str, branch: str, payload: Any, actor: str, command_id: str
    ) -> tuple[ClassDef, CommitResult]:
        new = ClassDef.from_api(payload)
        done = self.store.command_result(db, command_id)
        if done is not None:  # retried after its commit (see InstanceWriter._done)
            return new, done
        schema = load_schema(self.store, db, branch, self.limits)
        schema.check_class(new)
        changes = [Change(DocRef.of_class(new.id), ChangeKind.CREATE, new.to_api(), expected_seq=0)]
        changes += [_replace(update) for update in schema.inverse_updates(new)]
        return new, self._commit(db, branch, actor, f"Create class {new.id}", command_id, changes)

    def update(
        self,
        db: str,
        branch: str,
        class_id: str,
        payload: Any,
        expected_seq: int,
        actor: str,
        command_id: str,
    ) -> tuple[ClassDef, CommitResult]:
        body = dict(payload) if isinstance(payload, dict) else payload
        raw_migration = body.pop("migration", None) if isinstance(body, dict) else None
        new = ClassDef.from_api({"id": class_id, **body} if isinstance(body, dict) else body)
        done = self.store.command_result(db, command_id)
        if done is not None:
            return new, done
        schema = load_schema(self.store, db, branch, self.limits)
        schema.check_class(new, replacing=class_id)
        migration = None if raw_migration is None else Migration.from_api(raw_migration)
        rewrites = carry_instances(
            self.store, db, branch, schema.with_class(new), class_id, migration
        )
        changes = [
            Change(
                DocRef.of_class(class_id),
                ChangeKind.REPLACE,
                new.to_api(),
                expected_seq=expected_seq,
            )
        ]
        changes += [_replace(update) for update in schema.inverse_updates(new)]
        changes += rewrites
        return new, self._commit(db, branch, actor, f"Update class {class_id}", command_id, changes)

    def delete(
        self, db: str, branch: str, class_id: str, expected_seq: int, actor: str, command_id: str
    ) -> CommitResult:
        done = self.store.command_result(db, command_id)
        if done is not None:
            return done
        schema = load_schema(self.store, db, branch, self.limits)
        schema.class_def(class_id)
        schema.without_class(class_id)
        if self.store.count(db, branch, "instance", class_id):
            raise ValidationFailed(
                f"class '{class_id}' still has instances: delete them first", field="class_id"
            )
        changes = [Change(DocRef.of_class(class_id), ChangeKind.DELETE, expected_seq=expected_seq)]
        changes += [_replace(update) for update in schema.removal_updates(class_id)]
        return self._commit(db, branch, actor, f"Delete class {class_id}", command_id, changes)


def _replace(update: ClassDef) -> Change:
    return Change(DocRef.of_class(update.id), ChangeKind.REPLACE, update.to_api())
