"""The few statements whose SQL differs between the engines, behind one call each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Connection, Table, insert
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, in the connection's dialect (both engines have it,
    with the same meaning, but SQLAlchemy builds it per dialect)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# Below this many rows a plain executemany costs no more than setting up COPY.
COPY_FROM = 100


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts `rows` (dicts with the same keys) in the connection's transaction.

    On PostgreSQL a large batch goes through COPY, which is more than ten times faster than
    executemany (one INSERT per row over the pipeline); JSON columns are sent as jsonb and
    every column left out takes its default (positions from the sequence, the writer's
    transaction id). SQLite's executemany of one prepared statement is already fast.
    """
    if not rows:
        return
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        connection.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    json_columns = {
        name for name in columns if isinstance(table.c[name].type, JSON | postgresql.JSONB)
    }
    names = ", ".join(f'"{name}"' for name in columns)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    Jsonb(row[name])
                    if name in json_columns and row[name] is not None
                    else row[name]
                    for name in columns
                ]
            )
