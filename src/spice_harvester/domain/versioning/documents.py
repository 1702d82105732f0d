"""Documents in the versioned store: classes and instances, their keys and field changes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

Data = dict[str, Any]
DocType = Literal["class", "instance"]
DOC_TYPES: tuple[DocType, ...] = ("class", "instance")


@dataclass(frozen=True, order=True)
class DocRef:
    """Which document: a class (by its id) or an instance (by class and id)."""

    doc_type: DocType
    class_id: str
    doc_id: str

    @classmethod
    def of_class(cls, class_id: str) -> DocRef:
        return cls("class", class_id, class_id)

    @classmethod
    def of_instance(cls, class_id: str, instance_id: str) -> DocRef:
        return cls("instance", class_id, instance_id)

    @property
    def key(self) -> str:
        # Instance ids cannot contain "/", so "class/id" is unambiguous.
        if self.doc_type == "class":
            return f"class:{self.doc_id}"
        return f"instance:{self.class_id}/{self.doc_id}"

    @property
    def path(self) -> str:
        """How conflicts and diffs name the document."""
        if self.doc_type == "class":
            return f"classes/{self.doc_id}"
        return f"instances/{self.class_id}/{self.doc_id}"

    @classmethod
    def from_key(cls, key: str) -> DocRef:
        kind, _, rest = key.partition(":")
        if kind == "class":
            return cls.of_class(rest)
        class_id, _, doc_id = rest.partition("/")
        return cls.of_instance(class_id, doc_id)


@dataclass(frozen=True)
class DocState:
    """A document as one ref sees it; a deleted document is a tombstone with data None."""

    ref: DocRef
    seq: int
    data: Data | None
    commit_id: str
    doc_hash: str | None = None  # as stored, so a writer need not hash the old version again

    @property
    def exists(self) -> bool:
        return self.data is not None


def data_of(state: DocState | None) -> Data | None:
    return None if state is None else state.data


def seq_of(state: DocState | None) -> int:
    return 0 if state is None else state.seq


class ChangeType(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"


@dataclass(frozen=True)
class FieldChange:
    field: str
    change: ChangeType
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "change": self.change.value,
            "from": self.before,
            "to": self.after,
        }


_MISSING = object()


def field_changes(before: Data | None, after: Data | None) -> list[FieldChange]:
    """Field-level differences between two versions of a document, in field order."""
    old, new = before or {}, after or {}
    changes = []
    for name in sorted(old.keys() | new.keys()):
        was, now = old.get(name, _MISSING), new.get(name, _MISSING)
        if was is _MISSING:
            changes.append(FieldChange(name, ChangeType.ADDED, None, now))
        elif now is _MISSING:
            changes.append(FieldChange(name, ChangeType.DELETED, was, None))
        elif was != now:
            changes.append(FieldChange(name, ChangeType.MODIFIED, was, now))
    return changes


def document_change(before: Data | None, after: Data | None) -> ChangeType | None:
    if before is None and after is None:
        return None
    if before is None:
        return ChangeType.ADDED
    if after is None:
        return ChangeType.DELETED
    return ChangeType.MODIFIED if before != after else None
