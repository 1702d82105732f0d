"""Commands on documents and the field-level events that record them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from spice_harvester.domain.errors import AlreadyExists, ConcurrencyConflict, NotFound
from spice_harvester.domain.versioning.documents import Data, DocRef, DocState, seq_of


class ChangeKind(StrEnum):
    CREATE = "create"  # the document must not exist (or be deleted)
    UPDATE = "update"  # field merge into an existing document
    REPLACE = "replace"  # the whole document, created if absent
    DELETE = "delete"


@dataclass(frozen=True)
class Change:
    """One document change requested in a commit."""

    ref: DocRef
    kind: ChangeKind
    data: Data | None = None
    unset: tuple[str, ...] = ()
    expected_seq: int | None = None
    event_id: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "ref": self.ref.key,
            "kind": self.kind.value,
            "data": self.data,
            "unset": list(self.unset),
            "expected_seq": self.expected_seq,
        }


def resolve_change(current: DocState | None, change: Change) -> Data | None:
    """The document after `change`, or an error naming why it cannot apply."""
    actual = seq_of(current)
    if change.expected_seq is not None and change.expected_seq != actual:
        raise ConcurrencyConflict(change.ref.key, change.expected_seq, actual)
    exists = current is not None and current.exists
    if change.kind is ChangeKind.CREATE:
        if exists:
            raise AlreadyExists(f"{change.ref.path} already exists", field="id")
        return dict(change.data or {})
    if change.kind is ChangeKind.REPLACE:
        return dict(change.data or {})
    if not exists:
        raise NotFound(f"{change.ref.path} does not exist")
    assert current is not None
    assert current.data is not None
    if change.kind is ChangeKind.DELETE:
        return None
    merged = {**current.data, **(change.data or {})}
    for name in change.unset:
        merged.pop(name, None)
    return merged


EVENT_NAMES = {"class": "Class", "instance": "Instance"}


@dataclass(frozen=True)
class DocEvent:
    """A document's recorded change: its type and a payload that replays exactly."""

    ref: DocRef
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)


def event_for(ref: DocRef, before: Data | None, after: Data | None) -> DocEvent:
    """Created events carry the whole document, Updated only what changed, Deleted nothing."""
    noun = EVENT_NAMES[ref.doc_type]
    if after is None:
        return DocEvent(ref, f"{noun}Deleted", {})
    if before is None:
        return DocEvent(ref, f"{noun}Created", {"data": after})
    changed = {name: value for name, value in after.items() if before.get(name, _ABSENT) != value}
    removed = sorted(name for name in before if name not in after)
    return DocEvent(ref, f"{noun}Updated", {"set": changed, "unset": removed})


_ABSENT = object()


def apply_event(before: Data | None, event_type: str, payload: dict[str, Any]) -> Data | None:
    """Replays one event: assignment only, so a replay can never fail."""
    if event_type.endswith("Deleted"):
        return None
    if event_type.endswith("Created"):
        return dict(payload["data"])
    merged = {**(before or {}), **payload.get("set", {})}
    for name in payload.get("unset", []):
        merged.pop(name, None)
    return merged
