"""How a unit changes a branch's read model, given the commit the read model reflects.

A read model is "the state at commit R" for its branch. A commit C whose first parent is R
(or C itself, when its events arrive one at a time) is applied from its own events; anything
else (a reset, a fast-forward, a rebase, commits fetched from a remote, a commit after a
parked one) is applied as the store's diff from R to the new commit, so the read model is
again the state at a known commit whatever came in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from spice_harvester.application.projections.units import Unit, UnitKind


class Action(StrEnum):
    NOTHING = "nothing"
    APPLY_EVENTS = "apply_events"  # the commit's own document events over R
    MOVE = "move"  # the diff from `base` (R) to `target`
    BUILD = "build"  # every document at `target`, into an empty read model
    COPY_AND_MOVE = "copy_and_move"  # copy `source`'s rows (they hold `base`), then MOVE
    DROP_BRANCH = "drop_branch"
    DROP_DATABASE = "drop_database"


@dataclass(frozen=True)
class Plan:
    action: Action
    target: str | None = None
    base: str | None = None
    source: str | None = None  # the branch copied from

    @property
    def moves_branch(self) -> bool:
        return self.action not in (Action.NOTHING, Action.DROP_BRANCH, Action.DROP_DATABASE)


NOTHING = Plan(Action.NOTHING)


@dataclass(frozen=True)
class Situation:
    """What the applier found before deciding (all read in the unit's transaction)."""

    database_exists: bool
    branch_exists: bool  # the branch exists in the store now
    reflected: str | None  # the commit the branch's read model holds; None: no read model
    parents: tuple[str, ...] = ()  # the unit's commit's parents (for COMMIT units)
    source_reflected: str | None = None  # for a new branch: what its source's model holds
    # The unit's commit is already in the history of the reflected one (it arrived after a
    # later commit of its branch was applied).
    covered: bool = False


def plan(unit: Unit, now: Situation) -> Plan:
    if unit.kind is UnitKind.DATABASE_DELETED:
        return Plan(Action.DROP_DATABASE)
    if unit.kind is UnitKind.OTHER or not now.database_exists:
        # A deleted database's events change nothing: its deletion, later in the log,
        # drops whatever its read models hold.
        return NOTHING
    if unit.kind is UnitKind.BRANCH_DELETED:
        return Plan(Action.DROP_BRANCH) if now.reflected is not None else NOTHING
    target = unit.commit_id
    assert target is not None, "commit and head-moved units name a commit"
    if now.reflected is None:
        if unit.kind is UnitKind.COMMIT and not now.branch_exists:
            # Events naming a branch that no longer exists (or never did here: an import
            # keeps the origin's branch names) build nothing.
            return NOTHING
        return _new_branch(unit, target, now)
    if now.covered:
        return NOTHING
    if unit.kind is UnitKind.COMMIT and (
        now.reflected == target or (now.parents and now.parents[0] == now.reflected)
    ):
        return Plan(Action.APPLY_EVENTS, target, now.reflected)
    if now.reflected == target:
        return NOTHING
    return Plan(Action.MOVE, target, now.reflected)


def _new_branch(unit: Unit, target: str, now: Situation) -> Plan:
    source = unit.from_branch
    if source is not None and source != unit.branch and now.source_reflected is not None:
        return Plan(Action.COPY_AND_MOVE, target, now.source_reflected, source)
    return Plan(Action.BUILD, target)
