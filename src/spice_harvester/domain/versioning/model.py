"""What the versioned store returns: databases, branches, commits, pages, diffs, merges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from spice_harvester.domain.versioning.changes import Change
from spice_harvester.domain.versioning.documents import Data, DocRef, DocState, FieldChange


@dataclass(frozen=True)
class DatabaseInfo:
    db_id: int
    name: str
    description: str | None
    seq: int
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class CommitInfo:
    commit_id: str
    parents: tuple[str, ...]
    author: str
    message: str
    created_at: datetime
    command_id: str | None
    state_hash: str
    doc_count: int
    generation: int
    timeline_id: int
    pos: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.commit_id,
            "parents": list(self.parents),
            "author": self.author,
            "message": self.message,
            "timestamp": self.created_at.isoformat(),
            "command_id": self.command_id,
            "state_hash": self.state_hash,
        }


@dataclass(frozen=True)
class BranchInfo:
    name: str
    head: str
    from_branch: str | None
    fork_commit: str | None
    protected: bool
    description: str | None
    seq: int
    created_at: datetime
    created_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "head": self.head,
            "from_branch": self.from_branch,
            "fork_commit": self.fork_commit,
            "protected": self.protected,
            "description": self.description,
            "version": self.seq,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }


@dataclass(frozen=True)
class CommitRequest:
    """One write: every change lands in one commit, or none does."""

    branch: str
    author: str
    message: str
    changes: tuple[Change, ...]
    command_id: str | None = None
    allow_empty: bool = False  # an explicit commit with a message and no changes


@dataclass(frozen=True)
class WrittenEvent:
    event_id: str
    event_type: str
    aggregate_id: str
    seq: int


@dataclass(frozen=True)
class CommitResult:
    commit: CommitInfo
    versions: dict[str, int]
    events: tuple[WrittenEvent, ...]
    replayed: bool = False  # True when an idempotent retry returned the original commit


@dataclass(frozen=True)
class Page:
    items: list[DocState]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class DocVersion:
    state: DocState
    deleted: bool
    commit: CommitInfo


@dataclass(frozen=True)
class DocDiff:
    ref: DocRef
    change: str
    before: Data | None
    after: Data | None
    fields: list[FieldChange]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.ref.path,
            "doc_type": self.ref.doc_type,
            "class_id": self.ref.class_id,
            "id": self.ref.doc_id,
            "change": self.change,
            "fields": [change.as_dict() for change in self.fields],
        }


@dataclass(frozen=True)
class DiffResult:
    from_commit: str
    to_commit: str
    merge_base: str
    changes: list[DocDiff]

    @property
    def summary(self) -> dict[str, int]:
        counts = {"added": 0, "modified": 0, "deleted": 0}
        for change in self.changes:
            counts[change.change] += 1
        return counts


@dataclass(frozen=True)
class MergeResult:
    status: str  # "merged", "fast_forward", "up_to_date"
    commit: CommitInfo
    merge_base: str
    changed: int = 0
    resolved: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Pack:
    """What one database sends another: a branch head and the commits (with their events,
    oldest first) that the receiver does not have yet."""

    head: str
    commits: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RemoteUpdate:
    """What receiving a pack did: `status` is "created", "fast_forward", "merged" or
    "up_to_date"; `fetched` counts the commits that were new here."""

    status: str
    branch: str
    head: CommitInfo
    fetched: int
