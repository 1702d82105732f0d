"""The 3PL sample's classes and rows, shared by the e2e load test and bench/graph.py: fifteen
classes with keys (composite ones included) and n:1 relationships, and each CSV's rows as
instance data for OMS."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tests.sample_data import THREE_PL


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
                prop("status", "enum", constraints=STATUSES),
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


def rows(name: str, links: dict[str, str], folder: Path = THREE_PL) -> list[dict[str, Any]]:
    """The rows of one table as instance data: blank cells left out, link columns renamed to
    their predicates (a key column that is also a link gets both)."""
    with (folder / f"{name}.csv").open(encoding="utf-8") as handle:
        loaded = []
        for row in csv.DictReader(handle):
            # A blank cell is an absent value.
            item: dict[str, Any] = {links.get(c, c): v for c, v in row.items() if v != ""}
            for column, predicate in ALSO_LINKED.get(name, {}).items():
                item[predicate] = row[column]
            loaded.append(item)
        return loaded
