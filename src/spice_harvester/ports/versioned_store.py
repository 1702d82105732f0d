"""What the application needs from the versioned store (git semantics over documents)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

from spice_harvester.domain.versioning.documents import DocRef, DocState, DocType
from spice_harvester.domain.versioning.merge import MergeOptions
from spice_harvester.domain.versioning.model import (
    BranchInfo,
    CommitInfo,
    CommitRequest,
    CommitResult,
    DatabaseInfo,
    DiffResult,
    DocVersion,
    MergeResult,
    Pack,
    Page,
    RemoteUpdate,
)


class VersionedStore(Protocol):
    # databases
    def create_database(
        self, name: str, description: str | None = None, actor: str = "system"
    ) -> DatabaseInfo: ...
    def get_database(self, name: str) -> DatabaseInfo: ...
    def list_databases(self) -> list[DatabaseInfo]: ...
    def delete_database(
        self, name: str, expected_seq: int | None, actor: str = "system"
    ) -> None: ...

    # branches (creating one copies nothing and makes no commit)
    def create_branch(
        self,
        db: str,
        name: str,
        from_ref: str = "main",
        *,
        actor: str = "system",
        description: str | None = None,
    ) -> BranchInfo: ...
    def get_branch(self, db: str, name: str) -> BranchInfo: ...
    def list_branches(self, db: str) -> list[BranchInfo]: ...
    def delete_branch(self, db: str, name: str, *, actor: str = "system") -> None: ...
    def reset_branch(
        self, db: str, name: str, target: str, *, actor: str = "system"
    ) -> BranchInfo: ...

    # writes: one commit per call, all or nothing
    def commit(self, db: str, request: CommitRequest) -> CommitResult: ...
    def command_result(self, db: str, command_id: str) -> CommitResult | None:
        """The commit a command already made in `db`, if any (for a retried command)."""
        ...

    # reads at any ref: a branch, `main~3`, `HEAD~1` (with branch=), a commit id
    def resolve(self, db: str, ref: str, *, branch: str | None = None) -> CommitInfo: ...
    def get(
        self,
        db: str,
        ref: str,
        doc: DocRef,
        *,
        include_deleted: bool = False,
        branch: str | None = None,
    ) -> DocState | None: ...
    def get_many(self, db: str, ref: str, docs: Sequence[DocRef]) -> dict[str, DocState]: ...
    def list_docs(
        self,
        db: str,
        ref: str,
        doc_type: DocType | None = None,
        class_id: str | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        branch: str | None = None,
    ) -> Page: ...
    def count(
        self,
        db: str,
        ref: str,
        doc_type: DocType | None = None,
        class_id: str | None = None,
        *,
        branch: str | None = None,
    ) -> int: ...
    def find_docs(
        self,
        db: str,
        ref: str,
        class_ids: Sequence[str],
        field: str,
        values: Collection[Any],
        *,
        limit: int | None = None,
    ) -> list[DocState]:
        """The live instances at `ref` of any of `class_ids` whose `data[field]` is one of
        `values` or, when it is a list, has one of them as an item; in key order, the first
        `limit` if given. Values are JSON values compared canonically: dicts by content,
        while 1 and 1.0, and true and 1, differ; None matches nothing. `field` is a top-level
        name (letters, digits, underscores). The database does the filtering (with no index on
        values yet, it still reads every instance of the classes)."""
        ...

    def history(
        self, db: str, ref: str, doc: DocRef, *, branch: str | None = None
    ) -> list[DocVersion]: ...
    def log(
        self, db: str, ref: str, *, limit: int = 50, offset: int = 0, branch: str | None = None
    ) -> tuple[list[CommitInfo], int]: ...

    # version control
    def merge_base(self, db: str, one: str, other: str) -> CommitInfo: ...
    def diff(self, db: str, from_ref: str, to_ref: str) -> DiffResult: ...
    def merge(
        self,
        db: str,
        source: str,
        target_branch: str,
        *,
        author: str,
        message: str | None = None,
        options: MergeOptions = ...,
    ) -> MergeResult: ...
    def revert(
        self,
        db: str,
        branch: str,
        commit: str,
        *,
        author: str,
        message: str | None = None,
        options: MergeOptions = ...,
    ) -> CommitInfo: ...
    def rebase(
        self,
        db: str,
        branch: str,
        onto: str,
        *,
        actor: str = "system",
        options: MergeOptions = ...,
    ) -> tuple[str, CommitInfo, int]: ...

    # integrity
    # remotes
    def pack(self, db: str, ref: str, haves: Sequence[str] = ()) -> Pack: ...
    def integrate(
        self,
        db: str,
        pack: Pack,
        branch: str,
        *,
        actor: str = "system",
        merge: bool = False,
        options: MergeOptions = ...,
    ) -> RemoteUpdate: ...

    # integrity
    def state_hash(self, db: str, ref: str) -> str: ...
    def recompute_state_hash(self, db: str, ref: str) -> tuple[str, int]: ...
