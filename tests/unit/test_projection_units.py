"""Grouping the log into units, and deciding what a unit does to a branch's read model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from spice_harvester.application.projections.routing import Action, Plan, Situation, plan
from spice_harvester.application.projections.units import UnitKind, group_units, kind_of
from spice_harvester.ports.registry import LogCheckpoint, StoredEvent

AT = datetime(2025, 1, 1, tzinfo=UTC)


def event(
    position: int,
    event_type: str = "InstanceCreated",
    *,
    commit: str | None = "c1",
    branch: str | None = "main",
    aggregate_type: str = "instance",
    db_id: int = 1,
    payload: dict[str, Any] | None = None,
) -> StoredEvent:
    return StoredEvent(
        checkpoint=LogCheckpoint(0, position),
        event_id=f"e{position}",
        db_id=db_id,
        db_name="db",
        commit_id=commit,
        branch=branch,
        aggregate_type=aggregate_type,
        aggregate_id=f"instance:Person/{position}",
        class_id="Person",
        seq=1,
        event_type=event_type,
        payload=payload or {},
        actor="t",
        occurred_at=AT,
    )


def branch_event(position: int, event_type: str, **extra: Any) -> StoredEvent:
    return event(position, event_type, aggregate_type="branch", **extra)


def test_one_commits_document_events_form_one_unit_and_lifecycle_events_their_own() -> None:
    log = [
        event(1, "DatabaseCreated", aggregate_type="database", commit="root"),
        event(2),
        event(3),
        event(4, commit="c2"),
        branch_event(5, "BranchCreated", branch="dev", commit="c2"),
        event(6, commit="c3", branch="dev"),
    ]
    units = group_units(log, complete=True)
    assert [(u.kind, [e.position for e in u.events]) for u in units] == [
        (UnitKind.HEAD_MOVED, [1]),
        (UnitKind.COMMIT, [2, 3]),
        (UnitKind.COMMIT, [4]),
        (UnitKind.HEAD_MOVED, [5]),
        (UnitKind.COMMIT, [6]),
    ]
    assert units[1].checkpoint == LogCheckpoint(0, 3)
    assert units[1].keys == ["1:e2", "1:e3"]


def test_a_commit_at_the_end_of_a_full_batch_waits_for_the_next_read() -> None:
    log = [event(1), event(2, commit="c2"), event(3, commit="c2")]
    assert [len(u.events) for u in group_units(log, complete=False)] == [1]
    assert [len(u.events) for u in group_units(log, complete=True)] == [1, 2]
    # Two databases may share a commit id (a clone): they are different commits.
    shared = [event(1), event(2, db_id=2)]
    assert len(group_units(shared, complete=True)) == 2


@pytest.mark.parametrize(
    ("stored", "kind"),
    [
        (branch_event(1, "BranchReset", commit="c"), UnitKind.HEAD_MOVED),
        (branch_event(1, "BranchAdvanced", commit="c"), UnitKind.HEAD_MOVED),
        (branch_event(1, "BranchImported", commit="c"), UnitKind.HEAD_MOVED),
        (branch_event(1, "BranchDeleted"), UnitKind.BRANCH_DELETED),
        (
            event(1, "DatabaseDeleted", aggregate_type="database", commit=None, branch=None),
            UnitKind.DATABASE_DELETED,
        ),
        (branch_event(1, "BranchRenamedSomeday", commit="c"), UnitKind.OTHER),
        (event(1, commit=None), UnitKind.OTHER),
    ],
)
def test_each_event_type_has_its_kind(stored: StoredEvent, kind: UnitKind) -> None:
    assert kind_of(stored) is kind


def situation(reflected: str | None, **extra: Any) -> Situation:
    return Situation(database_exists=True, branch_exists=True, reflected=reflected, **extra)


def one(stored: StoredEvent) -> Any:
    [unit] = group_units([stored], complete=True)
    return unit


def test_a_commit_on_the_reflected_commit_is_applied_from_its_own_events() -> None:
    unit = one(event(1, commit="c2"))
    assert plan(unit, situation("c1", parents=("c1",))) == Plan(Action.APPLY_EVENTS, "c2", "c1")
    # Its events arriving one at a time: the rest of the same commit.
    assert plan(unit, situation("c2", parents=("c1",))).action is Action.APPLY_EVENTS


def test_a_commit_elsewhere_is_reached_through_the_stores_diff() -> None:
    unit = one(event(1, commit="c9"))
    assert plan(unit, situation("c1", parents=("c8",))) == Plan(Action.MOVE, "c9", "c1")


def test_a_head_move_diffs_from_the_reflected_commit_and_is_idle_when_already_there() -> None:
    unit = one(branch_event(1, "BranchReset", commit="c1"))
    assert plan(unit, situation("c5")) == Plan(Action.MOVE, "c1", "c5")
    assert plan(unit, situation("c1")).action is Action.NOTHING


def test_a_new_branch_copies_its_sources_rows_or_is_built_from_the_store() -> None:
    created = one(branch_event(1, "BranchCreated", branch="dev", payload={"from_branch": "main"}))
    assert plan(created, situation(None, source_reflected="c3")) == Plan(
        Action.COPY_AND_MOVE, "c1", "c3", "main"
    )
    assert plan(created, situation(None)) == Plan(Action.BUILD, "c1")


def test_events_of_a_branch_that_does_not_exist_build_nothing() -> None:
    unit = one(event(1, branch="gone"))
    gone = Situation(database_exists=True, branch_exists=False, reflected=None)
    assert plan(unit, gone).action is Action.NOTHING
    assert plan(unit, situation(None)) == Plan(Action.BUILD, "c1")


def test_a_deleted_database_changes_nothing_until_its_deletion_drops_everything() -> None:
    deleted = Situation(database_exists=False, branch_exists=False, reflected="c1")
    assert plan(one(event(1, commit="c2")), deleted).action is Action.NOTHING
    dropped = one(event(2, "DatabaseDeleted", aggregate_type="database", branch=None))
    assert plan(dropped, deleted).action is Action.DROP_DATABASE
    branch_gone = one(branch_event(3, "BranchDeleted"))
    assert plan(branch_gone, situation("c1")).action is Action.DROP_BRANCH
    assert plan(branch_gone, situation(None)).action is Action.NOTHING
