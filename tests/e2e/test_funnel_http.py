"""Real Funnel, BFF and OMS processes: a file analysed over HTTP, BFF's suggest-schema-from-data
through Funnel and compared with the database's classes, and generated bodies that never get
a server error from Funnel."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.e2e.conftest import Stack, stack_in, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
API = "/api/v1/funnel"
DB = "suggested"
EXAMPLES = int(os.environ.get("SPICE_FUZZ_EXAMPLES", "20"))
COLUMNS = ["고객 ID", "이름", "가입일", "포인트"]
ROWS = [
    ["C-001", "김민수", "2024-01-02", 120],
    ["C-002", "이영희", "2024-02-13", 80],
    ["C-003", "박지훈", "2024-03-24", 15],
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_in(tmp_path_factory.mktemp("funnel")) as created:
        created.spice("serve", "oms")
        created.spice("serve", "funnel")
        wait_for(f"{created.url('oms')}/health")
        wait_for(f"{created.url('funnel')}/health")
        created.spice("serve", "bff")
        wait_for(f"{created.url('bff')}/health")
        yield created
        for process in created.processes:
            assert "Traceback" not in created.text_of(process), created.text_of(process)[-5000:]


@pytest.fixture(scope="module")
def funnel(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url("funnel"), timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def bff(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url("bff"), timeout=60) as client:
        assert client.post("/api/v1/databases", json={"name": DB}).status_code == 202
        yield client


def data_of(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_file_is_analysed_over_http(funnel: httpx.Client) -> None:
    content = "주문번호;수량;주문일\nO-1;3;2024-05-01\nO-2;1;2024-05-02\n".encode("cp949")
    response = funnel.post(
        f"{API}/analyze/file",
        files={"file": ("주문.csv", content, "text/csv")},
        data={"sample_rows": "10"},
    )
    [table] = data_of(response)["tables"]
    assert (table["report"]["encoding"], table["report"]["delimiter"]) == ("cp949", ";")
    types = {c["column_name"]: c["inferred_type"]["type"] for c in table["profile"]["columns"]}
    assert types == {"주문번호": "string", "수량": "integer", "주문일": "date"}
    assert response.headers["x-request-id"]


def test_bff_suggests_a_labelled_class_and_compares_it_with_the_database(
    bff: httpx.Client,
) -> None:
    route = f"/api/v1/database/{DB}/suggest-schema-from-data"
    body = {"columns": COLUMNS, "data": ROWS, "class_name": "Member"}
    first = data_of(bff.post(route, json=body))
    cls = first["class"]
    assert cls["id"] == "Member"
    assert [p["label"] for p in cls["properties"]] == COLUMNS
    assert {p["label"]: p["type"] for p in cls["properties"]}["가입일"] == "date"
    assert (first["exists"], first["existing_class"], first["differences"]) == (False, None, None)

    created = bff.post(f"/api/v1/database/{DB}/ontology", json=cls)
    assert created.status_code == 202, created.text
    same = data_of(bff.post(route, json=body))
    assert (same["exists"], same["existing_class"]) == (True, "Member")
    assert same["differences"] == {
        "added": [],
        "missing": [],
        "type_changes": [],
        "matched_by_label": [],
        "key": None,
    }

    changed_rows = [[*row[:3], f"{row[3]}.5", "Seoul"] for row in ROWS]
    changed = {"columns": [*COLUMNS, "도시"], "data": changed_rows, "class_name": "Member"}
    suggested = data_of(bff.post(route, json=changed))
    differences = suggested["differences"]
    assert differences["added"] == [suggested["mapping"]["도시"]]
    [change] = differences["type_changes"]
    assert (change["suggested_type"], change["existing_type"]) == ("decimal", "integer")


def test_a_class_named_by_an_existing_label_is_compared_with_that_class(
    bff: httpx.Client,
) -> None:
    customer = {
        "id": "Customer",
        "label": {"en": "Customer", "ko": "고객"},
        "properties": [
            {"name": "customer_code", "type": "string", "label": {"ko": "고객 ID"}},
            {"name": "name", "type": "string", "label": {"ko": "이름"}},
        ],
    }
    assert bff.post(f"/api/v1/database/{DB}/ontology", json=customer).status_code == 202
    body = {"columns": ["고객 ID", "이름"], "data": [["C-1", "Kim"], ["C-2", "Lee"]]}
    found = data_of(
        bff.post(
            f"/api/v1/database/{DB}/suggest-schema-from-data", json={**body, "class_name": "고객"}
        )
    )
    assert (found["exists"], found["existing_class"]) == (False, "Customer")
    matched = {m["existing"] for m in found["differences"]["matched_by_label"]}
    assert matched == {"customer_code", "name"}
    assert found["differences"]["added"] == []


def test_funnel_errors_reach_the_bff_client_with_their_status(bff: httpx.Client) -> None:
    route = f"/api/v1/database/{DB}/suggest-schema-from-data"
    ragged = bff.post(route, json={"columns": ["a", "b"], "data": [["x", 1], ["y"]]})
    assert ragged.status_code == 400, ragged.text
    assert ragged.json()["errors"][0]["field"] == "data[1]"
    missing = bff.post(
        "/api/v1/database/no_such_db/suggest-schema-from-data",
        json={"columns": ["a"], "data": [[1]]},
    )
    assert missing.status_code == 404, missing.text


def test_bff_answers_503_when_funnel_is_down(tmp_path_factory: pytest.TempPathFactory) -> None:
    with stack_in(tmp_path_factory.mktemp("no_funnel")) as alone:
        alone.spice("serve", "oms")
        wait_for(f"{alone.url('oms')}/health")
        alone.spice("serve", "bff")
        # Funnel is not a health dependency: BFF is healthy without it.
        wait_for(f"{alone.url('bff')}/health")
        with httpx.Client(base_url=alone.url("bff"), timeout=60) as client:
            assert client.post("/api/v1/databases", json={"name": DB}).status_code == 202
            response = client.post(
                f"/api/v1/database/{DB}/suggest-schema-from-data",
                json={"columns": ["a"], "data": [[1]]},
            )
        assert response.status_code == 503, response.text
        error = response.json()["errors"][0]
        assert error["code"] == "dependency_unavailable"
        assert "funnel" in error["message"]


# -- generated bodies ---------------------------------------------------------------

CELLS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.sampled_from(["2024-01-02", "+82 10-2345-6789", "$1,200.50", "N/A", "007", "true"]),
    st.lists(st.integers(), max_size=3),
)


@st.composite
def tables(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly well-formed tables; now and then a ragged row, repeated or odd column names,
    options out of range."""
    columns = draw(st.lists(st.text(max_size=8), min_size=0, max_size=6))
    width = len(columns)
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=width, max_size=width)
            | st.lists(CELLS, min_size=0, max_size=width + 2),
            max_size=25,
        )
    )
    body: dict[str, Any] = {"columns": columns, "data": rows}
    if draw(st.booleans()):
        body["include_complex_types"] = draw(st.booleans())
    if draw(st.booleans()):
        body["sample_rows"] = draw(st.integers(min_value=-2, max_value=30))
    if draw(st.booleans()):
        body["phone_region"] = draw(st.sampled_from(["KR", "us", "ZZ", "x", "001"]))
    return body


def test_generated_tables_never_get_a_server_error(funnel: httpx.Client) -> None:
    @settings(
        max_examples=EXAMPLES * 3,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(body=tables())
    def run(body: dict[str, Any]) -> None:
        response = funnel.post(f"{API}/analyze", json=body)
        assert response.status_code < 500, (body, response.text)
        answer = response.json()
        assert answer["status"] == ("success" if response.status_code == 200 else "error")
        if response.status_code == 200:
            profiled = answer["data"]
            assert [c["column_name"] for c in profiled["columns"]] == body["columns"]
            assert profiled["row_count"] == len(body["data"])
            assert all(
                0 <= c["inferred_type"]["confidence"] <= 1
                and not math.isnan(c["inferred_type"]["confidence"])
                for c in profiled["columns"]
            )

    run()


def test_funnel_answers_generated_requests_as_its_openapi_says(stack: Stack) -> None:
    """schemathesis on the JSON routes: analyze, suggest-schema and structure analysis."""
    schema: Any = schemathesis.openapi.from_url(f"{stack.url('funnel')}/openapi.json")
    wanted = {f"{API}/analyze", f"{API}/suggest-schema", f"{API}/structure/analyze"}
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path in wanted
    ]
    assert len(operations) == len(wanted)
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    failures: list[str] = []
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(checks=checks)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
