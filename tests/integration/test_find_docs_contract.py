"""`find_docs`, the store's lookup by value, run unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.domain.errors import NotFound
from spice_harvester.domain.versioning.documents import DocRef
from tests.integration.store_helpers import DB, create, person, remove, update, write


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlVersionedStore:
    created = SqlVersionedStore(migrated)
    created.create_database(DB)
    return created


def found(
    store: SqlVersionedStore,
    ref: str,
    field: str,
    values: list[Any],
    class_ids: tuple[str, ...] = ("Person",),
    limit: int | None = None,
) -> list[str]:
    states = store.find_docs(DB, ref, class_ids, field, values, limit=limit)
    return [f"{state.ref.class_id}/{state.ref.doc_id}" for state in states]


def people(*ids: str) -> list[str]:
    return [f"Person/{doc_id}" for doc_id in ids]


def fork(store: SqlVersionedStore, name: str, base: str) -> None:
    """A branch whose writes land on a timeline of its own: its base moves on first, so a read
    on the branch overlays the branch's level on the base's."""
    store.create_branch(DB, name, base)
    write(store, base, create(DocRef.of_instance("Other", f"after-{name}"), {"x": 1}))


def test_a_value_is_found_as_the_field_or_as_an_item_of_a_list(store: SqlVersionedStore) -> None:
    write(
        store,
        "main",
        create(person("p1"), {"email": "a@x"}),
        create(person("p2"), {"email": ["b@x", "a@x"]}),
        create(person("p3"), {"email": "b@x", "name": "a@x"}),
        create(person("p4"), {"email": {"a@x": "a@x"}}),  # an object's keys and values: no
        create(person("p5"), {"email": ["A@X", "a@x.org", ["a@x"]]}),
        create(DocRef.of_instance("Company", "c1"), {"email": "a@x"}),
        create(DocRef.of_class("Person"), {"id": "Person", "email": "a@x"}),
    )
    assert found(store, "main", "email", ["a@x"]) == people("p1", "p2")
    assert found(store, "main", "email", ["a@x", "b@x"]) == people("p1", "p2", "p3")
    assert found(store, "main", "email", ["a@x"], ("Person", "Company")) == [
        "Company/c1",
        *people("p1", "p2"),
    ]
    assert found(store, "main", "name", ["a@x"]) == people("p3")
    assert found(store, "main", "email", ["nobody"]) == []
    [state] = store.find_docs(DB, "main", ["Person"], "email", {"b@x"}, limit=1)
    assert (state.ref, state.seq, state.data) == (person("p2"), 1, {"email": ["b@x", "a@x"]})


def test_numbers_and_booleans_compare_as_their_json(store: SqlVersionedStore) -> None:
    write(
        store,
        "main",
        create(person("int"), {"v": 1}),
        create(person("float"), {"v": 1.0}),
        create(person("true"), {"v": True}),
        create(person("text"), {"v": "1"}),
        create(person("list"), {"v": [2, False, 0.1]}),
        create(person("big"), {"v": 2**70}),
        create(person("zero"), {"v": 0}),
    )
    assert found(store, "main", "v", [1]) == people("int")
    assert found(store, "main", "v", [1.0]) == people("float")
    assert found(store, "main", "v", [True]) == people("true")
    assert found(store, "main", "v", ["1"]) == people("text")
    assert found(store, "main", "v", [False]) == people("list")
    assert found(store, "main", "v", [0]) == people("zero")
    assert found(store, "main", "v", [2, 0.1]) == people("list")
    assert found(store, "main", "v", [2.0, 0.30000000000000004]) == []
    assert found(store, "main", "v", [2**70]) == people("big")
    assert found(store, "main", "v", [1, True, "1"]) == people("int", "text", "true")


def test_dicts_compare_by_content_and_lists_as_a_whole(store: SqlVersionedStore) -> None:
    usd = {"amount": "10.00", "currency": "USD"}
    write(
        store,
        "main",
        create(person("m1"), {"price": usd}),
        create(person("m2"), {"price": {"currency": "USD", "amount": "10.00"}}),
        create(person("m3"), {"price": {"amount": "10.00", "currency": "EUR"}}),
        create(person("m4"), {"price": {**usd, "note": "more keys"}}),
        create(person("m5"), {"price": ["z", {"currency": "USD", "amount": "10.00"}]}),
        create(person("m6"), {"price": {"lat": 37.5665, "lon": 126.978}}),
        create(person("m7"), {"price": {}}),
        create(person("m8"), {"price": ["red", "blue"]}),
        create(person("m9"), {"price": ["blue", "red"]}),
        create(person("m10"), {"price": {"deep": {"b": [1, {"y": 2, "x": 1}], "a": None}}}),
        create(person("m11"), {"price": {"amount": "10.00"}}),
    )
    assert found(store, "main", "price", [{"currency": "USD", "amount": "10.00"}]) == people(
        "m1", "m2", "m5"
    )
    assert found(store, "main", "price", [{"lon": 126.978, "lat": 37.5665}]) == people("m6")
    assert found(store, "main", "price", [{"lon": 126.978, "lat": 37.5664}]) == []
    assert found(store, "main", "price", [{}]) == people("m7")
    assert found(store, "main", "price", [["red", "blue"]]) == people("m8")
    assert found(store, "main", "price", ["red"]) == people("m8", "m9")
    deep = {"deep": {"a": None, "b": [1, {"x": 1, "y": 2}]}}
    assert found(store, "main", "price", [deep]) == people("m10")
    reordered = {"deep": {"a": None, "b": [{"x": 1, "y": 2}, 1]}}
    assert found(store, "main", "price", [reordered]) == []
    assert found(store, "main", "price", [usd, "blue", {"amount": "10.00"}]) == people(
        "m1", "m11", "m2", "m5", "m8", "m9"
    )


def test_the_nearest_level_decides(store: SqlVersionedStore) -> None:
    write(
        store,
        "main",
        create(person("p1"), {"email": "a"}),
        create(person("p2"), {"email": ["a"]}),
        create(person("p3"), {"email": "a"}),
        create(person("p4"), {"email": "c"}),
        create(person("p6"), {"email": "a"}),
    )
    fork(store, "feature", "main")
    write(
        store,
        "feature",
        update(person("p1"), {"email": "b"}),  # changed: its older version must not show
        remove(person("p2")),  # deleted: the tombstone hides it
        update(person("p3"), {"name": "kept"}),  # still a match, in its newer version
        update(person("p4"), {"email": ["c", "a"]}),  # a match only on the branch
        create(person("p5"), {"email": "a"}),
    )
    assert found(store, "feature", "email", ["a"]) == people("p3", "p4", "p5", "p6")
    assert found(store, "feature", "email", ["b"]) == people("p1")
    assert found(store, "feature", "email", ["c"]) == people("p4")
    [p3] = store.find_docs(DB, "feature", ["Person"], "email", ["a"], limit=1)
    assert (p3.seq, p3.data) == (2, {"email": "a", "name": "kept"})
    # main never sees the branch, and a newer version on main's own level hides its older one
    write(store, "main", update(person("p6"), {"email": "z"}))
    assert found(store, "main", "email", ["a"]) == people("p1", "p2", "p3")
    assert found(store, "main~1", "email", ["a"]) == people("p1", "p2", "p3", "p6")
    assert found(store, "feature", "email", ["a"]) == people("p3", "p4", "p5", "p6")
    # three levels: the middle one's versions hide main's and are hidden by the nearest's
    fork(store, "deeper", "feature")
    write(
        store,
        "deeper",
        create(person("p2"), {"email": "a"}),  # recreated over the middle level's tombstone
        remove(person("p5")),
        update(person("p1"), {"name": "b still"}),
    )
    assert found(store, "deeper", "email", ["a"]) == people("p2", "p3", "p4", "p6")
    assert found(store, "deeper", "email", ["b"]) == people("p1")
    assert found(store, "deeper", "email", ["a"], limit=2) == people("p2", "p3")
    assert found(store, "feature", "email", ["a"]) == people("p3", "p4", "p5", "p6")


def test_a_ref_in_the_past_sees_the_values_of_then(store: SqlVersionedStore) -> None:
    first = write(store, "main", create(person("p1"), {"email": "old"}))
    write(store, "main", update(person("p1"), {"email": "new"}))
    write(store, "main", remove(person("p1")))
    assert found(store, "main", "email", ["old", "new"]) == []
    assert found(store, "main~1", "email", ["old"]) == []
    assert found(store, "main~1", "email", ["new"]) == people("p1")
    assert found(store, first.commit.commit_id, "email", ["old"]) == people("p1")


def test_limit_takes_the_first_in_key_order_across_levels(store: SqlVersionedStore) -> None:
    write(store, "main", *(create(person(f"p{i}"), {"tag": "t"}) for i in range(1, 9)))
    fork(store, "feature", "main")
    write(
        store,
        "feature",
        create(person("p0"), {"tag": ["t"]}),
        update(person("p2"), {"tag": "u"}),
        remove(person("p3")),
        create(person("p45"), {"tag": "t"}),
    )
    everything = people("p0", "p1", "p4", "p45", "p5", "p6", "p7", "p8")
    assert found(store, "feature", "tag", ["t"]) == everything
    for limit in (1, 2, 3, 4, 8, 50):
        assert found(store, "feature", "tag", ["t"], limit=limit) == everything[:limit]
    assert found(store, "feature", "tag", ["t"], limit=0) == []


def test_many_values_at_once_and_none_at_all(store: SqlVersionedStore) -> None:
    write(store, "main", *(create(person(f"p{i:04}"), {"code": f"c{i}"}) for i in range(0, 40)))
    wanted = [f"c{i}" for i in range(0, 5000, 7)]
    assert found(store, "main", "code", wanted) == people(*(f"p{i:04}" for i in range(0, 40, 7)))
    assert found(store, "main", "code", []) == []
    assert found(store, "main", "code", [None]) == []
    assert found(store, "main", "code", ["c1"], class_ids=()) == []
    with pytest.raises(TypeError):
        store.find_docs(DB, "main", ["Person"], "code", "c1")
    with pytest.raises(ValueError, match="field name"):
        store.find_docs(DB, "main", ["Person"], "code') OR 1=1 --", ["c1"])
    with pytest.raises(NotFound):
        store.find_docs("no_such_db", "main", ["Person"], "code", ["c1"])
    with pytest.raises(NotFound):
        store.find_docs(DB, "no-such-branch", ["Person"], "code", ["c1"])
