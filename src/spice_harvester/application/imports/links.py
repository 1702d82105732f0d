"""The link pass of a folder import: relationship fields left out when the rows were written
(their targets formed a cycle) set on the instances afterwards, a chunk per commit.

Each chunk's command id derives from the pass's, so a re-run skips the chunks done; a row
whose instance already holds the link is not written again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spice_harvester.application.imports.folder import TableLoad
from spice_harvester.application.imports.request import DEFAULT_CHUNK, chunk_command_id
from spice_harvester.application.imports.rows import ImportRow, Issue, RowBuilder, issue
from spice_harvester.application.instance_bulk import prepared_ref
from spice_harvester.application.instance_ids import id_source
from spice_harvester.application.instance_inverse import Written, merged, mirror_links
from spice_harvester.application.instance_links import missing_targets
from spice_harvester.application.instance_values import prepare
from spice_harvester.application.ontology import schema_at_commit
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import Schema, SchemaLimits
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.ports.versioned_store import VersionedStore

Progress = Callable[[int], None]


@dataclass
class LinkReport:
    linked: int = 0
    errors: list[Issue] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"rows_linked": self.linked, "errors": self.errors[:1000]}


@dataclass(frozen=True)
class _Update:
    row: ImportRow
    ref: DocRef
    data: dict[str, Any]


class LinkPass:
    def __init__(self, store: VersionedStore, limits: SchemaLimits) -> None:
        self.store = store
        self.limits = limits

    def run(
        self,
        db: str,
        branch: str,
        load: TableLoad,
        *,
        actor: str,
        command_id: str,
        chunk_size: int = DEFAULT_CHUNK,
        on_progress: Progress | None = None,
    ) -> LinkReport:
        report = LinkReport()
        if load.deferred is None:
            return report
        frame = load.plan.table.frame
        links = RowBuilder(load.deferred, None, load.plan.table.first_row)
        for number, start in enumerate(range(0, frame.height, chunk_size)):
            chunk_id = chunk_command_id(f"{command_id}:links", number)
            if self.store.command_result(db, chunk_id) is None:
                rows = load.plan.builder.rows(frame, start, start + chunk_size)
                wanted = links.rows(frame, start, start + chunk_size)
                self._chunk(db, branch, load, rows, wanted, report, actor, chunk_id)
            if on_progress is not None:
                on_progress(min(frame.height, start + chunk_size))
        return report

    def _chunk(
        self,
        db: str,
        branch: str,
        load: TableLoad,
        rows: list[ImportRow],
        wanted: list[ImportRow],
        report: LinkReport,
        actor: str,
        chunk_id: str,
    ) -> None:
        head = self.store.get_branch(db, branch).head
        schema = schema_at_commit(self.store, db, head, self.limits)
        updates = self._updates(schema, load.class_id, rows, wanted, report)
        states = self.store.get_many(db, head, [u.ref for u in updates])
        written: list[tuple[_Update, Written, int]] = []
        for update in updates:
            state = states.get(update.ref.key)
            current = (state.data if state is not None else None) or {}
            if state is None or all(current.get(k) == v for k, v in update.data.items()):
                continue  # the row was not written, or holds the links already
            try:
                prepared = prepare(
                    schema,
                    load.class_id,
                    update.data,
                    partial=True,
                    instance_id=update.ref.doc_id,
                    current=current,
                )
            except ValidationFailed as exc:
                report.errors.append(_issue(update, exc.field, exc.message))
                continue
            missing = missing_targets(self.store, db, head, schema, prepared.links)
            if missing:
                link, target = missing[0]
                reason = f"{link.field}: no {link.target} with id {target!r} on this branch"
                report.errors.append(_issue(update, link.field, reason))
                continue
            after = merged(current, prepared.data, ())
            written.append((update, Written(update.ref, current, after), state.seq))
        if not written:
            return
        mirrored = mirror_links(self.store, db, head, schema, [w for _, w, _ in written])
        changes = []
        for update, done, seq in written:
            assert done.before is not None
            data, unset = mirrored.update_fields(done.ref, done.before, update.data, ())
            changes.append(Change(done.ref, ChangeKind.UPDATE, data, unset, expected_seq=seq))
        message = f"Link {len(changes)} {load.class_id} ({', '.join(load.deferred_fields)})"
        request = CommitRequest(
            branch, actor, message, (*changes, *mirrored.changes), command_id=chunk_id
        )
        self.store.commit(db, request)
        report.linked += len(changes)

    @staticmethod
    def _updates(
        schema: Schema,
        class_id: str,
        rows: list[ImportRow],
        wanted: list[ImportRow],
        report: LinkReport,
    ) -> list[_Update]:
        """Each row's instance (its id derived as when it was written) and its links."""
        resolved = schema.resolved(class_id)
        found = []
        for row, links in zip(rows, wanted, strict=True):
            if row.issues or links.issues or not links.data:
                continue
            try:
                prepared = prepare(schema, class_id, row.data, partial=False)
            except ValidationFailed:
                continue  # the row was refused when written: nothing to link
            if not id_source(resolved, prepared.data):
                reason = f"{class_id} ids are generated, so this row's instance cannot be found"
                report.errors.append(issue(row.row, None, None, None, reason))
                continue
            found.append(_Update(links, prepared_ref(prepared), links.data))
        return found


def _issue(update: _Update, field_name: str | None, reason: str) -> Issue:
    value = update.data.get(field_name) if field_name else None
    return issue(update.row.row, None, field_name, value, reason)
