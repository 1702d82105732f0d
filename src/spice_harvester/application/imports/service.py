"""Imports run in this process against a store, each as a command: what `spice import` does
(and what the benchmark and the tests drive)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spice_harvester.application.commands import CommandRunner, WriteOutcome
from spice_harvester.application.imports.folder import FolderPlan, TableLoad
from spice_harvester.application.imports.job import (
    DEFAULT_CHUNK,
    ImportJob,
    ImportRequest,
    Progress,
)
from spice_harvester.application.imports.links import LinkPass
from spice_harvester.application.imports.plan import ImportPlan
from spice_harvester.application.ontology import ClassWriter, get_class
from spice_harvester.domain.errors import NotFound
from spice_harvester.domain.ontology.schema import SchemaLimits
from spice_harvester.domain.versioning.model import CommitResult
from spice_harvester.ports.commands import CommandRecord
from spice_harvester.ports.versioned_store import VersionedStore

TableProgress = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class ImportOptions:
    branch: str = "main"
    allow_partial: bool = False
    chunk_size: int = DEFAULT_CHUNK


@dataclass
class FolderReport:
    """What a folder import did: classes created, and each table's command."""

    database_created: bool = False
    classes: list[str] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "database_created": self.database_created,
            "classes": self.classes,
            "tables": self.tables,
            "links": self.links,
        }


class ImportService:
    def __init__(
        self,
        store: VersionedStore,
        runner: CommandRunner,
        limits: SchemaLimits,
        spool_dir: Path,
        *,
        actor: str = "spice-cli",
    ) -> None:
        self.store = store
        self.runner = runner
        self.limits = limits
        self.job = ImportJob(store, limits, spool_dir)
        self.actor = actor

    # -- one table ------------------------------------------------------------------------

    def dry_run(
        self, db: str, plan: ImportPlan, options: ImportOptions, on_progress: Progress | None
    ) -> dict[str, Any]:
        request = self._request(db, plan, options)
        return self.job.dry_run(
            request, plan.chunks(request.chunk_size), plan.total, on_progress=on_progress
        )

    def table(
        self,
        db: str,
        plan: ImportPlan,
        options: ImportOptions,
        command_id: str,
        payload: dict[str, Any],
        on_progress: Progress | None = None,
    ) -> CommandRecord:
        """The table's rows as one command (see ImportJob.run); the command's record."""
        request = self._request(db, plan, options)

        def action(command: str) -> WriteOutcome:
            def progress(shown: dict[str, Any]) -> None:
                self.runner.report_progress(command, shown)
                if on_progress is not None:
                    on_progress(shown)

            return self.job.run(
                request,
                plan.chunks(request.chunk_size),
                plan.total,
                actor=self.actor,
                command_id=command,
                on_progress=progress,
            )

        return self.runner.run(
            kind="ImportInstances",
            db_name=db,
            actor=self.actor,
            payload=payload,
            command_id=command_id,
            action=action,
        )

    def create_class(
        self, db: str, branch: str, definition: dict[str, Any], command_id: str
    ) -> CommandRecord:
        writer = ClassWriter(self.store, self.limits)

        def action(command: str) -> WriteOutcome:
            created, result = writer.create(db, branch, definition, self.actor, command)
            return _class_outcome(created.id, result)

        return self.runner.run(
            kind="CreateClass",
            db_name=db,
            actor=self.actor,
            payload={"branch": branch, "class": definition},
            command_id=command_id,
            action=action,
        )

    @staticmethod
    def _request(db: str, plan: ImportPlan, options: ImportOptions) -> ImportRequest:
        return plan.request(
            db, options.branch, allow_partial=options.allow_partial, chunk_size=options.chunk_size
        )

    # -- a folder -------------------------------------------------------------------------

    def folder(
        self,
        db: str,
        plan: FolderPlan,
        folder_id: str,
        options: ImportOptions,
        on_progress: TableProgress | None = None,
    ) -> FolderReport:
        """The database (created when missing), the classes targets first, their deferred
        relationships, every table's rows, then the link pass; each step a command whose id
        derives from `folder_id`, so running the same folder again redoes nothing."""
        report = FolderReport()
        try:
            self.store.get_database(db)
        except NotFound:
            self.store.create_database(db, actor=self.actor)
            report.database_created = True
        for definition in plan.classes:
            self.create_class(
                db, options.branch, definition, f"{folder_id}:class:{definition['id']}"
            )
            report.classes.append(definition["id"])
        for class_id in plan.later:
            self._relate(db, options.branch, plan.full_class(class_id), folder_id)
        for load in plan.tables:
            record = self._rows(db, load, folder_id, options, on_progress)
            report.tables[load.name] = record.result or {}
        for load in plan.tables:
            if load.deferred is not None:
                record = self._links(db, load, folder_id, options)
                report.links[load.name] = record.result or {}
        return report

    def _rows(
        self,
        db: str,
        load: TableLoad,
        folder_id: str,
        options: ImportOptions,
        on_progress: TableProgress | None,
    ) -> CommandRecord:
        def progress(shown: dict[str, Any]) -> None:
            if on_progress is not None:
                on_progress(load.name, shown)

        payload = {"folder": folder_id, "table": load.name, **load.plan.identity()}
        command_id = f"{folder_id}:table:{load.name}"
        return self.table(db, load.plan, options, command_id, payload, progress)

    def _relate(self, db: str, branch: str, definition: dict[str, Any], folder_id: str) -> None:
        writer = ClassWriter(self.store, self.limits)
        class_id = definition["id"]

        def action(command: str) -> WriteOutcome:
            version = get_class(self.store, db, branch, class_id).version
            body = {k: v for k, v in definition.items() if k != "id"}
            _, result = writer.update(db, branch, class_id, body, version, self.actor, command)
            return _class_outcome(class_id, result)

        self.runner.run(
            kind="UpdateClass",
            db_name=db,
            actor=self.actor,
            payload={"branch": branch, "class": definition},
            command_id=f"{folder_id}:relate:{class_id}",
            action=action,
        )

    def _links(
        self, db: str, load: TableLoad, folder_id: str, options: ImportOptions
    ) -> CommandRecord:
        links = LinkPass(self.store, self.limits)

        def action(command: str) -> WriteOutcome:
            done = links.run(
                db,
                options.branch,
                load,
                actor=self.actor,
                command_id=command,
                chunk_size=options.chunk_size,
            )
            head = self.store.get_branch(db, options.branch).head
            return WriteOutcome(head, load.class_id, 1, done.to_json())

        return self.runner.run(
            kind="LinkInstances",
            db_name=db,
            actor=self.actor,
            payload={"folder": folder_id, "table": load.name, "fields": load.deferred_fields},
            command_id=f"{folder_id}:links:{load.name}",
            action=action,
        )


def _class_outcome(class_id: str, result: CommitResult) -> WriteOutcome:
    version = result.versions.get(f"class:{class_id}", 0)
    return WriteOutcome(result.commit.commit_id, class_id, version, {"class_id": class_id})
