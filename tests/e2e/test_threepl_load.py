"""The 3PL sample through OMS over HTTP: all fifteen tables, every row, then a what-if branch."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import sample_data
from tests.e2e.conftest import Stack, wait_for

pytestmark = pytest.mark.e2e
DATA = sample_data.THREE_PL
DB = "threepl"


def prop(name: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def rel(predicate: str, target: str) -> dict[str, Any]:
    return {"predicate": predicate, "target": target, "cardinality": "n:1"}


STATUSES = {"values": ["LABEL_CREATED", "IN_TRANSIT", "DELIVERED", "EXCEPTION"]}
# class, csv file, key, properties, {csv column: relationship predicate}
TABLES: list[tuple[dict[str, Any], str, dict[str, str]]] = [
    (
        {
            "id": "Warehouse",
            "label": {"en": "Warehouse", "ko": "창고"},
            "key": ["warehouse_id"],
            "properties": [
                prop("warehouse_id", required=True),
                prop("name"),
                prop("country"),
                prop("city"),
            ],
        },
        "warehouses",
        {},
    ),
    (
        {
            "id": "Client",
            "label": {"en": "Client", "ko": "고객사"},
            "key": ["client_id"],
            "properties": [prop("client_id", required=True), prop("brand_name"), prop("vertical")],
        },
        "clients",
        {},
    ),
    (
        {
            "id": "Supplier",
            "label": "Supplier",
            "key": ["supplier_id"],
            "properties": [prop("supplier_id", required=True), prop("name"), prop("country")],
        },
        "suppliers",
        {},
    ),
    (
        {
            "id": "Product",
            "label": {"en": "Product", "ja": "商品"},
            "key": ["product_id"],
            "properties": [
                prop("product_id", required=True),
                prop("name"),
                prop("category"),
                prop("hs_code"),
                prop("unit_cost", "decimal"),
                prop("unit_price", "decimal"),
                prop("weight_g", "integer"),
            ],
            "relationships": [rel("client", "Client")],
        },
        "products",
        {"client_id": "client"},
    ),
    (
        {
            "id": "Sku",
            "label": "SKU",
            "key": ["sku_id"],
            "properties": [
                prop("sku_id", required=True),
                prop("color"),
                prop("size"),
                prop("barcode"),
            ],
            "relationships": [rel("product", "Product"), rel("supplier", "Supplier")],
        },
        "skus",
        {"product_id": "product", "supplier_id": "supplier"},
    ),
    (
        {
            "id": "Order",
            "label": {"en": "Order", "ko": "주문"},
            "key": ["order_id"],
            "properties": [
                prop("order_id", required=True),
                prop("order_datetime", "datetime"),
                prop("ship_to_country"),
                prop("currency"),
                prop("service_level"),
                prop("payment_status"),
            ],
            "relationships": [rel("client", "Client"), rel("ship_from", "Warehouse")],
        },
        "orders",
        {"client_id": "client", "ship_from_warehouse": "ship_from"},
    ),
    (
        {
            "id": "OrderItem",
            "label": "Order line",
            "key": ["order_id", "line_no"],
            "properties": [
                prop("order_id", required=True),
                prop("line_no", "integer", required=True),
                prop("qty", "integer"),
                prop("unit_price", "decimal"),
            ],
            "relationships": [rel("order", "Order"), rel("sku", "Sku")],
        },
        "order_items",
        {"sku_id": "sku"},
    ),
    (
        {
            "id": "Location",
            "label": {"en": "Location", "ko": "로케이션"},
            "key": ["location_id"],
            "properties": [prop("location_id", required=True), prop("type")],
            "relationships": [rel("warehouse", "Warehouse")],
        },
        "locations",
        {"warehouse_id": "warehouse"},
    ),
    (
        {
            "id": "Inbound",
            "label": {"en": "Inbound", "ko": "입고 예정"},
            "key": ["inbound_id"],
            "properties": [
                prop("inbound_id", required=True),
                prop("eta_date", "date"),
                prop("arrival_date", "date"),
                prop("qty_expected", "integer"),
                prop("qty_received", "integer"),
                prop("cost_per_unit", "decimal"),
            ],
            "relationships": [
                rel("sku", "Sku"),
                rel("supplier", "Supplier"),
                rel("warehouse", "Warehouse"),
            ],
        },
        "inbounds",
        {"sku_id": "sku", "supplier_id": "supplier", "warehouse_id": "warehouse"},
    ),
    (
        {
            "id": "Receipt",
            "label": "Receipt",
            "key": ["receipt_id"],
            "properties": [prop("receipt_id", required=True), prop("qty", "integer")],
            "relationships": [
                rel("inbound", "Inbound"),
                rel("sku", "Sku"),
                rel("location", "Location"),
            ],
        },
        "receipts",
        {"inbound_id": "inbound", "sku_id": "sku", "location_id": "location"},
    ),
    (
        {
            "id": "Tracking",
            "label": {"en": "Tracking", "ja": "追跡"},
            "key": ["order_id"],
            "properties": [
                prop("order_id", required=True),
                prop("carrier"),
                prop("tracking_number"),
                prop("ship_datetime", "datetime"),
                prop("est_delivery_date", "date"),
                prop(
                    "status",
                    "enum",
                    constraints={
                        "values": ["LABEL_CREATED", "IN_TRANSIT", "DELIVERED", "EXCEPTION"]
                    },
                ),
                prop("weight_g", "integer"),
            ],
            "relationships": [rel("order", "Order")],
        },
        "tracking",
        {},
    ),
    (
        {
            "id": "Return",
            "label": {"en": "Return", "ko": "반품"},
            "key": ["order_id"],
            "properties": [
                prop("order_id", required=True),
                prop("reason"),
                prop("created_at", "datetime"),
            ],
            "relationships": [rel("order", "Order")],
        },
        "returns",
        {},
    ),
    (
        {
            "id": "OrderException",
            "label": "Exception",
            "key": ["order_id", "type"],
            "properties": [
                prop("order_id", required=True),
                prop("type", required=True),
                prop("description"),
                prop("severity"),
                prop("created_at", "datetime"),
            ],
            "relationships": [rel("order", "Order")],
        },
        "exceptions",
        {},
    ),
    (
        {
            "id": "InventorySnapshot",
            "label": {"en": "Inventory snapshot", "ko": "재고 실사"},
            "key": ["snapshot_date", "warehouse_id", "sku_id"],
            "properties": [
                prop("snapshot_date", "date", required=True),
                prop("warehouse_id", required=True),
                prop("sku_id", required=True),
                prop("qty_counted", "integer"),
            ],
            "relationships": [rel("warehouse", "Warehouse"), rel("sku", "Sku")],
        },
        "inventory_snapshots",
        {},
    ),
    (
        {
            "id": "Event",
            "label": {"en": "Event", "ko": "이벤트"},
            "key": ["event_id"],
            "properties": [
                prop("event_id", required=True),
                prop("event_type"),
                prop("entity_id"),
                prop("payload"),
                prop("created_at", "datetime"),
            ],
            "relationships": [rel("cause", "Event")],
        },
        "events",
        {"cause_event_id": "cause"},
    ),
]
# Tables whose own key columns also point at another table.
ALSO_LINKED = {
    "order_items": {"order_id": "order"},
    "tracking": {"order_id": "order"},
    "returns": {"order_id": "order"},
    "exceptions": {"order_id": "order"},
    "inventory_snapshots": {"warehouse_id": "warehouse", "sku_id": "sku"},
}


def rows(name: str, links: dict[str, str]) -> list[dict[str, Any]]:
    with (DATA / f"{name}.csv").open(encoding="utf-8") as handle:
        loaded = []
        for row in csv.DictReader(handle):
            # A blank cell is an absent value.
            item: dict[str, Any] = {links.get(c, c): v for c, v in row.items() if v != ""}
            for column, predicate in ALSO_LINKED.get(name, {}).items():
                item[predicate] = row[column]
            loaded.append(item)
        return loaded


@pytest.fixture
def oms(stack: Stack) -> Iterator[httpx.Client]:
    process = stack.spice("serve", "oms")
    wait_for(f"{stack.url('oms')}/health")
    with httpx.Client(base_url=stack.url("oms"), timeout=120) as client:
        yield client
    stack.stop(process)


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared 3PL sample is not next to the repo")
def test_the_3pl_tables_load_with_every_row_and_a_what_if_merges_back(
    oms: httpx.Client,
) -> None:
    assert oms.post("/api/v1/database/create", json={"name": DB}).status_code == 202
    for definition, table, links in TABLES:
        created = oms.post(f"/api/v1/database/{DB}/ontology", json=definition)
        assert created.status_code == 202, created.text
        loaded = rows(table, links)
        # One request holds at most 10,000 rows.
        for start in range(0, len(loaded), 10_000):
            bulk = oms.post(
                f"/api/v1/instances/{DB}/async/{definition['id']}/bulk-create",
                json={"instances": loaded[start : start + 10_000]},
            )
            assert bulk.status_code == 202, bulk.text[:2000]
        count = oms.get(f"/api/v1/instance/{DB}/class/{definition['id']}/count").json()
        assert count["data"]["count"] == len(loaded), table

    line = oms.get(f"/api/v1/instance/{DB}/instance/ORD-0000001|1?class_id=OrderItem")
    assert line.status_code == 200, line.text
    assert line.json()["data"]["data"]["sku"] == "SKU-000106"

    # What if the Incheon hub moved? Change it on a branch, read the diff, merge it back.
    oms.post(f"/api/v1/branch/{DB}/create", json={"branch_name": "what-if/incheon"})
    moved = oms.put(
        f"/api/v1/instances/{DB}/async/Warehouse/WH-ICN-1/update?expected_seq=1"
        "&branch=what-if/incheon",
        json={"data": {"city": "인천 송도"}},
    )
    assert moved.status_code == 202, moved.text
    diff = oms.get(f"/api/v1/version/{DB}/diff?from_ref=main&to_ref=what-if/incheon").json()
    assert diff["data"]["summary"] == {"added": 0, "modified": 1, "deleted": 0}
    merged = oms.post(
        f"/api/v1/version/{DB}/merge",
        json={"source_branch": "what-if/incheon", "target_branch": "main"},
    )
    assert merged.status_code == 200, merged.text
    hub = oms.get(f"/api/v1/instance/{DB}/instance/WH-ICN-1?class_id=Warehouse").json()
    assert hub["data"]["data"]["city"] == "인천 송도"
