"""What the projections' read models offer OMS and BFF: search and class counts, each saying
how fresh it is for the branch asked about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Freshness:
    """How current a branch's read model is: the commit it reflects against the head now."""

    branch: str
    head_commit: str
    commit_id: str | None  # None: nothing applied for this branch yet
    applied_at: datetime | None

    @property
    def fresh(self) -> bool:
        return self.commit_id == self.head_commit

    def as_dict(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "head_commit": self.head_commit,
            "commit_id": self.commit_id,
            "fresh": self.fresh,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
        }


@dataclass(frozen=True)
class SearchHit:
    class_id: str
    doc_id: str
    rank: float  # higher is better: terms matched, then the whole query as one run, then
    matched_terms: int  # the engine's relevance (BM25 on SQLite, ts_rank on PostgreSQL)

    def as_dict(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "id": self.doc_id,
            "rank": self.rank,
            "matched_terms": self.matched_terms,
        }


@dataclass(frozen=True)
class SearchResult:
    q: str
    terms: tuple[str, ...]
    hits: list[SearchHit]
    total: int
    freshness: Freshness
    version: int


class SearchIndex(Protocol):
    def search(
        self,
        db: str,
        branch: str,
        q: str,
        class_ids: Sequence[str] | None = None,
        limit: int = 20,
    ) -> SearchResult:
        """Live instances on the branch with any term of `q` in their id or string values
        (as a substring of the folded text), best first. NotFound for an unknown database
        or branch; ValidationFailed for an empty query or a limit outside 1..100."""
        ...


@dataclass(frozen=True)
class ClassCounts:
    counts: dict[str, int]
    freshness: Freshness
    version: int


class CountsReader(Protocol):
    def counts(self, db: str, branch: str) -> ClassCounts:
        """Live instances per class on the branch, as of the reflected commit."""
        ...
