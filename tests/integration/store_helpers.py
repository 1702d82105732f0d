"""Short ways to write to the versioned store in tests."""

from __future__ import annotations

from typing import Any

from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest, CommitResult

DB = "testdb"


def person(doc_id: str) -> DocRef:
    return DocRef.of_instance("Person", doc_id)


def write(
    store: SqlVersionedStore,
    branch: str,
    *changes: Change,
    message: str = "change",
    author: str = "tester",
    command_id: str | None = None,
) -> CommitResult:
    return store.commit(DB, CommitRequest(branch, author, message, changes, command_id))


def create(ref: DocRef, data: dict[str, Any], **extra: Any) -> Change:
    return Change(ref, ChangeKind.CREATE, data, **extra)


def update(ref: DocRef, data: dict[str, Any], **extra: Any) -> Change:
    return Change(ref, ChangeKind.UPDATE, data, **extra)


def remove(ref: DocRef, **extra: Any) -> Change:
    return Change(ref, ChangeKind.DELETE, **extra)


def data_at(store: SqlVersionedStore, ref: str, doc: DocRef) -> dict[str, Any] | None:
    state = store.get(DB, ref, doc)
    return None if state is None else state.data
