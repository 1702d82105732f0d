"""What one projection version's units write in a transaction, held back and written once.

A batch of small commits on one branch would otherwise write each commit's rows, applied seqs
and branch state one statement at a time. Here the document changes of consecutive units are
folded per branch (a document keeps the state before its first change and after its last,
which is all the read models look at: see application/projections/read_models.py), applied
seqs keep their highest value, and a branch's state keeps its last. `flush` writes them.

Anything else a unit does to a branch (a build, a move, a copy, a drop) flushes first, so the
rows it reads or replaces are current. The branch states read here are cached for the rest of
the transaction: the first read takes the row's lock, which is held to the end anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.read_models import ReadModel, Scope
from spice_harvester.adapters.sql.projections.store_view import StoreView
from spice_harvester.adapters.sql.registry import record_seqs_on
from spice_harvester.application.projections.changes import DocChange
from spice_harvester.application.projections.delivery import Subscription
from spice_harvester.ports.registry import LogCheckpoint

_Branch = tuple[int, str]  # (db_id, branch)


@dataclass
class _Folded:
    view: StoreView
    changes: dict[str, DocChange] = field(default_factory=dict)


class Pending:
    def __init__(
        self,
        connection: Connection,
        subscription: Subscription,
        model: ReadModel,
        *,
        now: float | None = None,
    ) -> None:
        self._connection = connection
        self._now = now
        self._subscription = subscription
        self._model = model
        self._folded: dict[Scope, _Folded] = {}
        self._seqs: dict[str, int] = {}
        self._states: dict[_Branch, books.BranchState | None] = {}
        self._dirty: set[_Branch] = set()
        self._serialised: set[int] = set()
        self._known_seqs: dict[str, int] = {}  # read ahead for the units to come (0: none)

    # -- reads that see what is held back ------------------------------------------------

    def branch_state(self, db_id: int, branch: str) -> books.BranchState | None:
        key = (db_id, branch)
        if key not in self._states:
            self._states[key] = books.branch_state(
                self._connection, self._subscription, db_id, branch, lock=True
            )
        return self._states[key]

    def read_seqs_ahead(self, keys: Sequence[str]) -> None:
        """Reads the applied seqs of documents the transaction's units will write, at once."""
        found = books.last_seqs(self._connection, self._subscription.handler, keys)
        self._known_seqs.update({key: found.get(key, 0) for key in keys})

    def last_seqs(self, keys: Sequence[str]) -> dict[str, int]:
        unknown = [key for key in keys if key not in self._known_seqs]
        stored = books.last_seqs(self._connection, self._subscription.handler, unknown)
        for key in keys:
            if stored.get(key, 0) < self._known_seqs.get(key, 0):
                stored[key] = self._known_seqs[key]
        for key in keys:
            held = self._seqs.get(key)
            if held is not None and held > stored.get(key, 0):
                stored[key] = held
        return stored

    def serialise(self, db_id: int) -> None:
        """books.serialise_database, once per database and transaction."""
        if db_id not in self._serialised:
            books.serialise_database(self._connection, self._subscription, db_id)
            self._serialised.add(db_id)

    # -- writes held back -----------------------------------------------------------------

    def apply(
        self,
        view: StoreView,
        scope: Scope,
        changes: Sequence[DocChange],
        seqs: Mapping[str, int],
    ) -> None:
        folded = self._folded.setdefault(scope, _Folded(view))
        for change in changes:
            earlier = folded.changes.get(change.key)
            if earlier is not None:
                change = DocChange(change.key, earlier.before, change.after)
            folded.changes[change.key] = change
        for key, seq in seqs.items():
            if seq > self._seqs.get(key, 0):
                self._seqs[key] = seq

    def set_branch_state(
        self, db_id: int, branch: str, commit_id: str, checkpoint: LogCheckpoint
    ) -> None:
        self._states[(db_id, branch)] = books.BranchState(commit_id, checkpoint)
        self._dirty.add((db_id, branch))

    def forget(self, db_id: int, branch: str | None) -> None:
        """The branch's (or database's) state was dropped meanwhile, in the database."""
        for key in list(self._states):
            if key[0] == db_id and branch in (None, key[1]):
                self._states[key] = None
                self._dirty.discard(key)

    def flush(self, *, forget_reads: bool = False) -> None:
        """Writes what is held back: the folded rows, the seqs, the branch states. With
        `forget_reads` the seqs read ahead are dropped too: the caller is about to change
        applied seqs behind this (a build, a copy, a move)."""
        if forget_reads:
            self._known_seqs.clear()
        folded, self._folded = self._folded, {}
        for scope, held in folded.items():
            # A document changed and changed back within the batch needs no row work.
            changes = [change for change in held.changes.values() if change.changed]
            if changes:
                self._model.apply(held.view, scope, changes)
        seqs, self._seqs = self._seqs, {}
        if seqs:
            record_seqs_on(self._connection, self._subscription.handler, seqs, now=self._now)
        dirty, self._dirty = self._dirty, set()
        for db_id, branch in sorted(dirty):
            state = self._states[(db_id, branch)]
            assert state is not None, "a dirty branch state was set"
            books.set_branch_state(
                self._connection,
                self._subscription,
                db_id,
                branch,
                state.commit_id,
                state.checkpoint,
            )
