"""Graph queries on the 3PL sample through BFF, against the same traversal done with plain OMS
reads, same run.

Run: .venv/bin/python bench/graph.py [--runs 50] [--start 20] [--quick]

Real `spice serve oms` (SQLite, in a temporary folder) and `spice serve bff` processes (rate
limiting and API keys off, as a development install). The 3PL sample (found as the tests find
it: SPICE_SAMPLE_DATA, or shared/data/3pl above the checkout) is loaded into OMS with the
classes of `tests/threepl.py`: all fifteen tables, about 35,000 instances (`--quick`: the seven
the traversals use, about 10,000, and 10 runs).

Each traversal is timed three ways, interleaved in every run, one client, keep-alive:
- bff: `POST /api/v1/graph-query/{db}` on BFF, classes named by label;
- oms: `POST /api/v1/graph/{db}` on OMS directly (what BFF adds is the difference);
- baseline: the same traversal by a client of OMS's plain reads: the start page
  (`GET .../class/{class}/instances`), then one `GET .../instance/{id}?class_id=` per distinct
  target of an out hop, and for an in hop every page of the holding class (1,000 a page),
  matched on the client.
Traversals:
1. order item -> order -> client (two out hops), `--start` order items;
2. order item -> SKU -> product -> client (three out hops), `--start` order items;
3. client <- order <- order item -> SKU (in, in, out), one client.
Both sides' node sets are compared once before timing. Figures are p50 and p99 over --runs
samples, with min and max; ratios are bff/baseline and bff/oms of the p50s and p99s.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

# The 3PL classes live with the tests (tests/threepl.py), which import as a package from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.processes import development_env, free_port, wait_healthy
from tests.sample_data import three_pl
from tests.threepl import TABLES, rows

DB = "bench_graph"
USED = {"clients", "warehouses", "suppliers", "products", "skus", "orders", "order_items"}
PAGE = 1000
Node = tuple[str, str]
Doc = dict[str, Any]


@dataclass(frozen=True)
class HopSpec:
    predicate: str
    target: str  # class id
    direction: str  # "out" or "in"


@dataclass(frozen=True)
class Traversal:
    name: str
    start: str  # class id
    start_label: str  # what BFF is sent
    hops: tuple[HopSpec, ...]
    start_ids: tuple[str, ...] | None = None  # None: the first page of the class

    def body(self, limit: int, label: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "start_class": self.start_label if label else self.start,
            "hops": [
                {"predicate": h.predicate, "target_class": h.target, "direction": h.direction}
                for h in self.hops
            ],
            "limit": limit,
            "max_nodes": 10_000,
            "max_edges": 50_000,
        }
        if self.start_ids is not None:
            body["filters"] = [{"field": "id", "operator": "in", "value": list(self.start_ids)}]
        return body


TRAVERSALS = (
    Traversal(
        "order item -> order -> client",
        "OrderItem",
        "Order line",
        (HopSpec("order", "Order", "out"), HopSpec("client", "Client", "out")),
    ),
    Traversal(
        "order item -> SKU -> product -> client",
        "OrderItem",
        "Order line",
        (
            HopSpec("sku", "Sku", "out"),
            HopSpec("product", "Product", "out"),
            HopSpec("client", "Client", "out"),
        ),
    ),
    Traversal(
        "client <- order <- order item -> SKU",
        "Client",
        "고객사",
        (
            HopSpec("client", "Order", "in"),
            HopSpec("order", "OrderItem", "in"),
            HopSpec("sku", "Sku", "out"),
        ),
        start_ids=("CL-001",),
    ),
)


# -- processes ------------------------------------------------------------------------------


@contextmanager
def service(name: str, root: Path, env: dict[str, str]) -> Iterator[str]:
    """`spice serve <name>` on a free port; yields its base URL; stops it (SIGTERM)."""
    port = free_port()
    log = root / f"{name}.out"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "spice_harvester", "serve", name],
            cwd=root,
            env={**env, f"{name.upper()}_PORT": str(port), f"{name.upper()}_HOST": "127.0.0.1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{url}/health", process, log)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def check(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:2000]}")
    return response.json()["data"]


def load(oms: httpx.Client, folder: Path, everything: bool) -> int:
    """The sample's classes and rows, written to OMS; the number of instances."""
    check(oms.post("/api/v1/database/create", json={"name": DB}), 202)
    total = 0
    for definition, table, links in TABLES:
        if not everything and table not in USED:
            continue
        check(oms.post(f"/api/v1/database/{DB}/ontology", json=definition), 202)
        loaded = rows(table, links, folder)
        path = f"/api/v1/instances/{DB}/async/{definition['id']}/bulk-create"
        for start in range(0, len(loaded), 10_000):
            check(oms.post(path, json={"instances": loaded[start : start + 10_000]}), 202)
        total += len(loaded)
    return total


# -- the three ways ---------------------------------------------------------------------------


def graph_nodes(client: httpx.Client, path: str, body: dict[str, Any]) -> set[Node]:
    data = check(client.post(path, json=body))
    if data["warnings"]:
        raise RuntimeError(f"a cap was hit: {data['warnings']}")
    return {(n["class_id"], n["id"]) for n in data["nodes"]}


def link_ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def baseline_nodes(oms: httpx.Client, traversal: Traversal, limit: int) -> set[Node]:
    """The traversal as a client of OMS's plain reads does it."""
    reads = f"/api/v1/instance/{DB}"
    if traversal.start_ids is not None:
        frontier = {
            (traversal.start, i): check(
                oms.get(f"{reads}/instance/{i}", params={"class_id": traversal.start})
            )["data"]
            for i in traversal.start_ids
        }
    else:
        page = check(oms.get(f"{reads}/class/{traversal.start}/instances", params={"limit": limit}))
        frontier = {(traversal.start, i["id"]): i["data"] for i in page["instances"]}
    seen: set[Node] = set(frontier)
    for hop in traversal.hops:
        reached: dict[Node, Doc] = {}
        if hop.direction == "out":
            wanted = {t for doc in frontier.values() for t in link_ids(doc.get(hop.predicate))}
            for target in sorted(wanted):
                answer = oms.get(f"{reads}/instance/{target}", params={"class_id": hop.target})
                data = check(answer)["data"] if answer.status_code == 200 else None
                if data is not None:
                    reached[(hop.target, target)] = data
        else:
            ids = {instance_id for _, instance_id in frontier}
            offset = 0
            while True:
                page = check(
                    oms.get(
                        f"{reads}/class/{hop.target}/instances",
                        params={"limit": PAGE, "offset": offset},
                    )
                )
                for item in page["instances"]:
                    if ids & set(link_ids(item["data"].get(hop.predicate))):
                        reached[(hop.target, item["id"])] = item["data"]
                offset += PAGE
                if offset >= page["total"]:
                    break
        seen |= set(reached)
        frontier = reached
    return seen


# -- figures --------------------------------------------------------------------------------


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def as_ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def report(name: str, samples: dict[str, list[float]]) -> None:
    print(f"  {name}")
    for who in ("bff", "oms", "baseline"):
        values = samples[who]
        print(
            f"    {who:<8}: p50 {as_ms(percentile(values, 0.5)):>10}  "
            f"p99 {as_ms(percentile(values, 0.99)):>10}  "
            f"(min {as_ms(min(values))}, max {as_ms(max(values))}, n={len(values)})"
        )
    for fraction, label in ((0.5, "p50"), (0.99, "p99")):
        bff = percentile(samples["bff"], fraction)
        baseline = percentile(samples["baseline"], fraction)
        oms = percentile(samples["oms"], fraction)
        print(
            f"    {label} ratio bff/baseline {bff / baseline:.3f}x, bff/oms {bff / oms:.3f}x",
            flush=True,
        )


def bench(runs: int, start: int, quick: bool) -> None:
    folder = three_pl()
    if not folder.is_dir():
        raise SystemExit(f"no 3PL sample at {folder}: set SPICE_SAMPLE_DATA")
    with tempfile.TemporaryDirectory(prefix="spice_bench_graph_") as scratch:
        root = Path(scratch)
        env = development_env(root)
        with service("oms", root, env) as oms_url:
            env["OMS_BASE_URL"] = oms_url
            with (
                service("bff", root, env) as bff_url,
                httpx.Client(base_url=oms_url, timeout=600) as oms,
                httpx.Client(base_url=bff_url, timeout=600) as bff,
            ):
                began = time.perf_counter()
                count = load(oms, folder, everything=not quick)
                took = time.perf_counter() - began
                print(f"loaded {count:,} instances in {took:.1f} s ({count / took:,.0f}/s)")
                results = {}
                for traversal in TRAVERSALS:
                    results[traversal.name] = measure(traversal, runs, start, bff, oms)
    print(f"== results: graph query against plain OMS reads, {runs} runs, one client ==")
    for name, samples in results.items():
        report(name, samples)


def measure(
    traversal: Traversal, runs: int, start: int, bff: httpx.Client, oms: httpx.Client
) -> dict[str, list[float]]:
    by_label = traversal.body(start, label=True)
    by_id = traversal.body(start, label=False)
    ways: dict[str, Callable[[], set[Node]]] = {
        "bff": lambda: graph_nodes(bff, f"/api/v1/graph-query/{DB}", by_label),
        "oms": lambda: graph_nodes(oms, f"/api/v1/graph/{DB}", by_id),
        "baseline": lambda: baseline_nodes(oms, traversal, start),
    }
    answers = {who: way() for who, way in ways.items()}  # also warms every path
    if not answers["bff"] == answers["oms"] == answers["baseline"]:
        raise RuntimeError(f"{traversal.name}: the three ways disagree")
    print(f"{traversal.name}: {len(answers['bff'])} nodes", flush=True)
    samples: dict[str, list[float]] = {who: [] for who in ways}
    order = list(ways)
    for run in range(runs):
        for who in order[run % 3 :] + order[: run % 3]:
            samples[who].append(timed(ways[who]))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--start", type=int, default=20, help="start nodes of traversals 1, 2")
    parser.add_argument("--quick", action="store_true", help="seven tables, 10 runs")
    args = parser.parse_args()
    bench(10 if args.quick else args.runs, args.start, args.quick)


if __name__ == "__main__":
    main()
