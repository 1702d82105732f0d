"""BFF's hop: GET instance through BFF against the same GET on OMS directly, same run.

Run: .venv/bin/python bench/bff.py [--runs 5] [--quick] [--profile FILE]

Real `spice serve oms` and `spice serve bff` processes on one SQLite file in a temporary
folder (rate limiting off, API keys off, as a development install). One class, `--instances`
instances. Each run times `GET /api/v1/database/{db}/class/{label}/instance/{id}` on BFF and
`GET /api/v1/instance/{db}/instance/{id}?class_id=` on OMS, with 1 and with 50 concurrent
clients: asyncio tasks sharing one pooled `httpx2.AsyncClient` (one connection per client),
the same client code for both, the order of the two alternating between runs.

Figures: p50 and p99 latency and throughput, whose ratio is BFF/OMS (for throughput OMS/BFF,
so that above 1 always means BFF is slower); the issue's target is BFF's hop under 1.5x.
Also the CPU time the server processes spent per request (read from /proc, so it holds when
the machine is busy with other work and wall-clock times are not): the BFF path costs BFF's
CPU plus OMS's, the baseline OMS's alone.

`--profile FILE` runs BFF under cProfile and writes its stats to FILE (`python -m pstats`
reads it); figures from such a run are slower than real ones.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.processes import development_env, free_port, stop, wait_healthy

DB = "bench_bff"
CLASS_ID = "Customer"
LABEL = "고객"
TARGET = 1.5
CUSTOMER: dict[str, Any] = {
    "id": CLASS_ID,
    "label": {"en": "Customer", "ko": LABEL},
    "key": ["customer_id"],
    "properties": [
        {"name": "customer_id", "type": "string", "required": True, "label": "ID"},
        {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름"}},
        {"name": "email", "type": "email", "label": {"en": "Email", "ko": "이메일"}},
        {"name": "grade", "type": "integer", "label": {"en": "Grade", "ko": "등급"}},
        {"name": "joined", "type": "date", "label": {"en": "Joined", "ko": "가입일"}},
    ],
}
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS


@contextmanager
def service(name: str, root: Path, env: dict[str, str], profile: Path | None) -> Iterator[Server]:
    """`spice serve <name>` on a free port, until the block ends (then SIGTERM). Its output
    goes to <name>.out, whose last lines are shown when the block fails."""
    port = free_port()
    upper = name.upper()
    launcher = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    log = root / f"{name}.out"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, *launcher, "-m", "spice_harvester", "serve", name],
            cwd=root,
            env={**env, f"{upper}_PORT": str(port), f"{upper}_HOST": "127.0.0.1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{url}/health", process, log)
        yield Server(url, process.pid)
    except BaseException:
        lines = log.read_text(errors="replace").splitlines()[-40:]
        print(f"--- last lines from {name} ---", *lines, sep="\n", file=sys.stderr)
        raise
    finally:
        stop(process)


def check(response: httpx2.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")


def seed(oms: str, instances: int) -> list[str]:
    """The database, the class and its instances, written straight to OMS; their ids."""
    ids = [f"c{index:05d}" for index in range(instances)]
    rows = [
        {
            "customer_id": instance_id,
            "name": f"고객 {index}",
            "email": f"customer{index}@Example.com",
            "grade": index % 5,
            "joined": f"2025-{1 + index % 12:02d}-{1 + index % 28:02d}",
        }
        for index, instance_id in enumerate(ids)
    ]
    with httpx2.Client(base_url=oms, timeout=120) as client:
        check(client.post("/api/v1/database/create", json={"name": DB}), 202)
        check(client.post(f"/api/v1/database/{DB}/ontology", json=CUSTOMER), 202)
        path = f"/api/v1/instances/{DB}/async/{CLASS_ID}/bulk-create"
        check(client.post(path, json={"instances": rows}), 202)
    return ids


@dataclass
class Load:
    latencies: list[float]
    wall: float
    cpu: float  # seconds of server CPU (every server process on the path) per request

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass(frozen=True)
class Target:
    """Where one side answers GET instance, and the server processes on its path."""

    base: str
    path_of: Callable[[str], str]
    params: dict[str, str]
    servers: tuple[Server, ...]

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)


def targets(bff: Server, oms: Server) -> dict[str, Target]:
    return {
        "bff": Target(
            bff.url, lambda i: f"/api/v1/database/{DB}/class/{LABEL}/instance/{i}", {}, (bff, oms)
        ),
        "oms": Target(
            oms.url, lambda i: f"/api/v1/instance/{DB}/instance/{i}", {"class_id": CLASS_ID}, (oms,)
        ),
    }


async def drive(target: Target, ids: Sequence[str], requests: int, clients: int) -> Load:
    """`requests` GETs spread over `clients` tasks, each with a connection of its own."""
    # Idle connections are dropped before the servers' own 5 s keep-alive timeout could close
    # one under a request.
    limits = httpx2.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2
    )
    latencies: list[float] = []
    async with httpx2.AsyncClient(base_url=target.base, timeout=60, limits=limits) as client:
        # Open every connection before the clock starts.
        await asyncio.gather(*(client.get("/health") for _ in range(clients)))

        async def worker(first: int) -> None:
            for index in range(first, requests, clients):
                path = target.path_of(ids[index % len(ids)])
                began = time.perf_counter()
                response = await client.get(path, params=target.params)
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text}")

        cpu = target.cpu_seconds()
        began = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(clients)))
        wall = time.perf_counter() - began
        cpu = target.cpu_seconds() - cpu
    return Load(latencies, wall, cpu / requests)


def spread(samples: Sequence[float], fmt: Callable[[float], str]) -> str:
    return (
        f"median {fmt(statistics.median(samples)):>10} "
        f"(min {fmt(min(samples))}, max {fmt(max(samples))}, n={len(samples)})"
    )


def as_ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def as_rate(value: float) -> str:
    return f"{value:,.0f}/s"


Samples = dict[tuple[str, str, int], list[float]]
# name, format, whether a higher figure is better (its ratio is then taken OMS/BFF)
METRICS: list[tuple[str, Callable[[float], str], bool]] = [
    ("p50", as_ms, False),
    ("p99", as_ms, False),
    ("throughput", as_rate, True),
    ("server CPU per request", as_ms, False),
]


def measure(
    sides: dict[str, Target], ids: Sequence[str], runs: int, loads: Sequence[tuple[int, int]]
) -> Samples:
    samples: Samples = {}
    for side in sides.values():  # warm both alike: connections, caches, code paths
        asyncio.run(drive(side, ids, 200, 10))
    for run in range(1, runs + 1):
        order = ["bff", "oms"] if run % 2 else ["oms", "bff"]
        for clients, requests in loads:
            line = []
            for who in order:
                load = asyncio.run(drive(sides[who], ids, requests, clients))
                for metric, value in (
                    ("p50", load.percentile(0.50)),
                    ("p99", load.percentile(0.99)),
                    ("throughput", load.throughput),
                    ("server CPU per request", load.cpu),
                ):
                    samples.setdefault((who, metric, clients), []).append(value)
                line.append(
                    f"{who} {load.throughput:,.0f} req/s p50 {as_ms(load.percentile(0.5))} "
                    f"cpu {as_ms(load.cpu)}"
                )
            print(f"run {run}/{runs} x{clients}: {', '.join(line)}", flush=True)
    return samples


def report(samples: Samples, loads: Sequence[tuple[int, int]]) -> list[tuple[str, float]]:
    """Prints the table; answers the latency and throughput ratios (above 1: BFF slower)."""
    ratios: list[tuple[str, float]] = []
    print("== results: GET instance, BFF (labels) against OMS (ids) ==")
    for clients, requests in loads:
        for metric, fmt, higher_is_better in METRICS:
            bff = samples[("bff", metric, clients)]
            oms = samples[("oms", metric, clients)]
            ratio = statistics.median(bff) / statistics.median(oms)
            ratio = 1 / ratio if higher_is_better else ratio
            name = f"{clients} client(s), {requests} requests/run, {metric}"
            if metric != "server CPU per request":
                ratios.append((name, ratio))
            print(f"  {name}")
            print(f"    bff : {spread(bff, fmt)}")
            print(f"    oms : {spread(oms, fmt)}")
            which = "oms/bff" if higher_is_better else "bff/oms"
            print(f"    ratio {which} (medians): {ratio:.3f}x", flush=True)
    return ratios


def bench(runs: int, quick: bool, instances: int, profile: Path | None) -> None:
    loads = [(1, 300 if quick else 1000), (50, 1000 if quick else 5000)]
    with tempfile.TemporaryDirectory(prefix="spice_bench_bff_") as folder:
        root = Path(folder)
        env = development_env(root)
        with service("oms", root, env, None) as oms:
            env["OMS_BASE_URL"] = oms.url
            with service("bff", root, env, profile) as bff:
                ids = seed(oms.url, instances)
                samples = measure(targets(bff, oms), ids, runs, loads)
    ratios = report(samples, loads)
    worst = max(ratios, key=lambda item: item[1])
    verdict = "met" if worst[1] < TARGET else "MISSED"
    print(f"target BFF hop under {TARGET}x: {verdict} (worst: {worst[0]}, {worst[1]:.3f}x)")
    if profile is not None:
        print(f"BFF's cProfile stats: {profile} (figures above are slowed by the profiler)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer requests per run")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--profile", type=Path, help="run BFF under cProfile, stats to this file")
    args = parser.parse_args()
    profile = args.profile.resolve() if args.profile is not None else None
    bench(args.runs, args.quick, args.instances, profile)


if __name__ == "__main__":
    main()
