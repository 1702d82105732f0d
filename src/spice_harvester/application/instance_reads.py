"""Instance reads at a branch or any ref: one instance, a class's page, a count, a history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from spice_harvester.application.instance_ids import id_problem
from spice_harvester.application.instance_links import iter_instances
from spice_harvester.application.ontology import schema_at_commit
from spice_harvester.domain.errors import NotFound, ValidationFailed
from spice_harvester.domain.ontology.schema import SchemaLimits
from spice_harvester.domain.versioning.documents import DocRef, DocState
from spice_harvester.domain.versioning.model import CommitInfo
from spice_harvester.ports.versioned_store import VersionedStore

CLASSES_SHOWN = 20


@dataclass(frozen=True)
class InstancePage:
    instances: list[dict[str, Any]]
    total: int


class InstanceReader:
    """Every read first fixes one commit (`at` when given, else the branch head), so the parts
    of an answer (a page and its total, say) all see the same state."""

    def __init__(self, store: VersionedStore, limits: SchemaLimits) -> None:
        self.store = store
        self.limits = limits

    def commit_at(self, db: str, branch: str, at: str | None) -> CommitInfo:
        return self.store.resolve(db, at or branch, branch=branch)

    def get(
        self, db: str, instance_id: str, class_id: str | None, branch: str, at: str | None
    ) -> dict[str, Any]:
        """One instance; without `class_id` it is looked up in every class that has instances."""
        commit = self.commit_at(db, branch, at).commit_id
        _known_id(instance_id)
        if class_id is not None:
            state = self.store.get(db, commit, DocRef.of_instance(class_id, instance_id))
            if state is None:
                raise NotFound(f"instance {class_id}/{instance_id} does not exist", field="id")
            return self._views(db, [state])[0]
        classes = schema_at_commit(self.store, db, commit, self.limits).instance_classes()
        refs = [DocRef.of_instance(c, instance_id) for c in classes]
        found = list(self.store.get_many(db, commit, refs).values()) if refs else []
        return self._views(db, [_only(found, instance_id)])[0]

    def page(
        self,
        db: str,
        class_id: str,
        *,
        limit: int,
        offset: int,
        search: str | None,
        branch: str,
        at: str | None,
    ) -> InstancePage:
        """A page of the class's own instances in id order; `search` keeps those with a value
        containing the text (case-insensitive), found by scanning the class, then pages."""
        commit = self.commit_at(db, branch, at).commit_id
        self._class_exists(db, commit, class_id)
        if not search:
            page = self.store.list_docs(
                db, commit, "instance", class_id, limit=limit, offset=offset
            )
            return InstancePage(self._views(db, page.items), page.total)
        needle = search.casefold()
        matches = [
            state
            for state in iter_instances(self.store, db, commit, class_id)
            if any(needle in text.casefold() for text in _texts(state.ref.doc_id, state.data))
        ]
        return InstancePage(self._views(db, matches[offset : offset + limit]), len(matches))

    def count(self, db: str, class_id: str, branch: str, at: str | None) -> int:
        commit = self.commit_at(db, branch, at).commit_id
        self._class_exists(db, commit, class_id)
        return self.store.count(db, commit, "instance", class_id)

    def history(
        self, db: str, instance_id: str, class_id: str | None, branch: str, at: str | None
    ) -> list[dict[str, Any]]:
        """Every version along the ref's history, newest first; deleted versions included."""
        commit = self.commit_at(db, branch, at).commit_id
        _known_id(instance_id)
        if class_id is None:
            class_id = self._class_of(db, commit, instance_id)
        versions = self.store.history(db, commit, DocRef.of_instance(class_id, instance_id))
        if not versions:
            raise NotFound(f"instance {class_id}/{instance_id} has no history here", field="id")
        return [
            {
                "version": v.state.seq,
                "commit_id": v.commit.commit_id,
                "author": v.commit.author,
                "message": v.commit.message,
                "timestamp": v.commit.created_at.isoformat(),
                "deleted": v.deleted,
                "data": v.state.data,
            }
            for v in versions
        ]

    def _class_of(self, db: str, commit: str, instance_id: str) -> str:
        """The class of an id, live or deleted, when exactly one class has it."""
        classes = schema_at_commit(self.store, db, commit, self.limits).instance_classes()
        refs = [DocRef.of_instance(c, instance_id) for c in classes]
        live = list(self.store.get_many(db, commit, refs).values()) if refs else []
        if not live:
            # A deleted instance is only a tombstone, which get_many leaves out.
            live = [
                state
                for ref in refs
                if (state := self.store.get(db, commit, ref, include_deleted=True)) is not None
            ]
        return _only(live, instance_id).ref.class_id

    def _class_exists(self, db: str, commit: str, class_id: str) -> None:
        if self.store.get(db, commit, DocRef.of_class(class_id)) is None:
            raise NotFound(f"class '{class_id}' does not exist", field="class_id")

    def _views(self, db: str, states: Iterable[DocState]) -> list[dict[str, Any]]:
        return instance_views(self.store, db, states)


def instance_views(
    store: VersionedStore, db: str, states: Iterable[DocState]
) -> list[dict[str, Any]]:
    """Instances as reads answer them, each with the time of the commit that wrote it."""
    states = list(states)
    # A page usually comes from a few commits (a bulk create is one), so each is read once.
    times = {
        commit_id: store.resolve(db, commit_id).created_at.isoformat()
        for commit_id in {state.commit_id for state in states}
    }
    return [instance_view(state, times.get(state.commit_id)) for state in states]


def instance_view(state: DocState, updated_at: str | None) -> dict[str, Any]:
    return {
        "id": state.ref.doc_id,
        "class_id": state.ref.class_id,
        "version": state.seq,
        "commit_id": state.commit_id,
        "updated_at": updated_at,
        "data": state.data,
    }


def _known_id(instance_id: str) -> None:
    # No instance can have an id breaking the rules, so there is nothing to look for.
    if id_problem(instance_id) is not None:
        raise NotFound(f"no instance has the id {instance_id[:60]!r}", field="id")


def _only(found: list[DocState], instance_id: str) -> DocState:
    if not found:
        raise NotFound(f"no instance has the id {instance_id!r}", field="id")
    if len(found) > 1:
        classes = sorted(state.ref.class_id for state in found)
        shown = ", ".join(classes[:CLASSES_SHOWN])
        raise ValidationFailed(
            f"several classes have an instance {instance_id!r} ({shown}): give class_id",
            field="class_id",
            data={"class_ids": classes},
        )
    return found[0]


def _texts(instance_id: str, data: Mapping[str, Any] | None) -> Iterator[str]:
    yield instance_id
    yield from _value_texts(data)


def _value_texts(value: Any) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _value_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _value_texts(item)
    elif value is True or value is False:
        yield "true" if value else "false"
    else:
        yield str(value)
