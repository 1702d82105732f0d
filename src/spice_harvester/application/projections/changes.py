"""A document's change as a read model sees it: its state before and after, either absent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spice_harvester.domain.versioning.documents import DocRef, DocState


@dataclass(frozen=True)
class DocChange:
    key: str
    before: DocState | None
    after: DocState | None

    @property
    def ref(self) -> DocRef:
        return DocRef.from_key(self.key)

    @property
    def existed(self) -> bool:
        return self.before is not None and self.before.exists

    @property
    def exists(self) -> bool:
        return self.after is not None and self.after.exists

    @property
    def live_after(self) -> DocState | None:
        return self.after if self.exists else None

    @property
    def changed(self) -> bool:
        """Whether the visible version differs (not so once folded back to where it was)."""
        return _version(self.before) != _version(self.after)


def changes_between(
    keys: Iterable[str], before: Mapping[str, DocState], after: Mapping[str, DocState]
) -> list[DocChange]:
    """One change per key whose visible version differs (a tombstone counts as a version)."""
    found = []
    for key in sorted(set(keys)):
        was, now = before.get(key), after.get(key)
        if _version(was) != _version(now):
            found.append(DocChange(key, was, now))
    return found


def _version(state: DocState | None) -> tuple[str, int] | None:
    return None if state is None else (state.commit_id, state.seq)
