"""Queries, graph traversal and search run unchanged on SQLite and PostgreSQL: the lookups they
push into the store (`find_docs` for eq/in, `get_many` by key and for out hops) answer the same
as the scans they replace."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.graph import GraphRequest, GraphRunner, HopQuery
from spice_harvester.application.instances import InstanceWriter
from spice_harvester.application.ontology import ClassWriter
from spice_harvester.application.query import QueryRequest, QueryRunner
from spice_harvester.application.search import SearchRunner
from spice_harvester.domain.ontology.schema import SchemaLimits

DB = "querydb"
LIMITS = SchemaLimits()
CLASSES: list[dict[str, Any]] = [
    {
        "id": "Customer",
        "label": "Customer",
        "key": ["customer_id"],
        "properties": [
            {"name": "customer_id", "type": "string", "required": True},
            {"name": "name", "type": "string"},
            {"name": "score", "type": "integer"},
            {"name": "since", "type": "date"},
            {"name": "credit", "type": "decimal"},
            {"name": "vip", "type": "boolean"},
            {"name": "tags", "type": "array", "constraints": {"item_type": "string"}},
        ],
    },
    {
        "id": "Order",
        "label": "Order",
        "key": ["order_id"],
        "properties": [{"name": "order_id", "type": "string", "required": True}],
        "relationships": [{"predicate": "customer", "target": "Customer", "cardinality": "n:1"}],
    },
]
CUSTOMERS = [
    {
        "customer_id": f"c{i}",
        "name": ["김민수", "Lee", "Kim Min-su"][i % 3],
        "score": i % 4,
        "since": f"2024-0{1 + i % 3}-15",
        "credit": ["10.50", "10.5", "9.99"][i % 3],
        "vip": i % 2 == 0,
        "tags": [["red"], ["red", "blue"], []][i % 3],
    }
    for i in range(12)
]
ORDERS = [{"order_id": f"o{i}", "customer": f"c{i % 5}"} for i in range(8)]


@pytest.fixture
def store(migrated: SqlDatabase) -> SqlVersionedStore:
    created = SqlVersionedStore(migrated)
    created.create_database(DB)
    classes = ClassWriter(created, LIMITS)
    for payload in CLASSES:
        classes.create(DB, "main", payload, "tester", uuid.uuid4().hex)
    instances = InstanceWriter(created, LIMITS)
    instances.bulk_create(DB, "main", "Customer", CUSTOMERS, "tester", uuid.uuid4().hex)
    instances.bulk_create(DB, "main", "Order", ORDERS, "tester", uuid.uuid4().hex)
    return created


def found(store: SqlVersionedStore, class_id: str, *filters: tuple[str, str, Any]) -> list[str]:
    request = QueryRequest(
        class_id, [{"field": f, "operator": o, "value": v} for f, o, v in filters], limit=1000
    )
    answer = QueryRunner(store, LIMITS).run(DB, request, "main", None)
    return [item["id"] for item in answer["instances"]]


def expected(keep: Any) -> list[str]:
    return sorted(str(c["customer_id"]) for c in CUSTOMERS if keep(c))


def test_lookups_in_the_store_and_scans_agree_with_the_data(store: SqlVersionedStore) -> None:
    # Looked up in SQL (find_docs), then checked here.
    assert found(store, "Customer", ("name", "eq", "김민수")) == expected(
        lambda c: c["name"] == "김민수"
    )
    assert found(store, "Customer", ("score", "in", [1, "3"])) == expected(
        lambda c: c["score"] in (1, 3)
    )
    assert found(store, "Customer", ("since", "eq", "2024/02/15")) == expected(
        lambda c: c["since"] == "2024-02-15"
    )
    assert found(store, "Customer", ("vip", "eq", "yes")) == expected(lambda c: c["vip"])
    assert found(store, "Customer", ("tags", "eq", "blue")) == expected(
        lambda c: "blue" in c["tags"]
    )
    assert found(store, "Order", ("customer", "in", ["c1", "c3"])) == ["o1", "o3", "o6"]
    # Read by key.
    assert found(store, "Customer", ("id", "in", ["c2", "c11", "c99"])) == ["c11", "c2"]
    # Scanned: decimals by value (10.50 = 10.5), ranges, like.
    assert found(store, "Customer", ("credit", "eq", "10.5")) == expected(
        lambda c: c["credit"] != "9.99"
    )
    assert found(store, "Customer", ("score", "ge", 2), ("name", "like", "kim%")) == expected(
        lambda c: c["score"] >= 2 and c["name"] == "Kim Min-su"
    )


def test_hops_out_and_in_agree_with_the_data(store: SqlVersionedStore) -> None:
    runner = GraphRunner(store, LIMITS)
    out = runner.run(
        DB,
        GraphRequest("Order", [HopQuery("customer")], limit=3, include_documents=False),
        "main",
        None,
    )
    assert [(n["class_id"], n["id"]) for n in out["nodes"]] == [
        ("Order", "o0"),
        ("Order", "o1"),
        ("Order", "o2"),
        ("Customer", "c0"),
        ("Customer", "c1"),
        ("Customer", "c2"),
    ]
    assert out["next_offset"] == 3
    back = runner.run(
        DB,
        GraphRequest(
            "Customer",
            [HopQuery("customer", "Order")],
            filters=[{"field": "id", "operator": "in", "value": ["c0", "c3"]}],
        ),
        "main",
        None,
    )
    assert {(e["from"], e["to"]) for e in back["edges"]} == {
        ("o0", "c0"),
        ("o5", "c0"),
        ("o3", "c3"),
    }
    assert back["hops"] == [
        {
            "predicate": "customer",
            "direction": "in",
            "source_class": "Customer",
            "target_class": "Order",
        }
    ]


def test_search_reads_every_instance_on_either_engine(store: SqlVersionedStore) -> None:
    answer = SearchRunner(store, LIMITS).run(
        DB, "민수", class_id=None, branch="main", at=None, limit=100
    )
    assert sorted(hit["id"] for hit in answer["hits"]) == expected(lambda c: c["name"] == "김민수")
