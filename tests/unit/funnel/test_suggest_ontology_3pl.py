"""suggest_ontology on the real 3PL sample: keys, relationships and classes OMS accepts."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from spice_harvester.application.funnel.suggest import suggest_ontology
from spice_harvester.domain.ontology.classes import ClassDef
from tests.sample_data import three_pl

FOLDER = three_pl()
pytestmark = pytest.mark.skipif(not FOLDER.is_dir(), reason="the 3PL sample is not here")


@pytest.fixture(scope="module")
def suggested() -> dict[str, Any]:
    tables = {
        path.stem: pl.read_csv(path, infer_schema=False) for path in sorted(FOLDER.glob("*.csv"))
    }
    return suggest_ontology(tables)


def links(suggested: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (r["table"], r["column"]): (r["target"], r["cardinality"])
        for r in suggested["relationships"]
    }


def test_keys_are_single_ids_or_the_expected_combinations(suggested: dict[str, Any]) -> None:
    keys = {name: tuple(t["key"]) for name, t in suggested["report"]["tables"].items()}
    assert keys["order_items"] == ("order_id", "line_no")
    assert keys["inventory_snapshots"] == ("snapshot_date", "warehouse_id", "sku_id")
    assert keys["exceptions"] == ("order_id", "type")
    assert keys["orders"] == ("order_id",)
    assert keys["skus"] == ("sku_id",)
    assert keys["tracking"] == ("order_id",)


def test_foreign_keys_become_relationships_with_cardinality(suggested: dict[str, Any]) -> None:
    found = links(suggested)
    assert found[("orders", "client_id")] == ("Client", "n:1")
    assert found[("skus", "product_id")] == ("Product", "n:1")
    assert found[("receipts", "inbound_id")] == ("Inbound", "1:1")
    assert found[("tracking", "order_id")] == ("Order", "1:1")
    assert found[("order_items", "order_id")] == ("Order", "n:1")
    assert found[("orders", "ship_from_warehouse")] == ("Warehouse", "n:1")
    assert found[("inventory_snapshots", "sku_id")] == ("Sku", "n:1")
    assert all(r["containment"] == 1.0 for r in suggested["relationships"])


def test_every_relationship_of_the_sample_ontology_is_found(suggested: dict[str, Any]) -> None:
    expected = {
        ("Sku", "Product"),
        ("Sku", "Supplier"),
        ("Inbound", "Sku"),
        ("Inbound", "Warehouse"),
        ("Receipt", "Inbound"),
        ("Receipt", "Location"),
        ("OrderItem", "Order"),
        ("OrderItem", "Sku"),
        ("Order", "Warehouse"),
        ("Tracking", "Order"),
        ("InventorySnapshot", "Sku"),
        ("Product", "Client"),
    }
    pairs = {(r["source"], r["target"]) for r in suggested["relationships"]}
    assert expected <= pairs


def test_a_column_pointing_at_several_tables_is_reported_not_linked(
    suggested: dict[str, Any],
) -> None:
    assert ("events", "entity_id") not in links(suggested)
    spread = [u for u in suggested["report"]["unlinked"] if u["column"] == "entity_id"]
    assert spread[0]["kind"] == "polymorphic"
    assert {t["table"] for t in spread[0]["targets"]} >= {"inbounds", "orders"}


def test_classes_are_valid_and_map_link_columns_to_relationships(
    suggested: dict[str, Any],
) -> None:
    classes = {c["id"]: ClassDef.from_api(c) for c in suggested["classes"]}
    order = classes["Order"]
    assert order.property("client_id") is None
    relationship = order.relationship("client")
    assert relationship is not None
    assert (relationship.target, relationship.cardinality) == ("Client", "n:1")
    line = classes["OrderItem"]
    assert line.key == ("order_id", "line_no")
    assert line.property("order_id") is not None  # in the key, so kept as well
    assert suggested["mappings"]["orders"]["columns"]["client_id"] == {"relationship": "client"}
    assert suggested["mappings"]["order_items"]["columns"]["order_id"] == {
        "property": "order_id",
        "relationship": "order",
    }
