"""The 3PL sample through OMS over HTTP: all fifteen tables, every row, then a what-if branch."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests import sample_data
from tests.e2e.conftest import Stack, wait_for
from tests.threepl import TABLES, rows

pytestmark = pytest.mark.e2e
DATA = sample_data.THREE_PL
DB = "threepl"


@pytest.fixture
def oms(stack: Stack) -> Iterator[httpx.Client]:
    process = stack.spice("serve", "oms")
    wait_for(f"{stack.url('oms')}/health")
    with httpx.Client(base_url=stack.url("oms"), timeout=120) as client:
        yield client
    stack.stop(process)


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
