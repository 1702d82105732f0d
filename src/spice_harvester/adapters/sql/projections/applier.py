"""Applying one unit to one projection: a single transaction that claims the unit's events,
writes the read model, the branch's state and the checkpoint, and marks the events done.

Because the effect and the marks commit together, a crash anywhere leaves both or neither:
redelivered after a crash before the commit the unit applies once; after it, it is a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection, insert

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.read_models import MODELS, ReadModel, Scope
from spice_harvester.adapters.sql.projections.scoped import PassedOver
from spice_harvester.adapters.sql.projections.store_view import StoreView
from spice_harvester.adapters.sql.projections.tables import dead_letters
from spice_harvester.adapters.sql.registry import (
    claim_many_on,
    database_now,
    mark_done_many_on,
    mark_failed_many_on,
    park_many_on,
    record_seqs_on,
)
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.application.projections import faults
from spice_harvester.application.projections.changes import DocChange
from spice_harvester.application.projections.delivery import Failure, Subscription, UnitOutcome
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.application.projections.routing import (
    NOTHING,
    Action,
    Plan,
    Situation,
    plan,
)
from spice_harvester.application.projections.units import Unit, UnitKind
from spice_harvester.domain.versioning.documents import seq_of
from spice_harvester.domain.versioning.model import CommitInfo
from spice_harvester.ports.registry import ClaimOutcome, StoredEvent

DEFAULT_LEASE: Final = 300.0


class _Busy(Exception):
    """Rolls the unit's transaction back: one of its events is held by another owner."""


class _AlreadyParked(Exception):
    """Rolls the unit's transaction back: its events wait in dead_letters."""


class SqlApplier:
    """The Applier port on SQL. `owner` names this worker in processed_events."""

    def __init__(
        self,
        db: SqlDatabase,
        owner: str,
        models: Mapping[str, ReadModel] = MODELS,
        *,
        lease_seconds: float = DEFAULT_LEASE,
    ) -> None:
        self._db = db
        self._owner = owner
        self._models = dict(models)
        self._lease = lease_seconds
        # Timelines never change once committed, and the worker reads only committed ones.
        self._cache = TimelineCache()
        self._passed_over = PassedOver()  # units outside a rebuilt version's scope

    @property
    def owner(self) -> str:
        return self._owner

    @property
    def models(self) -> Mapping[str, ReadModel]:
        return self._models

    def subscriptions(self) -> list[Subscription]:
        self._passed_over.flush(self._db)
        with self._db.read() as connection:
            return books.subscriptions(connection, self._models)

    def apply(self, subscription: Subscription, unit: Unit) -> UnitOutcome:
        if self._passed_over.passes_over(subscription, unit):
            return UnitOutcome.ALREADY_DONE
        try:
            with self._db.transaction() as connection:
                outcome = self._apply_on(connection, subscription, unit)
                books.advance(connection, subscription, unit.checkpoint)
                return outcome
        except _Busy:
            return UnitOutcome.BUSY
        except _AlreadyParked:
            with self._db.transaction() as connection:
                books.advance(connection, subscription, unit.checkpoint)
            return UnitOutcome.ALREADY_DONE

    def _apply_on(
        self, connection: Connection, subscription: Subscription, unit: Unit
    ) -> UnitOutcome:
        if unit.kind is UnitKind.OTHER:
            return UnitOutcome.APPLIED
        handler = subscription.handler
        now = database_now(connection)
        claims = claim_many_on(connection, handler, unit.keys, self._owner, self._lease, now=now)
        outcomes = {claim.outcome for claim in claims.values()}
        if ClaimOutcome.BUSY in outcomes:
            raise _Busy
        if ClaimOutcome.PARKED in outcomes:
            # Parked before (the log is read again from an earlier checkpoint): it waits in
            # dead_letters for an operator, not here.
            raise _AlreadyParked
        fresh = [e for e in unit.events if claims[e.key].outcome is ClaimOutcome.CLAIMED]
        if not fresh:
            return UnitOutcome.ALREADY_DONE
        faults.reach("after_claim")
        self.effect(connection, subscription, unit, fresh, now=now)
        faults.reach("after_effect")
        mark_done_many_on(connection, handler, [e.key for e in fresh], self._owner, now=now)
        faults.reach("after_done")
        return UnitOutcome.APPLIED

    def effect(
        self,
        connection: Connection,
        subscription: Subscription,
        unit: Unit,
        fresh: Sequence[StoredEvent],
        *,
        now: float | None = None,
    ) -> Plan:
        """Writes what the unit does to the projection's read model (claims held)."""
        model = self._models[subscription.projection]
        view = StoreView(connection, self._cache, unit.db_id, now=now)
        books.serialise_database(connection, subscription, unit.db_id)
        if unit.kind is UnitKind.DATABASE_DELETED:
            model.drop(connection, subscription.version, unit.db_id, None)
            books.drop_branch_state(connection, subscription, unit.db_id, None)
            return Plan(Action.DROP_DATABASE)
        branch = unit.branch
        assert branch is not None, "branch and commit units name their branch"
        state = books.branch_state(connection, subscription, unit.db_id, branch, lock=True)
        if state is not None and unit.checkpoint <= state.checkpoint:
            # Delivered out of order: a later unit of the log already brought this branch to
            # the state at its commit, which covers this one.
            return NOTHING
        decided = plan(unit, self._situation(connection, subscription, view, unit, state))
        scope = Scope(subscription.version, unit.db_id, branch)
        self._execute(model, view, subscription, scope, decided, unit, fresh)
        if decided.action is Action.DROP_BRANCH:
            books.drop_branch_state(connection, subscription, unit.db_id, branch)
        elif decided.moves_branch:
            assert decided.target is not None
            books.set_branch_state(
                connection, subscription, unit.db_id, branch, decided.target, unit.checkpoint
            )
        elif state is not None:
            # A unit that changed nothing still moves the branch's checkpoint: a parked unit
            # from before it is then known to be covered (see dead_letters.py).
            books.set_branch_state(
                connection, subscription, unit.db_id, branch, state.commit_id, unit.checkpoint
            )
        return decided

    def _situation(
        self,
        connection: Connection,
        subscription: Subscription,
        view: StoreView,
        unit: Unit,
        state: books.BranchState | None,
    ) -> Situation:
        reflected = None if state is None else state.commit_id
        exists = view.database_exists()
        if unit.kind not in (UnitKind.COMMIT, UnitKind.HEAD_MOVED) or not exists:
            return Situation(database_exists=exists, branch_exists=False, reflected=reflected)
        assert unit.branch is not None
        assert unit.commit_id is not None
        parents = view.commit(unit.commit_id).parents if unit.kind is UnitKind.COMMIT else ()
        covered = (
            unit.kind is UnitKind.COMMIT
            and reflected is not None
            and reflected != unit.commit_id
            and (not parents or parents[0] != reflected)
            and view.contains(reflected, unit.commit_id)
        )
        source_reflected = None
        if state is None and unit.from_branch is not None:
            # Locked too: the rows copied must be the state it names.
            source = books.branch_state(
                connection, subscription, unit.db_id, unit.from_branch, lock=True
            )
            source_reflected = None if source is None else source.commit_id
        return Situation(
            database_exists=True,
            branch_exists=state is not None or view.branch_exists(unit.branch),
            reflected=reflected,
            parents=parents,
            source_reflected=source_reflected,
            covered=covered,
        )

    def _execute(
        self,
        model: ReadModel,
        view: StoreView,
        subscription: Subscription,
        scope: Scope,
        decided: Plan,
        unit: Unit,
        fresh: Sequence[StoredEvent],
    ) -> None:
        connection, handler = view.connection, subscription.handler
        action = decided.action
        if action is Action.DROP_BRANCH:
            model.drop(connection, scope.version, scope.db_id, scope.branch)
        elif action is Action.APPLY_EVENTS:
            assert decided.target is not None
            self._apply_events(model, view, handler, scope, view.commit(decided.target), fresh)
        elif action is Action.BUILD:
            assert decided.target is not None
            self._build(model, view, handler, scope, decided.target)
        elif action is Action.COPY_AND_MOVE:
            assert decided.source is not None
            assert decided.base is not None
            assert decided.target is not None
            model.copy(connection, scope, decided.source)
            books.copy_seqs(connection, handler, scope.db_id, decided.source, scope.branch)
            self._move(model, view, handler, scope, decided.base, decided.target)
        elif action is Action.MOVE:
            assert decided.base is not None
            assert decided.target is not None
            self._move(model, view, handler, scope, decided.base, decided.target)

    def _apply_events(
        self,
        model: ReadModel,
        view: StoreView,
        handler: str,
        scope: Scope,
        commit: CommitInfo,
        fresh: Sequence[StoredEvent],
    ) -> None:
        keys = {books.aggregate_key(scope.db_id, scope.branch, e.aggregate_id): e for e in fresh}
        recorded = books.last_seqs(view.connection, handler, list(keys))
        # An event at or below the seq already applied for its document is stale.
        current = {key: e for key, e in keys.items() if e.seq > recorded.get(key, 0)}
        if not current:
            return
        changes = view.commit_changes(commit, [e.aggregate_id for e in current.values()])
        model.apply(view, scope, changes)
        seqs = {key: e.seq for key, e in current.items()}
        record_seqs_on(view.connection, handler, seqs, now=view.now)

    def _build(
        self, model: ReadModel, view: StoreView, handler: str, scope: Scope, target: str
    ) -> None:
        model.drop(view.connection, scope.version, scope.db_id, scope.branch)
        books.forget_seqs(view.connection, handler, f"{scope.db_id}/{scope.branch}/")
        model.build(view, scope, view.all_states(view.commit(target)))

    def _move(
        self, model: ReadModel, view: StoreView, handler: str, scope: Scope, base: str, target: str
    ) -> None:
        base_commit, target_commit = view.commit(base), view.commit(target)
        try:
            changes = view.move(base_commit, target_commit)
        except LookupError:
            # No shared history (cannot happen within one database, but cheap to survive).
            self._build(model, view, handler, scope, target)
            return
        model.apply(view, scope, changes)
        record_seqs_on(
            view.connection, handler, _exact_seqs(scope, changes), exact=True, now=view.now
        )

    # -- failures ------------------------------------------------------------------------

    def fail(
        self, subscription: Subscription, unit: Unit, error: str, policy: RetryPolicy
    ) -> Failure | None:
        with self._db.transaction() as connection:
            handler = subscription.handler
            if unit.kind is UnitKind.OTHER:
                return None
            claims = claim_many_on(connection, handler, unit.keys, self._owner, self._lease)
            mine = [key for key, claim in claims.items() if claim.outcome is ClaimOutcome.CLAIMED]
            busy = any(claim.outcome is ClaimOutcome.BUSY for claim in claims.values())
            if busy or not mine:
                return None  # held by someone else, or settled meanwhile
            attempts = max(claims[key].attempts for key in mine)
            if not policy.exhausted(attempts):
                mark_failed_many_on(
                    connection, handler, mine, self._owner, error, policy.delay(attempts)
                )
                return Failure(attempts, parked=False)
            park_many_on(connection, handler, mine, self._owner, error)
            letter = park_letter(connection, subscription, unit, attempts, error)
            books.advance(connection, subscription, unit.checkpoint)
            return Failure(attempts, parked=True, letter_id=letter)


def park_letter(
    connection: Connection, subscription: Subscription, unit: Unit, attempts: int, error: str
) -> int:
    now = datetime.now(UTC)
    created = connection.execute(
        insert(dead_letters).values(
            projection=subscription.projection,
            version=subscription.version,
            db_id=unit.db_id,
            db_name=unit.db_name,
            branch=unit.branch,
            commit_id=unit.commit_id,
            event_type=unit.event_type,
            event_ids=[event.event_id for event in unit.events],
            tx_order=unit.checkpoint.tx_order,
            position=unit.checkpoint.position,
            attempts=attempts,
            error=error[:4000],
            status="parked",
            parked_at=now,
            updated_at=now,
            resolution=None,
        )
    )
    key = created.inserted_primary_key
    assert key is not None
    return int(key[0])


def _exact_seqs(scope: Scope, changes: Sequence[DocChange]) -> dict[str, int]:
    return {
        books.aggregate_key(scope.db_id, scope.branch, change.key): seq_of(change.after)
        for change in changes
    }
