"""What an import verifies of each commit: id, generation, events and resulting state."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from spice_harvester.adapters.sql.versioned.exchange.placing import Placed
from spice_harvester.adapters.sql.versioned.exchange.records import EventRecord, PackedCommit
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.versioning.changes import apply_event, event_for
from spice_harvester.domain.versioning.documents import Data, DocRef
from spice_harvester.domain.versioning.hashing import commit_id_for, request_hash


def check_generation(commit: PackedCommit, parents: list[Placed]) -> None:
    check_generation_of(commit, max((p.generation for p in parents), default=0))


def check_generation_of(commit: PackedCommit, highest_parent: int) -> None:
    """A commit's generation is one more than its highest parent's."""
    expected = highest_parent + 1
    if commit.generation != expected:
        raise ValidationFailed(
            f"commit {commit.commit_id}: generation {commit.generation} should be {expected}",
            field="commit_id",
            data={"commit_id": commit.commit_id},
        )


def check_commit_id(commit: PackedCommit, exported_name: str) -> None:
    """The id must be the hash of the commit's content, so nothing it covers was changed."""
    # The same content the writer hashes (writer.write_commit); the first commit also
    # names the database it was created for (admin.create_database), which is the
    # exported name even when importing under another one.
    content: dict[str, Any] = {
        "parents": commit.parents,
        "author": commit.author,
        "message": commit.message,
        "created_at": commit.created_at.astimezone(UTC).isoformat(),
        "command_id": commit.command_id,
        "events": [[e.event_id, request_hash(e.payload), e.aggregate_id] for e in commit.events],
    }
    if not commit.parents:
        content["database"] = exported_name
    recomputed = commit_id_for(content)
    if recomputed != commit.commit_id:
        raise ValidationFailed(
            f"commit {commit.commit_id}: its content hashes to {recomputed}: the file was "
            "changed or damaged",
            field="commit_id",
            data={"commit_id": commit.commit_id},
        )


def check_documents(commit: PackedCommit) -> None:
    """A commit changes each document once, and the first commit changes none."""
    where = f"commit {commit.commit_id}"
    keys = [event.aggregate_id for event in commit.events]
    if len(set(keys)) != len(keys):
        raise ValidationFailed(f"{where}: changes one document twice")
    if not commit.parents and commit.events:
        raise ValidationFailed(f"{where}: the first commit has no events")


def document_of(event: EventRecord, commit_id: str) -> DocRef:
    """The event's document, checked against how the writer would have described it."""
    ref = DocRef.from_key(event.aggregate_id)
    if (
        ref.key != event.aggregate_id
        or ref.doc_type != event.aggregate_type
        or ref.class_id != event.class_id
    ):
        raise ValidationFailed(
            f"commit {commit_id}: event {event.event_id} names document "
            f"{event.aggregate_id!r} inconsistently"
        )
    return ref


def replayed(
    event: EventRecord, ref: DocRef, seq: int, before: Data | None, commit_id: str
) -> Data | None:
    """The document after the event, which must be its next version (`seq` is the one
    before) and record exactly what the writer would have recorded for that change."""
    where = f"commit {commit_id}"
    if event.seq != seq + 1:
        raise ValidationFailed(
            f"{where}: {event.aggregate_id} is at version {seq}, "
            f"so event {event.event_id} cannot have seq {event.seq}",
            data={"commit_id": commit_id},
        )
    try:
        after = apply_event(before, event.event_type, event.payload)
        again = event_for(ref, before, after)
    except (KeyError, TypeError, ValueError, AttributeError):
        # A payload of the wrong shape; the commit id cannot catch it when the file was
        # made consistently wrong.
        again = None
    if again is None or (again.event_type, again.payload) != (event.event_type, event.payload):
        raise ValidationFailed(
            f"{where}: event {event.event_id} does not replay onto "
            f"{event.aggregate_id} as recorded",
            data={"commit_id": commit_id},
        )
    return after


def check_state(commit: PackedCommit, state_hash: str, doc_count: int) -> None:
    """The replayed state must be the one the file records for the commit."""
    if (state_hash, doc_count) != (commit.state_hash, commit.doc_count):
        raise ValidationFailed(
            f"commit {commit.commit_id}: replaying its events gives state {state_hash} with "
            f"{doc_count} document(s), the file says {commit.state_hash} with "
            f"{commit.doc_count}",
            field="state_hash",
            data={"commit_id": commit.commit_id},
        )
