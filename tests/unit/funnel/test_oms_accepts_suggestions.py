"""Every value of a profiled column passes OMS's own normaliser with the suggested type and
constraints (through convert_value, which is the identity where no conversion is needed)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from spice_harvester.application.funnel.profiling import profile_table
from spice_harvester.application.funnel.synthetic import generate_mixed_table
from spice_harvester.domain.ontology.types import ValueType
from tests.sample_data import three_pl
from tests.unit.funnel.columns import stored_values

T = ValueType
FOLDER = three_pl()


def assert_accepted(frame: pl.DataFrame) -> None:
    profile = profile_table(frame)
    for column in profile.columns:
        distinct = frame[column.column_name].unique().to_list()
        stored = stored_values(column, distinct)
        assert len(stored) == column.unique_count or column.inferred_type.type in (
            T.STRING,
            T.TEXT,
        ), column.column_name


@pytest.mark.skipif(not FOLDER.is_dir(), reason="the 3PL sample is not here")
@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.csv")), ids=lambda p: p.stem)
def test_every_3pl_value_is_accepted(path: Path) -> None:
    assert_accepted(pl.read_csv(path, infer_schema=False))


def test_every_synthetic_value_is_accepted_and_types_are_as_generated() -> None:
    frame = generate_mixed_table(3_000, seed=11)
    assert_accepted(frame)
    types = {c.column_name: c.inferred_type.type for c in profile_table(frame).columns}
    assert types == {
        "customer_id": T.STRING,
        "quantity": T.INTEGER,
        "unit_price": T.DECIMAL,
        "order_date": T.DATE,
        "created_at": T.DATETIME,
        "email": T.EMAIL,
        "phone": T.PHONE,
        "amount": T.MONEY,
        "active": T.BOOLEAN,
        "status": T.ENUM,
        "note": T.TEXT,
        "zip_code": T.STRING,
    }


def test_the_synthetic_table_is_the_same_for_the_same_seed() -> None:
    assert generate_mixed_table(50, seed=3).equals(generate_mixed_table(50, seed=3))
    assert not generate_mixed_table(50, seed=3).equals(generate_mixed_table(50, seed=4))


@pytest.mark.parametrize(
    "values",
    [
        ["1.234,56", "7,5", "N/A"],
        ["31/12/2024", "01/02/2024"],
        ["2024년 12월 31일", "2024년 1월 2일"],
        ["12,50 €", "3 €"],
        ["₩12,000", "$3.50", "12.00 EUR"],
        ["ja", "nein", "ja"],
        ["+82 10-2345-6789", "010-3456-7890"],
        ["  PAID", "PAID", "OPEN ", "OPEN"],
    ],
)
def test_converted_values_are_accepted(values: list[str]) -> None:
    frame = pl.DataFrame({"value": pl.Series(values, dtype=pl.String)})
    column = profile_table(frame).columns[0]
    assert column.inferred_type.type not in (T.STRING, T.TEXT)
    assert len(stored_values(column, values)) == len(values) - column.null_count
