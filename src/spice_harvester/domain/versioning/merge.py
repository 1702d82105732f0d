"""Three-way merge of documents, field by field, with structured conflicts and strategies."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.versioning.documents import Data, DocRef

OPTIONS = ("source", "target", "value")


class Strategy(StrEnum):
    FAIL = "fail"
    OURS = "ours"  # keep the target's value (git's "ours" on the branch merged into)
    THEIRS = "theirs"  # take the source's value


class ConflictKind(StrEnum):
    FIELD = "field"  # both sides changed one field differently
    DELETE_MODIFY = "delete_modify"  # one side deleted what the other changed
    BOTH_CREATED = "both_created"  # both created the id with different values


_ABSENT: Any = object()


@dataclass(frozen=True)
class Conflict:
    ref: DocRef
    field: str | None
    kind: ConflictKind
    base: Any
    source: Any
    target: Any

    @property
    def path(self) -> str:
        return self.ref.path if self.field is None else f"{self.ref.path}/{self.field}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "doc_type": self.ref.doc_type,
            "class_id": self.ref.class_id,
            "id": self.ref.doc_id,
            "field": self.field,
            "kind": self.kind.value,
            "base": _shown(self.base),
            "source": _shown(self.source),
            "target": _shown(self.target),
            "options": list(OPTIONS),
        }


def _shown(value: Any) -> Any:
    return None if value is _ABSENT else value


@dataclass(frozen=True)
class Resolution:
    path: str
    choice: str
    value: Any = None


@dataclass(frozen=True)
class MergeOptions:
    strategy: Strategy = Strategy.FAIL
    resolutions: tuple[Resolution, ...] = ()
    fast_forward: bool = True
    dry_run: bool = False  # report what would happen (or the conflicts) and write nothing


@dataclass
class DocMerge:
    """The merge of one document: the merged data where it is decided, and what is not."""

    ref: DocRef
    merged: Data | None
    conflicts: list[Conflict]


def merge_document(
    ref: DocRef, base: Data | None, source: Data | None, target: Data | None
) -> DocMerge:
    if source in (target, base):
        return DocMerge(ref, target, [])
    if target == base:
        return DocMerge(ref, source, [])
    if source is None or target is None:
        return DocMerge(
            ref, target, [Conflict(ref, None, ConflictKind.DELETE_MODIFY, base, source, target)]
        )
    kind = ConflictKind.BOTH_CREATED if base is None else ConflictKind.FIELD
    old = base or {}
    merged: Data = {}
    conflicts = []
    for name in sorted(old.keys() | source.keys() | target.keys()):
        was = old.get(name, _ABSENT)
        theirs = source.get(name, _ABSENT)
        ours = target.get(name, _ABSENT)
        if theirs in (ours, was):
            chosen = ours
        elif ours == was:
            chosen = theirs
        else:
            conflicts.append(Conflict(ref, name, kind, was, theirs, ours))
            chosen = ours
        if chosen is not _ABSENT:
            merged[name] = chosen
    return DocMerge(ref, merged, conflicts)


def resolve(
    merge: DocMerge, strategy: Strategy, resolutions: dict[str, Resolution]
) -> tuple[Data | None, list[Conflict]]:
    """Applies explicit resolutions first, then the strategy; returns what is left open."""
    merged = None if merge.merged is None else dict(merge.merged)
    remaining = []
    for conflict in merge.conflicts:
        resolution = resolutions.get(conflict.path)
        if resolution is not None:
            choice = resolution.choice
        elif strategy is Strategy.OURS:
            choice = "target"
        elif strategy is Strategy.THEIRS:
            choice = "source"
        else:
            remaining.append(conflict)
            continue
        merged = _apply(conflict, choice, resolution, merged)
    return merged, remaining


def _apply(
    conflict: Conflict, choice: str, resolution: Resolution | None, merged: Data | None
) -> Data | None:
    if choice not in OPTIONS:
        raise ValidationFailed(
            f"resolution for {conflict.path} must choose one of {', '.join(OPTIONS)}",
            field="resolutions",
        )
    picked = {"source": conflict.source, "target": conflict.target}.get(
        choice, resolution.value if resolution else None
    )
    if conflict.field is None:
        return None if picked is _ABSENT else picked
    result = dict(merged or {})
    if picked is _ABSENT:
        result.pop(conflict.field, None)
    else:
        result[conflict.field] = picked
    return result
