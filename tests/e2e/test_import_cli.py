"""`spice import` as real processes: the whole 3PL folder as an ontology plus every row (on
SQLite and PostgreSQL), and an import killed with SIGKILL mid-way, then run again."""

from __future__ import annotations

import csv
import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.versioned.store import SqlVersionedStore
from spice_harvester.application.instance_links import iter_instances
from spice_harvester.application.ontology import ClassWriter, load_schema
from spice_harvester.domain.ontology.schema import SchemaLimits
from spice_harvester.domain.versioning.documents import DocRef
from tests.e2e.conftest import Stack
from tests.integration.sql_engines import POOL
from tests.sample_data import three_pl

pytestmark = pytest.mark.e2e
FOLDER = three_pl()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlVersionedStore]:
    database = SqlDatabase(database_url, POOL)
    database.migrate()
    yield SqlVersionedStore(database)
    database.close()


def csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def test_the_3pl_folder_imports_as_classes_with_keys_and_links_and_every_row(
    stack: Stack, database_url: str, store: SqlVersionedStore
) -> None:
    done = stack.run(
        "import",
        "folder",
        "--database",
        "threepl",
        str(FOLDER),
        "--json",
        timeout=600,
        DATABASE_URL=database_url,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout)
    assert report["database_created"] is True
    schema = load_schema(store, "threepl", "main", SchemaLimits())
    keys = {class_id: schema.resolved(class_id).key for class_id in schema}
    assert keys["OrderItem"] == ("order_id", "line_no")
    assert keys["InventorySnapshot"] == ("snapshot_date", "warehouse_id", "sku_id")
    assert keys["Order"] == ("order_id",)
    links = {
        (class_id, rel.predicate): (rel.target, rel.cardinality)
        for class_id in schema
        for rel in schema.resolved(class_id).relationships
    }
    assert links[("Order", "client")] == ("Client", "n:1")
    assert links[("OrderItem", "order")] == ("Order", "n:1")
    assert links[("OrderItem", "sku")] == ("Sku", "n:1")
    assert links[("Receipt", "inbound")] == ("Inbound", "1:1")
    tables = report["plan"]["tables"]
    assert len(tables) == len(list(FOLDER.glob("*.csv")))
    for table in tables:
        expected = csv_rows(FOLDER / f"{table['table']}.csv")
        counted = store.count("threepl", "main", "instance", table["class_id"])
        assert counted == expected, table
        assert report["tables"][table["table"]]["rows_written"] == expected
    line = store.get("threepl", "main", DocRef.of_instance("OrderItem", "ORD-0000001|1"))
    assert line is not None
    assert line.data is not None
    assert line.data["sku"] == "SKU-000106"
    assert line.data["order"] == "ORD-0000001"

    again = stack.run(
        "import",
        "folder",
        "--database",
        "threepl",
        str(FOLDER),
        timeout=600,
        DATABASE_URL=database_url,
    )
    assert again.returncode == 0, again.stderr
    assert store.count("threepl", "main", "instance", "OrderItem") == csv_rows(
        FOLDER / "order_items.csv"
    )


def test_an_import_killed_mid_way_resumes_and_writes_every_row_once(
    stack: Stack, tmp_path: Path
) -> None:
    url = f"sqlite:///{stack.root / 'data' / 'spice.sqlite3'}"
    database = SqlDatabase(url, POOL)
    database.migrate()
    store = SqlVersionedStore(database)
    store.create_database("visits")
    visit = {
        "id": "Visit",
        "label": "Visit",
        "properties": [
            {"name": "n", "type": "integer", "required": True},
            {"name": "day", "type": "date"},
        ],
    }
    # No key: ids are generated, so a row written twice would show as a second instance.
    ClassWriter(store, SchemaLimits()).create("visits", "main", visit, "test", "class-visit")
    rows = 20_000
    source = tmp_path / "visits.csv"
    source.write_text("n,day\n" + "".join(f"{i},{1 + i % 28:02d}/04/2024\n" for i in range(rows)))
    arguments = (
        "import",
        "csv",
        "-d",
        "visits",
        "-f",
        str(source),
        "-t",
        "Visit",
        "--chunk-size",
        "250",
    )
    process = stack.spice(*arguments, DATABASE_URL=url)
    deadline = time.monotonic() + 120
    while store.count("visits", "main", "instance", "Visit") < 1000:
        assert process.poll() is None, stack.text_of(process)
        assert time.monotonic() < deadline, "the import wrote nothing in time"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    stopped = store.count("visits", "main", "instance", "Visit")
    assert 0 < stopped < rows

    resumed = stack.run(*arguments, "--json", timeout=600, DATABASE_URL=url)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    report = json.loads(resumed.stdout)
    assert report["status"] == "COMPLETED"
    assert report["chunks_resumed"] * 250 == stopped
    numbers = Counter(
        state.data["n"] for state in iter_instances(store, "visits", "main", "Visit") if state.data
    )
    assert len(numbers) == rows
    assert set(numbers.values()) == {1}
    database.close()
