"""Database use cases, shared by OMS's routes and `spice db`: the same name rules, the same
command records, the same events."""

from __future__ import annotations

from spice_harvester.application.commands import CommandRunner, WaitingRunner, WriteOutcome
from spice_harvester.domain.names import check_database_name
from spice_harvester.domain.versioning.model import DatabaseInfo
from spice_harvester.ports.commands import CommandRecord
from spice_harvester.ports.versioned_store import VersionedStore

Runner = CommandRunner | WaitingRunner


def database_dict(info: DatabaseInfo) -> dict[str, object]:
    """A database as OMS lists it (`version` is what a delete's expected_seq must be)."""
    return {
        "name": info.name,
        "description": info.description,
        "version": info.seq,
        "created_at": info.created_at.isoformat(),
        "created_by": info.created_by,
    }


def create_database(
    store: VersionedStore,
    runner: Runner,
    *,
    name: str,
    description: str | None,
    actor: str,
    command_id: str,
) -> CommandRecord:
    """Creates `name` with an empty `main` (one commit), as command `CreateDatabase`."""
    check_database_name(name)

    def create(_: str) -> WriteOutcome:
        info = store.create_database(name, description, actor)
        head = store.resolve(name, "main")
        return WriteOutcome(head.commit_id, name, info.seq, {"name": name})

    return runner.run(
        kind="CreateDatabase",
        db_name=name,
        actor=actor,
        payload={"name": name, "description": description},
        command_id=command_id,
        action=create,
    )


def delete_database(
    store: VersionedStore,
    runner: Runner,
    *,
    name: str,
    expected_seq: int,
    actor: str,
    command_id: str,
) -> CommandRecord:
    """Deletes `name` if it is still at version `expected_seq` (409 otherwise); its events
    stay in the log."""

    def delete(_: str) -> WriteOutcome:
        store.delete_database(name, expected_seq, actor)
        return WriteOutcome(None, name, expected_seq + 1, {"deleted": True})

    return runner.run(
        kind="DeleteDatabase",
        db_name=name,
        actor=actor,
        payload={"expected_seq": expected_seq},
        command_id=command_id,
        action=delete,
    )
