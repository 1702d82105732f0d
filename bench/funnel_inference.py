"""Funnel's column type inference against frictionless and polars, on one generated file.

Run: .venv/bin/python bench/funnel_inference.py [--rows 200000] [--runs 5] [--quick]

One table from `generate_mixed_table(rows, seed)` (twelve mixed text columns, see
`application/funnel/synthetic.py`), written once to a temporary CSV that every tool reads.
Timed over all rows, the tools taking turns within each round, median of --runs with min and
max, as rows per second:

1. Funnel, profile: `profile_table` on the file already read as strings (the read untimed).
2. Funnel, read + profile: polars `read_csv(infer_schema=False)` (no inference, strings as
   written) then `profile_table`.
3. Funnel, upload reader + profile: `read_csv_bytes`, which the service runs on an upload
   (encoding and delimiter detection, Python's csv module, ragged lines), then `profile_table`.
4. frictionless `describe` with `Detector(sample_size=rows + 1)`: its inference sample is the
   whole file (its default looks at the first 100 rows only).
5. polars `read_csv(infer_schema_length=None)`: every row inferred, dates left as text.
6. polars the same with `try_parse_dates=True`.

Ratios are Funnel's figure over each baseline's; the target is Funnel (read + profile) at
least 10x frictionless. Accuracy: each tool's type per column, mapped to Funnel's names
(frictionless `number` and polars `Float64` are decimal, polars `Int64` integer, and so on),
against the type the generator means the column to have. Only the exact type counts: a tool
without an email, phone, money or enum type cannot be right on those columns, and one that
reads zip codes as integers loses their leading zeros.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from frictionless import Detector, Resource, describe

from spice_harvester.application.funnel.profiling import profile_table
from spice_harvester.application.funnel.readers import read_csv_bytes
from spice_harvester.application.funnel.synthetic import generate_mixed_table

SEED = 7
TARGET = 10.0
# What each generated column holds (synthetic.py's docstring), in Funnel's type names.
TRUTH = {
    "customer_id": "string",
    "quantity": "integer",
    "unit_price": "decimal",
    "order_date": "date",
    "created_at": "datetime",
    "email": "email",
    "phone": "phone",
    "amount": "money",
    "active": "boolean",
    "status": "enum",
    "note": "text",
    "zip_code": "string",
}
FRICTIONLESS_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "object": "object",
    "array": "array",
    "geopoint": "coordinate",
}
Types = dict[str, str]


@dataclass(frozen=True)
class Tool:
    name: str
    short: str
    infer: Callable[[], Types]
    ours: bool = False


def polars_type(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "decimal"
    named = {
        pl.Boolean: "boolean",
        pl.Date: "date",
        pl.Datetime: "datetime",
        pl.Time: "time",
        pl.String: "string",
        pl.List: "array",
        pl.Struct: "object",
    }
    return named.get(dtype.base_type(), str(dtype))


def funnel_types(frame: pl.DataFrame) -> Types:
    return {c.column_name: c.inferred_type.type.value for c in profile_table(frame).columns}


def tools(path: Path, rows: int) -> list[Tool]:
    strings = pl.read_csv(path, infer_schema=False)

    def frictionless_types() -> Types:
        resource = describe(str(path), type="resource", detector=Detector(sample_size=rows + 1))
        assert isinstance(resource, Resource)
        return {f.name: FRICTIONLESS_TYPES.get(f.type, f.type) for f in resource.schema.fields}

    def polars_types(dates: bool) -> Types:
        frame = pl.read_csv(path, infer_schema_length=None, try_parse_dates=dates)
        return {name: polars_type(dtype) for name, dtype in frame.schema.items()}

    return [
        Tool(
            "Funnel, profile (strings in memory)",
            "Funnel",
            lambda: funnel_types(strings),
            ours=True,
        ),
        Tool(
            "Funnel, read + profile",
            "Funnel+read",
            lambda: funnel_types(pl.read_csv(path, infer_schema=False)),
            ours=True,
        ),
        Tool(
            "Funnel, upload reader + profile",
            "Funnel+upload",
            lambda: funnel_types(read_csv_bytes(path.read_bytes()).frame),
            ours=True,
        ),
        Tool("frictionless describe, whole file", "frictionless", frictionless_types),
        Tool("polars read_csv, whole file", "polars", lambda: polars_types(dates=False)),
        Tool(
            "polars read_csv, whole file, dates", "polars+dates", lambda: polars_types(dates=True)
        ),
    ]


def spread(samples: Sequence[float]) -> str:
    return (
        f"{statistics.median(samples):>12,.0f} rows/s"
        f"  (min {min(samples):,.0f}, max {max(samples):,.0f})"
    )


def measure(
    chosen: Sequence[Tool], rows: int, runs: int
) -> tuple[dict[str, list[float]], dict[str, Types]]:
    rates: dict[str, list[float]] = {tool.name: [] for tool in chosen}
    answers: dict[str, Types] = {}
    for run in range(runs):
        for tool in chosen:
            started = time.perf_counter()
            answers[tool.name] = tool.infer()
            rates[tool.name].append(rows / (time.perf_counter() - started))
        print(f"  round {run + 1} of {runs} done", flush=True)
    return rates, answers


def report_speed(chosen: Sequence[Tool], rates: dict[str, list[float]]) -> bool:
    width = max(len(tool.name) for tool in chosen)
    print("\nRows per second (median of the runs):")
    for tool in chosen:
        print(f"  {tool.name:<{width}}  {spread(rates[tool.name])}")
    baselines = [tool for tool in chosen if not tool.ours]
    print("\nRatios, Funnel's median over each baseline's:")
    print("  " + " " * width + "".join(f"  {b.short:>14}" for b in baselines))
    for ours in (tool for tool in chosen if tool.ours):
        mine = statistics.median(rates[ours.name])
        ratios = [mine / statistics.median(rates[b.name]) for b in baselines]
        print(f"  {ours.name:<{width}}" + "".join(f"  {ratio:>13.1f}x" for ratio in ratios))
    headline = statistics.median(rates[chosen[1].name]) / statistics.median(rates[chosen[3].name])
    met = headline >= TARGET
    print(
        f"\nTarget: {chosen[1].name} at least {TARGET:g}x frictionless: {headline:.1f}x, "
        + ("met" if met else "MISSED")
    )
    return met


def report_accuracy(chosen: Sequence[Tool], answers: dict[str, Types]) -> None:
    # The three Funnel figures run the same inference; one column stands for them.
    shown = [chosen[0], *(tool for tool in chosen if not tool.ours)]
    labels = ["truth", *(tool.short for tool in shown)]
    print("\nType per column (* = the intended type):")
    print("  " + f"{'column':<12}" + "".join(f"{label:<14}" for label in labels))
    for column, truth in TRUTH.items():
        cells = [truth] + [
            answers[tool.name].get(column, "-")
            + ("*" if answers[tool.name].get(column) == truth else "")
            for tool in shown
        ]
        print("  " + f"{column:<12}" + "".join(f"{cell:<14}" for cell in cells))
    right = [sum(answers[tool.name].get(c) == t for c, t in TRUTH.items()) for tool in shown]
    print(
        "  "
        + f"{'right':<12}"
        + f"{'':<14}"
        + "".join(f"{f'{count}/{len(TRUTH)}':<14}" for count in right)
    )
    mismatched = [
        tool.name for tool in chosen if tool.ours and answers[tool.name] != answers[chosen[0].name]
    ]
    if mismatched:
        print(f"  (these Funnel figures inferred differently: {', '.join(mismatched)})")


def bench(rows: int, runs: int) -> None:
    print(f"Generating {rows:,} rows x {len(TRUTH)} columns (seed {SEED})...", flush=True)
    table = generate_mixed_table(rows, SEED)
    with tempfile.TemporaryDirectory(prefix="funnel_bench_") as folder:
        path = Path(folder) / "mixed.csv"
        table.write_csv(path)
        print(f"{path.stat().st_size / 1e6:.1f} MB of CSV; {runs} round(s):", flush=True)
        chosen = tools(path, rows)
        rates, answers = measure(chosen, rows, runs)
    report_speed(chosen, rates)
    report_accuracy(chosen, answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 runs")
    options = parser.parse_args()
    if options.quick:
        bench(20_000, 3)
    else:
        bench(options.rows, options.runs)


if __name__ == "__main__":
    main()
