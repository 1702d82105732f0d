"""Applying units to projections: a transaction claims the units' events, writes the read
models, the branches' states and the checkpoints, and marks the events done.

Because the effects and the marks commit together, a crash anywhere leaves both or neither:
redelivered after a crash before the commit a unit applies once; after it, it is a no-op.

`apply` takes one unit for one projection version. `apply_batch` takes consecutive units for
several versions at one checkpoint in a single transaction, sharing the store's reads: what
keeps up with a stream of small commits, where a transaction and three reads of the same
commit per unit and projection cost more than the effect. A batch that meets anything but a
clean run (a claim held elsewhere, a parked event, an error) is rolled back whole, and the
caller applies those units one at a time, where retries and dead letters are handled.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection, insert

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.pending import Pending
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
from spice_harvester.application.projections.recompute import covers
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.application.projections.routing import (
    NOTHING,
    Action,
    Plan,
    Situation,
    plan,
)
from spice_harvester.application.projections.units import Unit, UnitKind
from spice_harvester.domain.errors import DependencyUnavailable
from spice_harvester.domain.versioning.documents import seq_of
from spice_harvester.domain.versioning.model import CommitInfo
from spice_harvester.ports.registry import ClaimOutcome, StoredEvent

log = logging.getLogger(__name__)

DEFAULT_LEASE: Final = 300.0
BATCH_UNITS: Final = 200  # a batch takes at most this many units...
BATCH_EVENTS: Final = 2000  # ...and events (or a single unit bigger than that)


class _Busy(Exception):
    """Rolls the unit's transaction back: one of its events is held by another owner."""


class _AlreadyParked(Exception):
    """Rolls the unit's transaction back: its events wait in dead_letters."""


class _Shared:
    """What the units of one transaction share: its connection, the database's clock read
    once, and one view of the store per database (so a commit's changes are read once for
    every projection)."""

    def __init__(self, connection: Connection, cache: TimelineCache) -> None:
        self.connection = connection
        self.now = database_now(connection)
        self._cache = cache
        self._views: dict[int, StoreView] = {}
        self._pending: dict[Subscription, Pending] = {}

    def pending(self, subscription: Subscription, models: Mapping[str, ReadModel]) -> Pending:
        found = self._pending.get(subscription)
        if found is None:
            model = models[subscription.projection]
            found = self._pending[subscription] = Pending(
                self.connection, subscription, model, now=self.now
            )
        return found

    def view(self, db_id: int) -> StoreView:
        found = self._views.get(db_id)
        if found is None:
            found = self._views[db_id] = StoreView(
                self.connection, self._cache, db_id, now=self.now
            )
        return found


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
                shared = _Shared(connection, self._cache)
                applied = self._apply_units(shared, [subscription], [unit])
                books.advance(connection, subscription, unit.checkpoint)
        except _Busy:
            return UnitOutcome.BUSY
        except _AlreadyParked:
            with self._db.transaction() as connection:
                books.advance(connection, subscription, unit.checkpoint)
            return UnitOutcome.ALREADY_DONE
        if applied or unit.kind is UnitKind.OTHER:
            return UnitOutcome.APPLIED
        return UnitOutcome.ALREADY_DONE

    def apply_batch(self, subscriptions: Sequence[Subscription], units: Sequence[Unit]) -> int:
        """Applies a prefix of `units` (up to BATCH_UNITS units and BATCH_EVENTS events, at
        least one unit) to every one of `subscriptions`, all at the checkpoint before the
        first unit, in one transaction, and moves their checkpoints past it. Returns how many
        units it applied: 0 when the first unit must be applied on its own (`apply`, then
        `fail` if it fails), and then nothing was written."""
        if not units or not subscriptions:
            return 0
        taken = _prefix(units)
        try:
            with self._db.transaction() as connection:
                self._apply_units(_Shared(connection, self._cache), subscriptions, taken)
                for subscription in subscriptions:
                    books.advance(connection, subscription, taken[-1].checkpoint)
        except DependencyUnavailable:
            raise
        except Exception as exc:
            # Applied on their own, each unit's failure is retried or parked there.
            log.debug("a batch of %d unit(s) goes one at a time: %r", len(taken), exc)
            return 0
        return len(taken)

    def _apply_units(
        self, shared: _Shared, subscriptions: Sequence[Subscription], units: Sequence[Unit]
    ) -> bool:
        """Claims the units' events for each subscription, applies the fresh ones in log
        order, writes what was held back, then marks them done. _Busy when another owner
        holds one of them, _AlreadyParked when one waits in dead_letters. True when some
        event was fresh."""
        connection, now = shared.connection, shared.now
        # per subscription, the fresh events of each unit (by its place in `units`)
        fresh: dict[Subscription, dict[int, list[StoredEvent]]] = {}
        for subscription in subscriptions:
            wanted = [
                place
                for place, unit in enumerate(units)
                # `covers`, not `passes_over`: a batch rolled back must not move the
                # checkpoint past the units it passed over.
                if unit.kind is not UnitKind.OTHER and covers(subscription.scope, unit)
            ]
            keys = [key for place in wanted for key in units[place].keys]
            if not keys:
                continue
            claims = claim_many_on(
                connection, subscription.handler, keys, self._owner, self._lease, now=now
            )
            outcomes = {claim.outcome for claim in claims.values()}
            if ClaimOutcome.BUSY in outcomes:
                raise _Busy
            if ClaimOutcome.PARKED in outcomes:
                # Parked before (the log is read again from an earlier checkpoint): it waits
                # in dead_letters for an operator, not here.
                raise _AlreadyParked
            mine = {
                place: [
                    e for e in units[place].events if claims[e.key].outcome is ClaimOutcome.CLAIMED
                ]
                for place in wanted
            }
            fresh[subscription] = {place: events for place, events in mine.items() if events}
            ahead = [
                books.aggregate_key(units[place].db_id, branch, event.aggregate_id)
                for place, events in fresh[subscription].items()
                if units[place].kind is UnitKind.COMMIT
                and (branch := units[place].branch) is not None
                for event in events
            ]
            if ahead:
                shared.pending(subscription, self._models).read_seqs_ahead(ahead)
        if not any(fresh.values()):
            return False
        faults.reach("after_claim")
        for place, unit in enumerate(units):
            for subscription, theirs in fresh.items():
                events = theirs.get(place)
                if events:
                    self.effect(
                        connection,
                        subscription,
                        unit,
                        events,
                        view=shared.view(unit.db_id),
                        pending=shared.pending(subscription, self._models),
                    )
        for subscription in fresh:
            shared.pending(subscription, self._models).flush()
        faults.reach("after_effect")
        for subscription, theirs in fresh.items():
            done = [e.key for events in theirs.values() for e in events]
            mark_done_many_on(connection, subscription.handler, done, self._owner, now=now)
        faults.reach("after_done")
        return True

    def effect(
        self,
        connection: Connection,
        subscription: Subscription,
        unit: Unit,
        fresh: Sequence[StoredEvent],
        *,
        view: StoreView | None = None,
        pending: Pending | None = None,
    ) -> Plan:
        """Writes what the unit does to the projection's read model (claims held). `view`
        is the transaction's view of the unit's database and `pending` what this version's
        earlier units of the transaction hold back, when the caller has them; without
        `pending` everything is written before this returns."""
        model = self._models[subscription.projection]
        if view is None:
            view = StoreView(connection, self._cache, unit.db_id)
        if pending is None:
            held = Pending(connection, subscription, model, now=view.now)
            decided = self.effect(connection, subscription, unit, fresh, view=view, pending=held)
            held.flush()
            return decided
        pending.serialise(unit.db_id)
        if unit.kind is UnitKind.DATABASE_DELETED:
            pending.flush(forget_reads=True)
            model.drop(connection, subscription.version, unit.db_id, None)
            books.drop_branch_state(connection, subscription, unit.db_id, None)
            pending.forget(unit.db_id, None)
            return Plan(Action.DROP_DATABASE)
        branch = unit.branch
        assert branch is not None, "branch and commit units name their branch"
        state = pending.branch_state(unit.db_id, branch)
        if state is not None and unit.checkpoint <= state.checkpoint:
            # Delivered out of order: a later unit of the log already brought this branch to
            # the state at its commit, which covers this one.
            return NOTHING
        decided = plan(unit, self._situation(pending, view, unit, state))
        scope = Scope(subscription.version, unit.db_id, branch)
        if decided.action is Action.APPLY_EVENTS:
            assert decided.target is not None
            self._apply_events(pending, view, scope, view.commit(decided.target), fresh)
        elif decided.action is not Action.NOTHING:
            # What follows reads or replaces the rows and seqs as they stand.
            pending.flush(forget_reads=True)
            self._execute(model, view, subscription, scope, decided)
        if decided.action is Action.DROP_BRANCH:
            books.drop_branch_state(connection, subscription, unit.db_id, branch)
            pending.forget(unit.db_id, branch)
        elif decided.moves_branch:
            assert decided.target is not None
            pending.set_branch_state(unit.db_id, branch, decided.target, unit.checkpoint)
        elif state is not None:
            # A unit that changed nothing still moves the branch's checkpoint: a parked unit
            # from before it is then known to be covered (see dead_letters.py).
            pending.set_branch_state(unit.db_id, branch, state.commit_id, unit.checkpoint)
        return decided

    def _situation(
        self, pending: Pending, view: StoreView, unit: Unit, state: books.BranchState | None
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
            source = pending.branch_state(unit.db_id, unit.from_branch)
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
    ) -> None:
        """An action other than applying a commit's events (those are held back)."""
        connection, handler = view.connection, subscription.handler
        action = decided.action
        if action is Action.DROP_BRANCH:
            model.drop(connection, scope.version, scope.db_id, scope.branch)
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
        pending: Pending,
        view: StoreView,
        scope: Scope,
        commit: CommitInfo,
        fresh: Sequence[StoredEvent],
    ) -> None:
        keys = {books.aggregate_key(scope.db_id, scope.branch, e.aggregate_id): e for e in fresh}
        recorded = pending.last_seqs(list(keys))
        # An event at or below the seq already applied for its document is stale.
        current = {key: e for key, e in keys.items() if e.seq > recorded.get(key, 0)}
        if not current:
            return
        changes = view.commit_changes(commit, [e.aggregate_id for e in current.values()])
        pending.apply(view, scope, changes, {key: e.seq for key, e in current.items()})

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


def _prefix(units: Sequence[Unit]) -> Sequence[Unit]:
    """The units a batch takes: whole units, within BATCH_UNITS and BATCH_EVENTS."""
    events = 0
    for taken, unit in enumerate(units[:BATCH_UNITS]):
        events += len(unit.events)
        if taken and events > BATCH_EVENTS:
            return units[:taken]
    return units[:BATCH_UNITS]


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
