"""Keys: the best unique column, else the smallest unique combination, with evidence."""

from __future__ import annotations

import polars as pl

from spice_harvester.application.funnel.profiling import profile_table


def frame(**columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {name: pl.Series(name, values, dtype=pl.String) for name, values in columns.items()}
    )


def test_the_table_id_is_preferred_among_unique_columns() -> None:
    table = frame(
        email=["a@x.com", "b@x.com", "c@x.com"],
        created_at=["2024-01-01T00:00:00", "2024-01-02T00:00:00", "2024-01-03T00:00:00"],
        order_id=["O-1", "O-2", "O-3"],
    )
    key = profile_table(table, table_name="orders").key
    assert key is not None
    assert key.columns == ("order_id",)
    assert "unique and never missing in 3 rows" in key.evidence
    assert ("email",) in key.alternatives


def test_a_column_with_a_missing_value_is_not_a_key() -> None:
    table = frame(code=["A", "B", ""], n=["1", "2", "3"])
    key = profile_table(table).key
    assert key is not None
    assert key.columns == ("n",)


def test_without_a_unique_column_the_smallest_combination_is_the_key() -> None:
    table = frame(
        order_id=["O-1", "O-1", "O-2", "O-2"],
        line_no=["1", "2", "1", "2"],
        sku_id=["S-1", "S-2", "S-1", "S-3"],
        qty=["1", "1", "2", "2"],
    )
    key = profile_table(table, table_name="order_items").key
    assert key is not None
    assert key.columns == ("order_id", "line_no")
    assert "no single column is unique" in key.evidence


def test_three_columns_are_combined_when_two_are_not_enough() -> None:
    dates, places, items = [], [], []
    for day in ("2024-01-01", "2024-01-02"):
        for place in ("W1", "W2"):
            for item in ("S-1", "S-2"):
                dates.append(day)
                places.append(place)
                items.append(item)
    table = frame(day=dates, warehouse_id=places, sku_id=items, qty_counted=["5"] * 8)
    key = profile_table(table).key
    assert key is not None
    assert set(key.columns) == {"day", "warehouse_id", "sku_id"}


def test_a_unique_timestamp_is_the_last_resort() -> None:
    table = frame(
        order_id=["O-1", "O-1", "O-2"],
        type=["LATE", "LOST", "LATE"],
        created_at=["2024-01-01T00:00:00", "2024-01-02T00:00:00", "2024-01-03T00:00:00"],
    )
    key = profile_table(table).key
    assert key is not None
    assert key.columns == ("order_id", "type")


def test_a_table_without_any_key_reports_none() -> None:
    assert profile_table(frame(a=["x", "x"], b=["y", "y"])).key is None
