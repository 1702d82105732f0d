"""What a projection applies at once: one commit's document events, or one lifecycle event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from spice_harvester.ports.registry import EventLog, LogCheckpoint, StoredEvent

DOC_TYPES = frozenset({"class", "instance"})
# Events after which a branch's head is the event's commit.
HEAD_MOVES = frozenset(
    {
        "DatabaseCreated",  # `main` at the first commit
        "BranchCreated",
        "BranchReset",
        "BranchFastForwarded",
        "BranchRebased",
        "BranchAdvanced",  # an empty commit, or a merge or revert that changed nothing
        "BranchImported",
    }
)


class UnitKind(StrEnum):
    COMMIT = "commit"  # the document events of one commit, written on a branch
    HEAD_MOVED = "head_moved"
    BRANCH_DELETED = "branch_deleted"
    DATABASE_DELETED = "database_deleted"
    OTHER = "other"  # nothing a read model follows


@dataclass(frozen=True)
class Unit:
    """Events applied in one transaction. A commit's events go together so that a read model
    always holds the state at some commit, never half of one."""

    kind: UnitKind
    events: tuple[StoredEvent, ...]

    @property
    def first(self) -> StoredEvent:
        return self.events[0]

    @property
    def db_id(self) -> int:
        return self.first.db_id

    @property
    def db_name(self) -> str:
        return self.first.db_name

    @property
    def branch(self) -> str | None:
        return self.first.branch

    @property
    def commit_id(self) -> str | None:
        return self.first.commit_id

    @property
    def event_type(self) -> str:
        return self.first.event_type

    @property
    def checkpoint(self) -> LogCheckpoint:
        """Where the log stands once this unit is handled."""
        return self.events[-1].checkpoint

    @property
    def keys(self) -> list[str]:
        return [event.key for event in self.events]

    @property
    def from_branch(self) -> str | None:
        found = self.first.payload.get("from_branch")
        return found if isinstance(found, str) else None


def kind_of(event: StoredEvent) -> UnitKind:
    if event.aggregate_type in DOC_TYPES:
        return UnitKind.COMMIT if event.commit_id and event.branch else UnitKind.OTHER
    if event.event_type in HEAD_MOVES and event.commit_id and event.branch:
        return UnitKind.HEAD_MOVED
    if event.event_type == "BranchDeleted" and event.branch:
        return UnitKind.BRANCH_DELETED
    if event.event_type == "DatabaseDeleted":
        return UnitKind.DATABASE_DELETED
    return UnitKind.OTHER


def group_units(events: Sequence[StoredEvent], *, complete: bool) -> list[Unit]:
    """Consecutive document events of one commit form one unit; every other event is a unit
    of its own. A commit's events are contiguous in the log (one transaction writes them).

    When the batch may have been cut short (`complete` false: it filled its limit), a
    trailing commit may continue in the next read, so it is left for that read.
    """
    units: list[Unit] = []
    run: list[StoredEvent] = []

    def close_run() -> None:
        if run:
            units.append(Unit(UnitKind.COMMIT, tuple(run)))
            run.clear()

    for event in events:
        kind = kind_of(event)
        if kind is UnitKind.COMMIT:
            if run and (run[0].db_id, run[0].commit_id) != (event.db_id, event.commit_id):
                close_run()
            run.append(event)
            continue
        close_run()
        units.append(Unit(kind, (event,)))
    if run and complete:
        close_run()
    return units


def read_units(log: EventLog, checkpoint: LogCheckpoint, batch: int) -> tuple[list[Unit], bool]:
    """The next units after `checkpoint`, and whether the read filled its batch (read again
    at once). A commit bigger than a batch is read whole."""
    events = log.read_after(checkpoint, batch)
    full = len(events) >= batch
    units = group_units(events, complete=not full)
    while full and not units:
        # One commit fills the whole batch: read on until it ends.
        more = log.read_after(events[-1].checkpoint, batch)
        events += more
        full = len(more) >= batch
        units = group_units(events, complete=not full)
    return units, full
