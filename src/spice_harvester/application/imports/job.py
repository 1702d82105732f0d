"""One import as one command: every row checked first, then the good rows written in chunks.

Pass 1 checks the rows chunk by chunk against the branch head as it was when the import
began, with a `Ledger` standing in for the chunks before (their ids and unique values), and
writes the rows that pass, prepared, to a spool file. A dry run is pass 1 alone, so it
reports exactly what a commit would refuse. Without `allow_partial` any failed row ends the
import there, nothing written; with it, pass 2 writes what passed. Pass 2 writes each chunk's
rows in one commit whose command id is the import's plus the chunk's number: a chunk already
committed (by an attempt that crashed, or by a concurrent one) is found by that id and
skipped, so re-running an import writes each row once.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from spice_harvester.application.commands import WriteOutcome
from spice_harvester.application.imports.report import (
    DRY_RUN_ERRORS,
    ERRORS_KEPT,
    Tally,
    issue_of,
    late_issue,
    prepare_issues,
    refused,
)
from spice_harvester.application.imports.request import (
    DEFAULT_CHUNK,
    ImportRequest,
    chunk_command_id,
)
from spice_harvester.application.imports.rows import ImportRow, Issue
from spice_harvester.application.instance_bulk import Ledger, clashes, inspect_rows, prepared_ref
from spice_harvester.application.instance_inverse import Written, mirror_links
from spice_harvester.application.instance_links import unique_properties
from spice_harvester.application.instance_values import Link, Prepared, instance_class
from spice_harvester.application.ontology import schema_at_commit
from spice_harvester.domain.errors import Conflict, IdempotencyMismatch
from spice_harvester.domain.ontology.schema import ResolvedClass, Schema, SchemaLimits
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.hashing import canonical_json
from spice_harvester.domain.versioning.model import CommitRequest
from spice_harvester.ports.versioned_store import VersionedStore

Progress = Callable[[dict[str, Any]], None]
__all__ = ["DEFAULT_CHUNK", "ImportJob", "ImportRequest", "Progress", "chunk_command_id"]


class ImportJob:
    """Runs imports into one store. `rows` yields the rows in chunks of the request's
    `chunk_size` (the last may be shorter), numbered as the file numbers them; `total` is
    how many there are, for progress."""

    def __init__(self, store: VersionedStore, limits: SchemaLimits, spool_dir: Path) -> None:
        self.store = store
        self.limits = limits
        self.spool_dir = spool_dir

    def dry_run(
        self,
        request: ImportRequest,
        rows: Iterable[Sequence[ImportRow]],
        total: int,
        *,
        on_progress: Progress | None = None,
    ) -> dict[str, Any]:
        """What a commit of these rows would do, nothing written: `rows_valid`, `rows_failed`
        and the errors `{row, column, field, value, reason, code}` by row."""
        tally = Tally(total, request.chunk_size)
        self._check(request, rows, tally, None, DRY_RUN_ERRORS, on_progress, command_id=None)
        report = tally.report()
        for unused in ("rows_written", "chunks_written", "chunks_resumed"):
            report.pop(unused)
        return {"class_id": request.class_id, "branch": request.branch, **report}

    def run(
        self,
        request: ImportRequest,
        rows: Iterable[Sequence[ImportRow]],
        total: int,
        *,
        actor: str,
        command_id: str,
        on_progress: Progress | None = None,
    ) -> WriteOutcome:
        """Checks every row, then writes the good ones chunk by chunk (see the module).
        Raises ValidationFailed with the per-row report, nothing written, when a row fails
        and `allow_partial` is not set."""
        tally = Tally(total, request.chunk_size)
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        with _spool(self.spool_dir) as spool:
            checked = self._check(
                request, rows, tally, spool, ERRORS_KEPT, on_progress, command_id=command_id
            )
            if tally.error_count and not request.allow_partial:
                raise refused(tally)
            spool.seek(0)
            tally.phase = "writing"
            self._write(request, spool, checked, tally, actor, command_id, on_progress)
        return WriteOutcome(
            tally.commit_id,
            request.class_id,
            1,
            {"class_id": request.class_id, "branch": request.branch, **tally.report()},
        )

    # -- pass 1 ---------------------------------------------------------------------------

    def _check(
        self,
        request: ImportRequest,
        rows: Iterable[Sequence[ImportRow]],
        tally: Tally,
        spool: IO[str] | None,
        keep: int,
        on_progress: Progress | None,
        *,
        command_id: str | None,
    ) -> _Checked:
        head = self.store.get_branch(request.db, request.branch).head
        schema = schema_at_commit(self.store, request.db, head, self.limits)
        resolved = instance_class(schema, request.class_id)
        checked = _Checked(schema_fingerprint(schema, request.class_id), head)
        ledger = Ledger(request.class_id)
        names = unique_properties(resolved)
        for number, chunk in enumerate(rows):
            if command_id is not None and self._committed(request, command_id, number, tally):
                tally.checked += len(chunk)
            else:
                good, found = self._check_chunk(request, head, schema, resolved, chunk, ledger)
                ledger.record(good, names)
                tally.checked += len(chunk)
                tally.add(found, keep)
                if spool is not None and good:
                    spool.write(_spooled(number, good) + "\n")
            if on_progress is not None:
                on_progress(tally.progress())
        return checked

    def _committed(
        self, request: ImportRequest, command_id: str, number: int, tally: Tally
    ) -> bool:
        done = self.store.command_result(request.db, chunk_command_id(command_id, number))
        if done is None:
            return False
        tally.chunks_resumed += 1
        tally.written += sum(e.event_type == "InstanceCreated" for e in done.events)
        tally.commit_id = done.commit.commit_id
        return True

    def _check_chunk(
        self,
        request: ImportRequest,
        head: str,
        schema: Schema,
        resolved: ResolvedClass,
        chunk: Sequence[ImportRow],
        ledger: Ledger,
    ) -> tuple[dict[int, Prepared], list[Issue]]:
        by_row = {r.row: r for r in chunk}
        clean = [(r.row, r.data) for r in chunk if not r.issues]
        good, errors = inspect_rows(
            self.store, request.db, head, schema, request.class_id, clean, ledger=ledger
        )
        found = [issue_of(e, by_row[int(e["row"])], request, resolved) for e in errors]
        for row in chunk:
            if row.issues:
                found += [*row.issues, *prepare_issues(schema, request, resolved, row)]
        found.sort(key=lambda i: int(i["row"]))
        return good, found

    # -- pass 2 ---------------------------------------------------------------------------

    def _write(
        self,
        request: ImportRequest,
        spool: IO[str],
        checked: _Checked,
        tally: Tally,
        actor: str,
        command_id: str,
        on_progress: Progress | None,
    ) -> None:
        for line in spool:
            number, good = _unspooled(request.class_id, line)
            chunk_id = chunk_command_id(command_id, number)
            if self.store.command_result(request.db, chunk_id) is not None:
                continue  # written by a concurrent attempt since pass 1 looked
            self._write_chunk(request, number, good, checked, tally, actor, chunk_id)
            if on_progress is not None:
                on_progress(tally.progress())

    def _write_chunk(
        self,
        request: ImportRequest,
        number: int,
        good: dict[int, Prepared],
        checked: _Checked,
        tally: Tally,
        actor: str,
        chunk_id: str,
    ) -> None:
        head = self.store.get_branch(request.db, request.branch).head
        schema = schema_at_commit(self.store, request.db, head, self.limits)
        resolved = instance_class(schema, request.class_id)
        # A branch that moved only by this import's own commits holds what pass 1 counted
        # on: the rows need no second look.
        if head != checked.head:
            if schema_fingerprint(schema, request.class_id) != checked.schema:
                raise Conflict(
                    f"class {request.class_id} (or a class it uses) changed while the import "
                    f"ran; {tally.written} rows were written: run the import again to finish it",
                    field="class_id",
                )
            self._recheck(request, head, schema, resolved, good, tally)
        if not good:
            return
        written = [Written(prepared_ref(p), None, p.data) for p in good.values()]
        mirrored = mirror_links(self.store, request.db, head, schema, written)
        changes = [Change(w.ref, ChangeKind.CREATE, mirrored.of(w.ref)) for w in written]
        message = (
            f"Import {len(changes)} {request.class_id} (chunk {number + 1} of {tally.chunks_total})"
        )
        commit = CommitRequest(
            request.branch, actor, message, (*changes, *mirrored.changes), command_id=chunk_id
        )
        try:
            result = self.store.commit(request.db, commit)
        except IdempotencyMismatch:
            # Another attempt wrote this chunk between the look above and this commit.
            done = self.store.command_result(request.db, chunk_id)
            if done is None:
                raise
            result = done
        tally.written += sum(e.event_type == "InstanceCreated" for e in result.events)
        tally.chunks_written += 1
        tally.commit_id = result.commit.commit_id
        checked.head = result.commit.commit_id

    def _recheck(
        self,
        request: ImportRequest,
        head: str,
        schema: Schema,
        resolved: ResolvedClass,
        good: dict[int, Prepared],
        tally: Tally,
    ) -> None:
        """The rows checked again, someone else having written to the branch since pass 1:
        rows that clash now are reported (or, without allow_partial, end the import)."""
        while good:
            found = clashes(self.store, request.db, head, schema, resolved, good)
            if not found:
                return
            late = [late_issue(e, good[int(e["row"])], request, resolved) for e in found]
            tally.add(late, ERRORS_KEPT)
            if not request.allow_partial:
                raise refused(tally, written=True)
            for error in found:
                good.pop(int(error["row"]), None)


@dataclass
class _Checked:
    """What pass 1 checked against: the schema, and the head that pass 2's commits follow."""

    schema: str
    head: str


def schema_fingerprint(schema: Schema, class_id: str) -> str:
    """What the checks of a class's rows depend on: the class, its ancestors, and the classes
    its relationships point at (with their subclasses)."""
    resolved = schema.resolved(class_id)
    names = {class_id, *resolved.ancestors}
    for rel in resolved.relationships:
        if rel.target in schema:
            names |= {rel.target, *schema.subclasses(rel.target)}
    shown = {name: schema.class_def(name).to_api() for name in sorted(names) if name in schema}
    return hashlib.sha256(canonical_json(shown).encode()).hexdigest()


def _spooled(number: int, good: Mapping[int, Prepared]) -> str:
    rows = [
        {
            "row": row,
            "id": p.id,
            "data": p.data,
            "links": [[k.field, k.target, k.ids] for k in p.links],
        }
        for row, p in good.items()
    ]
    return json.dumps({"n": number, "rows": rows}, ensure_ascii=False, separators=(",", ":"))


def _unspooled(class_id: str, line: str) -> tuple[int, dict[int, Prepared]]:
    chunk = json.loads(line)
    good = {
        int(r["row"]): Prepared(
            class_id,
            r["id"],
            r["data"],
            (),
            tuple(Link(k[0], k[1], tuple(k[2])) for k in r["links"]),
        )
        for r in chunk["rows"]
    }
    return int(chunk["n"]), good


@contextmanager
def _spool(folder: Path) -> Iterator[IO[str]]:
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder, prefix="checked-") as file:
        yield file
