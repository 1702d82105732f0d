"""Inverse relationships over HTTP (in process, real SQLite): both ends of a link kept in step.

Every test ends (and most steps end) with `in_step`, which reads every instance back and checks
that each link held by a paired field is held, the other way, by its target's inverse field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from spice_harvester.application.instances import InstanceWriter
from spice_harvester.domain.versioning.changes import Change, ChangeKind
from spice_harvester.domain.versioning.documents import DocRef
from spice_harvester.domain.versioning.model import CommitRequest, CommitResult
from spice_harvester.ports.versioned_store import VersionedStore
from spice_harvester.services.oms.app import create_app
from spice_harvester.settings import load_settings

DB = "league"
ONTOLOGY = f"/api/v1/database/{DB}/ontology"
WRITE = f"/api/v1/instances/{DB}/async"
READ = f"/api/v1/instance/{DB}"


def keyed(class_id: str, *relationships: dict[str, Any], **extra: Any) -> dict[str, Any]:
    key = f"{class_id.lower()}_id"
    return {
        "id": class_id,
        "label": class_id,
        "key": [key],
        "properties": [
            {"name": key, "type": "string", "required": True},
            {"name": "name", "type": "string"},
        ],
        "relationships": list(relationships),
        **extra,
    }


def rel(
    predicate: str, target: str, cardinality: str, inverse: str | None = None, **extra: Any
) -> dict[str, Any]:
    found = {"predicate": predicate, "target": target, "cardinality": cardinality, **extra}
    return found if inverse is None else {**found, "inverse_predicate": inverse}


# Targets first: each relationship's mirror is written onto its target class by the schema.
SCHEMA: list[dict[str, Any]] = [
    keyed("Player"),
    {"id": "Captain", "label": "Captain", "parent_class": "Player"},
    keyed("Team", rel("players", "Player", "1:n", "team")),
    keyed("Author"),
    keyed("Book", rel("author", "Author", "n:1", "books")),
    keyed(
        "Person",
        rel("spouse", "Person", "1:1", "spouse"),
        rel("friends", "Person", "n:m", "friends"),
        rel("mentor", "Person", "n:1", "mentees"),
        rel("mentees", "Person", "1:n", "mentor"),
    ),
    keyed("Customer"),
    keyed("Item"),
    keyed(
        "Order",
        rel("customer", "Customer", "n:1", "orders", required=True),
        rel("items", "Item", "n:m", "orders"),
    ),
    keyed("Note", rel("about", "Person", "n:1")),  # no inverse: an ordinary referrer
]
CLASSES = [c["id"] for c in SCHEMA]
PARENTS = {"Captain": "Player"}
# (class, field, target class, inverse field) for every pair, from both ends.
PAIRS = [
    ("Team", "players", "Player", "team"),
    ("Player", "team", "Team", "players"),
    ("Book", "author", "Author", "books"),
    ("Author", "books", "Book", "author"),
    ("Person", "spouse", "Person", "spouse"),
    ("Person", "friends", "Person", "friends"),
    ("Person", "mentor", "Person", "mentees"),
    ("Person", "mentees", "Person", "mentor"),
    ("Order", "customer", "Customer", "orders"),
    ("Customer", "orders", "Order", "customer"),
    ("Order", "items", "Item", "orders"),
    ("Item", "orders", "Order", "items"),
]
ONE_VALUED = {
    ("Player", "team"),
    ("Book", "author"),
    ("Person", "spouse"),
    ("Person", "mentor"),
    ("Order", "customer"),
}


@pytest.fixture
def client(workdir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_settings())) as test_client:
        created = test_client.post("/api/v1/database/create", json={"name": DB})
        assert created.status_code == 202, created.text
        for payload in SCHEMA:
            answer = test_client.post(ONTOLOGY, json=payload)
            assert answer.status_code == 202, answer.text
        yield test_client


def is_a(class_id: str, base: str) -> bool:
    return class_id == base or PARENTS.get(class_id) == base


def ids(value: Any) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def everything(client: TestClient, branch: str = "main") -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for class_id in CLASSES:
        page = client.get(
            f"{READ}/class/{class_id}/instances", params={"limit": 1000, "branch": branch}
        )
        assert page.status_code == 200, page.text
        for item in page.json()["data"]["instances"]:
            found[(class_id, item["id"])] = item["data"]
    return found


def in_step(client: TestClient, branch: str = "main") -> None:
    """Both ends of every paired link agree, and one-valued ends hold one id."""
    found = everything(client, branch)
    for (class_id, doc_id), data in found.items():
        for source, field, target, inverse in PAIRS:
            if not is_a(class_id, source) or field not in data:
                continue
            one = (source, field) in ONE_VALUED
            assert isinstance(data[field], str if one else list), (class_id, doc_id, field)
            for target_id in ids(data[field]):
                held = [d for (c, i), d in found.items() if i == target_id and is_a(c, target)]
                assert len(held) == 1, f"{class_id}/{doc_id}.{field}: {target_id} not found"
                back = ids(held[0].get(inverse))
                assert doc_id in back, (
                    f"{class_id}/{doc_id}.{field} has {target_id}, whose {inverse} is {back}"
                )


def write(client: TestClient, class_id: str, data: dict[str, Any], **params: str) -> Response:
    return client.post(f"{WRITE}/{class_id}/create", json={"data": data}, params=params)


def create(
    client: TestClient, class_id: str, data: dict[str, Any], **params: str
) -> dict[str, Any]:
    response = write(client, class_id, data, **params)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


def read(client: TestClient, class_id: str, doc_id: str, branch: str = "main") -> dict[str, Any]:
    response = client.get(
        f"{READ}/instance/{doc_id}", params={"class_id": class_id, "branch": branch}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


def data(client: TestClient, class_id: str, doc_id: str) -> dict[str, Any]:
    found: dict[str, Any] = read(client, class_id, doc_id)["data"]
    return found


def exists(client: TestClient, class_id: str, doc_id: str) -> bool:
    response = client.get(f"{READ}/instance/{doc_id}", params={"class_id": class_id})
    return response.status_code == 200


def update(client: TestClient, class_id: str, doc_id: str, fields: dict[str, Any]) -> Response:
    version = read(client, class_id, doc_id)["version"]
    return client.put(
        f"{WRITE}/{class_id}/{doc_id}/update",
        params={"expected_seq": version},
        json={"data": fields},
    )


def updated(client: TestClient, class_id: str, doc_id: str, fields: dict[str, Any]) -> None:
    response = update(client, class_id, doc_id, fields)
    assert response.status_code == 202, response.text


def delete(client: TestClient, class_id: str, doc_id: str, **params: str) -> Response:
    version = read(client, class_id, doc_id)["version"]
    return client.delete(
        f"{WRITE}/{class_id}/{doc_id}/delete", params={"expected_seq": version, **params}
    )


def refused(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["errors"][0]["code"] == code
    return body


def bulk(client: TestClient, class_id: str, rows: list[dict[str, Any]]) -> Response:
    return client.post(f"{WRITE}/{class_id}/bulk-create", json={"instances": rows})


def test_a_create_links_its_targets_back_in_the_same_commit(client: TestClient) -> None:
    create(client, "Player", {"player_id": "p1"})
    create(client, "Player", {"player_id": "p2"})
    create(client, "Captain", {"player_id": "k1"})
    answer = create(client, "Team", {"team_id": "t1", "players": ["p1", "k1"]})
    for class_id, doc_id in (("Player", "p1"), ("Captain", "k1")):
        target = read(client, class_id, doc_id)
        assert target["data"]["team"] == "t1"
        assert (target["version"], target["commit_id"]) == (2, answer["commit_id"])
    assert "team" not in data(client, "Player", "p2")
    commits = client.get(f"/api/v1/version/{DB}/history", params={"limit": 1}).json()["data"]
    assert commits["commits"][0]["id"] == answer["commit_id"]
    create(client, "Author", {"author_id": "a1"})
    create(client, "Book", {"book_id": "b1", "author": "a1"})
    create(client, "Book", {"book_id": "b2", "author": "a1"})
    assert data(client, "Author", "a1")["books"] == ["b1", "b2"]
    in_step(client)


def test_a_one_valued_inverse_that_names_another_instance_is_a_409(client: TestClient) -> None:
    for player in ("p1", "p2"):
        create(client, "Player", {"player_id": player})
    create(client, "Team", {"team_id": "t1", "players": ["p1"]})
    taken = write(client, "Team", {"team_id": "t2", "players": ["p2", "p1"]})
    body = refused(taken, 409, "conflict")
    assert body["errors"][0]["field"] == "players"
    assert "Player/p1 already has team 't1'" in body["message"]
    assert body["data"]["conflict_count"] == 1
    conflict = body["data"]["conflicts"][0]
    assert {k: conflict[k] for k in ("class_id", "id", "field", "current")} == {
        "class_id": "Player",
        "id": "p1",
        "field": "team",
        "current": "t1",
    }
    assert conflict["source"] == {"class_id": "Team", "id": "t2", "field": "players"}
    assert not exists(client, "Team", "t2")
    assert "team" not in data(client, "Player", "p2")
    # The one-valued end moves the link: t1 loses p1 as t2 gains it, in one commit.
    create(client, "Team", {"team_id": "t2"})
    updated(client, "Player", "p1", {"team": "t2"})
    assert "players" not in data(client, "Team", "t1")
    assert data(client, "Team", "t2")["players"] == ["p1"]
    in_step(client)


def test_an_update_moves_links_on_both_ends(client: TestClient) -> None:
    for player in ("p1", "p2", "p3"):
        create(client, "Player", {"player_id": player})
    create(client, "Team", {"team_id": "t1", "players": ["p1", "p2"]})
    updated(client, "Team", "t1", {"players": ["p2", "p3"]})
    assert "team" not in data(client, "Player", "p1")
    assert read(client, "Player", "p2")["version"] == 2  # unchanged: no change written
    assert data(client, "Player", "p3")["team"] == "t1"
    in_step(client)
    updated(client, "Team", "t1", {"players": None})
    assert all("team" not in data(client, "Player", p) for p in ("p1", "p2", "p3"))
    in_step(client)

    create(client, "Author", {"author_id": "a1"})
    create(client, "Author", {"author_id": "a2"})
    create(client, "Book", {"book_id": "b1", "author": "a1"})
    create(client, "Book", {"book_id": "b2"})
    updated(client, "Book", "b1", {"author": "a2"})
    assert "books" not in data(client, "Author", "a1")
    assert data(client, "Author", "a2")["books"] == ["b1"]
    in_step(client)
    # From the many-valued end: b2 is free and follows, b1 belongs to a2 and is refused.
    taken = refused(update(client, "Author", "a1", {"books": ["b2", "b1"]}), 409, "conflict")
    assert taken["data"]["conflicts"][0]["id"] == "b1"
    assert taken["data"]["conflicts"][0]["current"] == "a2"
    assert "author" not in data(client, "Book", "b2")
    updated(client, "Author", "a1", {"books": ["b2"]})
    assert data(client, "Book", "b2")["author"] == "a1"
    updated(client, "Book", "b2", {"author": None})
    assert "books" not in data(client, "Author", "a1")
    in_step(client)


def test_a_delete_takes_the_instance_out_of_its_targets(client: TestClient) -> None:
    for player in ("p1", "p2", "p3"):
        create(client, "Player", {"player_id": player})
    create(client, "Team", {"team_id": "t1", "players": ["p1", "p2"]})
    create(client, "Team", {"team_id": "t2", "players": ["p3"]})
    # The players point back at t1, but only through the pair: they lose it, nothing blocks.
    answer = delete(client, "Team", "t1")
    assert answer.status_code == 202, answer.text
    assert answer.json()["data"]["changed"] == 3
    assert "team" not in data(client, "Player", "p1")
    assert "team" not in data(client, "Player", "p2")
    in_step(client)
    assert delete(client, "Player", "p3").status_code == 202
    assert "players" not in data(client, "Team", "t2")

    create(client, "Author", {"author_id": "a1"})
    create(client, "Book", {"book_id": "b1", "author": "a1"})
    create(client, "Book", {"book_id": "b2", "author": "a1"})
    assert delete(client, "Book", "b1").status_code == 202
    assert data(client, "Author", "a1")["books"] == ["b2"]
    assert delete(client, "Author", "a1").status_code == 202
    assert "author" not in data(client, "Book", "b2")
    in_step(client)

    # An unpaired referrer still blocks; the paired ones are not named as referrers.
    create(client, "Person", {"person_id": "ann"})
    create(client, "Person", {"person_id": "bob", "spouse": "ann", "friends": ["ann"]})
    create(client, "Note", {"note_id": "n1", "about": "ann"})
    blocked = refused(delete(client, "Person", "ann"), 409, "conflict")
    assert blocked["data"]["referrers"] == [{"class_id": "Note", "id": "n1", "predicate": "about"}]
    answer = delete(client, "Person", "ann", unlink="true")
    assert answer.status_code == 202, answer.text
    assert data(client, "Person", "bob") == {"person_id": "bob"}
    assert data(client, "Note", "n1") == {"note_id": "n1"}
    in_step(client)


def test_a_required_end_blocks_a_delete_and_cascade_cleans_up(client: TestClient) -> None:
    create(client, "Customer", {"customer_id": "c1"})
    for item in ("i1", "i2"):
        create(client, "Item", {"item_id": item})
    create(client, "Order", {"order_id": "o1", "customer": "c1", "items": ["i1", "i2"]})
    create(client, "Order", {"order_id": "o2", "customer": "c1", "items": ["i1"]})
    assert data(client, "Customer", "c1")["orders"] == ["o1", "o2"]
    assert data(client, "Item", "i1")["orders"] == ["o1", "o2"]
    in_step(client)
    assert delete(client, "Order", "o2").status_code == 202
    assert data(client, "Customer", "c1")["orders"] == ["o1"]
    assert data(client, "Item", "i1")["orders"] == ["o1"]
    in_step(client)
    # o1 requires its customer: it blocks, unlink cannot empty it, cascade deletes it.
    blocked = refused(delete(client, "Customer", "c1"), 409, "conflict")
    assert blocked["data"]["referrers"] == [
        {"class_id": "Order", "id": "o1", "predicate": "customer"}
    ]
    unlinked = refused(delete(client, "Customer", "c1", unlink="true"), 422, "validation_failed")
    assert unlinked["errors"][0]["field"] == "customer"
    cascaded = delete(client, "Customer", "c1", cascade="true")
    assert cascaded.status_code == 202, cascaded.text
    assert cascaded.json()["data"]["changed"] == 4  # c1, o1 deleted; i1, i2 lose o1
    assert not exists(client, "Order", "o1")
    assert data(client, "Item", "i1") == {"item_id": "i1"}
    assert data(client, "Item", "i2") == {"item_id": "i2"}
    in_step(client)

    # A write on the other end may not empty a required field either.
    create(client, "Customer", {"customer_id": "c2"})
    create(client, "Customer", {"customer_id": "c3"})
    create(client, "Order", {"order_id": "o3", "customer": "c2"})
    emptied = refused(update(client, "Customer", "c2", {"orders": None}), 409, "conflict")
    assert emptied["data"]["conflicts"][0]["id"] == "o3"
    assert "Order/o3 requires customer" in emptied["message"]
    updated(client, "Order", "o3", {"customer": "c3"})
    assert "orders" not in data(client, "Customer", "c2")
    assert data(client, "Customer", "c3")["orders"] == ["o3"]
    in_step(client)


def test_self_inverse_relationships(client: TestClient) -> None:
    for person in ("ann", "bob", "cat"):
        create(client, "Person", {"person_id": person})
    updated(client, "Person", "ann", {"spouse": "bob"})
    assert data(client, "Person", "bob")["spouse"] == "ann"
    married = refused(
        write(client, "Person", {"person_id": "dan", "spouse": "bob"}), 409, "conflict"
    )
    assert married["data"]["conflicts"][0]["id"] == "bob"
    assert married["data"]["conflicts"][0]["current"] == "ann"
    assert not exists(client, "Person", "dan")
    refused(update(client, "Person", "cat", {"spouse": "ann"}), 409, "conflict")
    updated(client, "Person", "bob", {"spouse": None})
    assert "spouse" not in data(client, "Person", "ann")
    in_step(client)

    create(client, "Person", {"person_id": "eve", "friends": ["ann", "bob"]})
    assert data(client, "Person", "ann")["friends"] == ["eve"]
    assert data(client, "Person", "bob")["friends"] == ["eve"]
    updated(client, "Person", "bob", {"friends": ["cat"]})
    assert data(client, "Person", "eve")["friends"] == ["ann"]
    assert data(client, "Person", "cat")["friends"] == ["bob"]
    in_step(client)
    # A link to itself: one change to the instance, both ends the same field.
    before = read(client, "Person", "ann")["version"]
    updated(client, "Person", "ann", {"friends": ["eve", "ann"]})
    assert read(client, "Person", "ann")["version"] == before + 1
    assert data(client, "Person", "ann")["friends"] == ["eve", "ann"]
    updated(client, "Person", "ann", {"friends": ["eve"]})
    assert data(client, "Person", "ann")["friends"] == ["eve"]
    in_step(client)

    # Two fields of one class paired with each other, an instance linked to itself included.
    updated(client, "Person", "bob", {"mentor": "ann"})
    assert data(client, "Person", "ann")["mentees"] == ["bob"]
    taken = refused(update(client, "Person", "cat", {"mentees": ["bob"]}), 409, "conflict")
    assert taken["data"]["conflicts"][0]["current"] == "ann"
    before = read(client, "Person", "ann")["version"]
    updated(client, "Person", "ann", {"mentor": "ann"})
    ann = read(client, "Person", "ann")
    assert (ann["version"], ann["data"]["mentees"]) == (before + 1, ["bob", "ann"])
    updated(client, "Person", "ann", {"mentees": ["bob"]})
    assert "mentor" not in data(client, "Person", "ann")
    in_step(client)


def test_bulk_create_mirrors_every_row_in_its_one_commit(client: TestClient) -> None:
    create(client, "Team", {"team_id": "t1"})
    rows: list[dict[str, Any]] = [
        {"player_id": "p1", "team": "t1"},
        {"player_id": "p2", "team": "t1"},
        {"data": {"player_id": "p3", "team": "t1"}},
    ]
    answer = bulk(client, "Player", rows)
    assert answer.status_code == 202, answer.text
    team = read(client, "Team", "t1")
    # Three rows gained t1: one change to it, in the bulk's commit.
    assert (team["version"], team["commit_id"]) == (2, answer.json()["data"]["commit_id"])
    assert team["data"]["players"] == ["p1", "p2", "p3"]
    in_step(client)

    # Rows point at each other and at a stored instance: the rows are created already paired.
    create(client, "Person", {"person_id": "zed"})
    people: list[dict[str, Any]] = [
        {"person_id": "ann", "friends": ["bob", "zed"]},
        {"person_id": "bob"},
        {"person_id": "cat", "spouse": "ann"},
    ]
    assert bulk(client, "Person", people).status_code == 202
    assert data(client, "Person", "bob")["friends"] == ["ann"]
    assert data(client, "Person", "zed")["friends"] == ["ann"]
    assert data(client, "Person", "ann")["spouse"] == "cat"
    in_step(client)

    # Clashes with stored data or between rows: 409, nothing written.
    create(client, "Player", {"player_id": "p9"})
    stored = refused(bulk(client, "Team", [{"team_id": "t5", "players": ["p1"]}]), 409, "conflict")
    assert stored["data"]["conflicts"][0]["id"] == "p1"
    rivals = [{"team_id": "t6", "players": ["p9"]}, {"team_id": "t7", "players": ["p9"]}]
    between = refused(bulk(client, "Team", rivals), 409, "conflict")
    assert between["data"]["conflicts"][0]["current"] == "t6"
    assert between["data"]["conflicts"][0]["source"]["id"] == "t7"
    spouses = [
        {"person_id": "x", "spouse": "y"},
        {"person_id": "y", "spouse": "w"},
        {"person_id": "w"},
    ]
    refused(bulk(client, "Person", spouses), 409, "conflict")
    assert client.get(f"{READ}/class/Team/count").json()["data"] == {"count": 1}
    assert not exists(client, "Person", "w")
    assert "team" not in data(client, "Player", "p9")
    in_step(client)


def test_a_concurrent_change_to_a_target_is_an_occ_conflict(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(client, "Player", {"player_id": "p1"})
    store: VersionedStore = client.app.state.resources.store  # type: ignore[attr-defined]
    commit = InstanceWriter._commit

    def racing(
        self: InstanceWriter,
        db: str,
        branch: str,
        actor: str,
        message: str,
        command_id: str,
        changes: list[Change],
    ) -> CommitResult:
        # Another writer changes the target after the write read it and before it commits.
        rival = Change(DocRef.of_instance("Player", "p1"), ChangeKind.UPDATE, {"name": "Kim"})
        store.commit(db, CommitRequest(branch, "rival", "rename", (rival,)))
        return commit(self, db, branch, actor, message, command_id, changes)

    monkeypatch.setattr(InstanceWriter, "_commit", racing)
    raced = refused(
        write(client, "Team", {"team_id": "t1", "players": ["p1"]}), 409, "occ_conflict"
    )
    assert raced["data"] == {
        "aggregate_id": "instance:Player/p1",
        "expected_seq": 1,
        "actual_seq": 2,
    }
    monkeypatch.undo()
    assert not exists(client, "Team", "t1")
    assert data(client, "Player", "p1") == {"player_id": "p1", "name": "Kim"}
    in_step(client)


def test_branches_linking_one_target_conflict_on_its_inverse_field_at_merge(
    client: TestClient,
) -> None:
    create(client, "Author", {"author_id": "a1"})
    branched = client.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "draft"})
    assert branched.status_code == 201, branched.text
    create(client, "Book", {"book_id": "b1", "author": "a1"}, branch="draft")
    create(client, "Book", {"book_id": "b2", "author": "a1"})
    merge = {"source_branch": "draft", "target_branch": "main"}
    conflict = refused(
        client.post(f"/api/v1/version/{DB}/merge", json=merge), 409, "merge_conflict"
    )
    (only,) = conflict["data"]["conflicts"]
    assert only["path"] == "instances/Author/a1/books"
    assert (only["source"], only["target"]) == (["b1"], ["b2"])
    # Taking both lists keeps the pair in step (source or target alone would drop one book).
    union = {"path": only["path"], "choice": "value", "value": ["b2", "b1"]}
    merged = client.post(f"/api/v1/version/{DB}/merge", json={**merge, "resolutions": [union]})
    assert merged.status_code == 200, merged.text
    assert data(client, "Author", "a1")["books"] == ["b2", "b1"]
    in_step(client)
