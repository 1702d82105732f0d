"""Random histories against a plain-Python model of git semantics, on both engines.

Each example builds a fresh logical database from a random list of operations (writes,
branches, merges with either strategy, resets) and checks after every step that every branch
reads exactly what the model says, with the state hash the model computes; at the end it
replays the log, applies diffs and reads old commits.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.tables import events, spice_databases
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.versioning.changes import Change, ChangeKind, apply_event
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.hashing import EMPTY_STATE, add_to_state, doc_hash
from spice_harvester.domain.versioning.merge import MergeOptions, Strategy, merge_document, resolve
from spice_harvester.domain.versioning.model import CommitRequest

State = dict[str, dict[str, Any]]
KEYS = [DocRef.of_instance("Thing", f"t{i}").key for i in range(5)]
_names = itertools.count()

values = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 3), max_size=3)
edits = st.lists(
    st.tuples(st.integers(0, len(KEYS) - 1), st.one_of(st.none(), values)),
    min_size=1,
    max_size=3,
    unique_by=lambda edit: edit[0],
)
operation = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 9), edits),
    st.tuples(st.just("branch"), st.integers(0, 9)),
    st.tuples(
        st.just("merge"),
        st.integers(0, 9),
        st.integers(0, 9),
        st.sampled_from([Strategy.OURS, Strategy.THEIRS]),
    ),
    st.tuples(st.just("reset"), st.integers(0, 9), st.integers(1, 3)),
)


def state_hash(state: State) -> str:
    total = EMPTY_STATE
    for key, data in state.items():
        total = add_to_state(total, doc_hash(key, data), None)
    return total


@dataclass
class Model:
    """What git semantics say each commit and branch holds."""

    commits: dict[str, tuple[tuple[str, ...], State, int]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def ancestors(self, commit_id: str) -> set[str]:
        seen, pending = set(), [commit_id]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(self.commits[current][0])
        return seen

    def merge_base(self, one: str, other: str) -> str:
        common = self.ancestors(one) & self.ancestors(other)
        return max(common, key=lambda c: (self.commits[c][2], c))


def read_state(store: SqlVersionedStore, db: str, ref: str) -> State:
    page = store.list_docs(db, ref, limit=1000)
    return {item.ref.key: item.data for item in page.items if item.data is not None}


class Scenario:
    def __init__(self, store: SqlVersionedStore, db: str) -> None:
        self.store, self.db, self.model = store, db, Model()
        info = store.resolve(db, "main")
        self.model.commits[info.commit_id] = ((), {}, info.generation)
        self.model.branches["main"] = info.commit_id

    def branch_at(self, index: int) -> str:
        names = sorted(self.model.branches)
        return names[index % len(names)]

    def record(self, branch: str, parents: tuple[str, ...], state: State) -> None:
        info = self.store.resolve(self.db, branch)
        assert info.parents == parents
        self.model.commits[info.commit_id] = (parents, state, info.generation)
        self.model.branches[branch] = info.commit_id

    def write(self, branch_index: int, changes: list[tuple[int, dict[str, int] | None]]) -> None:
        branch = self.branch_at(branch_index)
        head = self.model.branches[branch]
        state = dict(self.model.commits[head][1])
        requested = []
        for key_index, value in changes:
            ref = DocRef.from_key(KEYS[key_index])
            if value is None:
                if ref.key not in state:
                    continue
                requested.append(Change(ref, ChangeKind.DELETE))
                del state[ref.key]
            else:
                requested.append(Change(ref, ChangeKind.REPLACE, value))
                state[ref.key] = dict(value)
        if requested:
            self.store.commit(self.db, CommitRequest(branch, "model", "w", tuple(requested)))
            self.record(branch, (head,), state)

    def branch(self, from_index: int) -> None:
        source = self.branch_at(from_index)
        name = f"b{next(_names)}"
        self.store.create_branch(self.db, name, source)
        self.model.branches[name] = self.model.branches[source]

    def merge(self, source_index: int, target_index: int, strategy: Strategy) -> None:
        source, target = self.branch_at(source_index), self.branch_at(target_index)
        src, tgt = self.model.branches[source], self.model.branches[target]
        base = self.model.merge_base(src, tgt)
        result = self.store.merge(
            self.db, source, target, author="m", options=MergeOptions(strategy)
        )
        if base == src:
            assert result.status == "up_to_date"
        elif base == tgt:
            assert result.status == "fast_forward"
            self.model.branches[target] = src
        else:
            assert result.status == "merged"
            assert result.merge_base == base
            states = [self.model.commits[c][1] for c in (base, src, tgt)]
            merged: State = {}
            for key in sorted(set().union(*states)):
                outcome = merge_document(DocRef.from_key(key), *(s.get(key) for s in states))
                data, left = resolve(outcome, strategy, {})
                assert not left
                if data is not None:
                    merged[key] = data
            self.record(target, (tgt, src), merged)

    def reset(self, branch_index: int, steps: int) -> None:
        branch = self.branch_at(branch_index)
        if branch == "main":
            return
        target = self.model.branches[branch]
        for _ in range(steps):
            parents = self.model.commits[target][0]
            if not parents:
                return
            target = parents[0]
        self.store.reset_branch(self.db, branch, f"HEAD~{steps}")
        self.model.branches[branch] = target

    def check_branches(self) -> None:
        for branch, commit_id in self.model.branches.items():
            expected = self.model.commits[commit_id][1]
            assert read_state(self.store, self.db, branch) == expected, branch
            assert self.store.state_hash(self.db, branch) == state_hash(expected)
            assert self.store.resolve(self.db, branch).commit_id == commit_id


def replayed_states(database: SqlDatabase, db: str, model: Model) -> dict[str, State]:
    """Every commit's state rebuilt from the event log alone."""
    with database.read() as connection:
        db_id = connection.execute(
            select(spice_databases.c.db_id).where(spice_databases.c.name == db)
        ).scalar_one()
        rows = connection.execute(
            select(events.c.commit_id, events.c.aggregate_id, events.c.event_type, events.c.payload)
            .where(events.c.db_id == db_id, events.c.aggregate_type == "instance")
            .order_by(events.c.position)
        ).all()
    by_commit: dict[str, list[Any]] = {}
    for row in rows:
        by_commit.setdefault(row.commit_id, []).append(row)
    rebuilt: dict[str, State] = {}
    for commit_id in sorted(model.commits, key=lambda c: model.commits[c][2]):
        parents = model.commits[commit_id][0]
        state = dict(rebuilt[parents[0]]) if parents else {}
        for row in by_commit.get(commit_id, []):
            after = apply_event(state.get(row.aggregate_id), row.event_type, row.payload)
            if after is None:
                state.pop(row.aggregate_id, None)
            else:
                state[row.aggregate_id] = after
        rebuilt[commit_id] = state
    return rebuilt


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=14))
def test_random_histories_match_the_model(migrated: SqlDatabase, operations: list[Any]) -> None:
    store = SqlVersionedStore(migrated)
    db = f"h{next(_names)}"
    store.create_database(db)
    scenario = Scenario(store, db)
    for op in operations:
        getattr(scenario, op[0])(*op[1:])
        scenario.check_branches()
    model = scenario.model
    # Replaying the log reproduces every commit's state and so its state hash.
    for commit_id, state in replayed_states(migrated, db, model).items():
        assert state == model.commits[commit_id][1]
        assert store.resolve(db, commit_id).state_hash == state_hash(state)
    # Time travel: every commit still reads as it was.
    for commit_id, (_, state, _) in model.commits.items():
        assert read_state(store, db, commit_id) == state
    # Applying diff(a, b) to a gives b, for every pair of branches.
    for one, other in itertools.product(sorted(model.branches), repeat=2):
        patched = dict(model.commits[model.branches[one]][1])
        for change in store.diff(db, one, other).changes:
            if change.after is None:
                del patched[change.ref.key]
            else:
                patched[change.ref.key] = change.after
        assert patched == model.commits[model.branches[other]][1]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.dictionaries(st.sampled_from(KEYS), values, max_size=5),
    left=st.dictionaries(st.sampled_from(KEYS), st.one_of(st.none(), values), max_size=5),
    right=st.dictionaries(st.sampled_from(KEYS), st.one_of(st.none(), values), max_size=5),
)
def test_merging_disjoint_changes_in_either_order_gives_the_same_state(
    migrated: SqlDatabase,
    base: State,
    left: dict[str, Any],
    right: dict[str, Any],
) -> None:
    right = {key: value for key, value in right.items() if key not in left}
    store = SqlVersionedStore(migrated)
    db = f"d{next(_names)}"
    store.create_database(db)

    def apply(branch: str, changes: dict[str, Any], existing: State) -> None:
        requested = [
            Change(DocRef.from_key(k), ChangeKind.DELETE)
            if v is None
            else Change(DocRef.from_key(k), ChangeKind.REPLACE, v)
            for k, v in changes.items()
            if v is not None or k in existing
        ]
        if requested:
            store.commit(db, CommitRequest(branch, "t", "c", tuple(requested)))

    apply("main", dict(base), {})
    for name in ("left", "right", "first", "second"):
        store.create_branch(db, name, "main")
    apply("left", left, base)
    apply("right", right, base)
    for target, order in (("first", ("left", "right")), ("second", ("right", "left"))):
        for source in order:
            store.merge(db, source, target, author="t")
    assert store.state_hash(db, "first") == store.state_hash(db, "second")
    assert read_state(store, db, "first") == read_state(store, db, "second")
