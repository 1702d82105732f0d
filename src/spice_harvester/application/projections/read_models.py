"""What each read model holds for a set of documents, and how changes alter it (pure).

The SQL adapters write exactly these rows, and the rebuild check computes them again from the
store's documents at the reflected commit: one definition serves both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spice_harvester.application.projections.changes import DocChange
from spice_harvester.application.projections.search_text import document_text
from spice_harvester.domain.versioning.documents import DocState

SearchKey = tuple[str, str]  # (class_id, doc_id)


@dataclass(frozen=True)
class SearchEdits:
    upserts: dict[SearchKey, str]
    deletes: list[SearchKey]


def search_rows(states: Iterable[DocState]) -> dict[SearchKey, str]:
    """class_id, doc_id -> indexed text, for every live instance among `states`."""
    rows = {}
    for state in states:
        text = document_text(state)
        if text is not None:
            rows[(state.ref.class_id, state.ref.doc_id)] = text
    return rows


def search_edits(changes: Iterable[DocChange]) -> SearchEdits:
    upserts: dict[SearchKey, str] = {}
    deletes: list[SearchKey] = []
    for change in changes:
        ref = change.ref
        if ref.doc_type != "instance":
            continue
        after = change.live_after
        text = None if after is None else document_text(after)
        if text is not None:
            upserts[(ref.class_id, ref.doc_id)] = text
        else:
            deletes.append((ref.class_id, ref.doc_id))
    return SearchEdits(upserts, deletes)


def class_counts(states: Iterable[DocState]) -> dict[str, int]:
    """Live instances per class."""
    counts = Counter(
        state.ref.class_id for state in states if state.ref.doc_type == "instance" and state.exists
    )
    return dict(counts)


def count_deltas(changes: Iterable[DocChange]) -> dict[str, int]:
    deltas: Counter[str] = Counter()
    for change in changes:
        if change.ref.doc_type == "instance":
            deltas[change.ref.class_id] += int(change.exists) - int(change.existed)
    return {class_id: delta for class_id, delta in deltas.items() if delta}


@dataclass(frozen=True)
class Lineage:
    """The version a branch sees of one document, and the commit and command that wrote it."""

    seq: int
    commit_id: str
    command_id: str | None


@dataclass(frozen=True)
class LineageEdits:
    upserts: dict[str, tuple[int, str]]  # doc_key -> (seq, commit_id)
    deletes: list[str]


def lineage_rows(
    states: Iterable[DocState], commands: Mapping[str, str | None]
) -> dict[str, Lineage]:
    """doc_key -> lineage of every live document (classes and instances); `commands` maps
    each commit id to the command that made it."""
    return {
        state.ref.key: Lineage(state.seq, state.commit_id, commands.get(state.commit_id))
        for state in states
        if state.exists
    }


def lineage_edits(changes: Iterable[DocChange]) -> LineageEdits:
    upserts: dict[str, tuple[int, str]] = {}
    deletes: list[str] = []
    for change in changes:
        after = change.live_after
        if after is not None:
            upserts[change.key] = (after.seq, after.commit_id)
        else:
            deletes.append(change.key)
    return LineageEdits(upserts, deletes)
