"""The PostgreSQL server the tests use: a fresh database per test, dropped afterwards."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

POSTGRES_SERVER_URL = os.environ.get(
    "SPICE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SKIP_POSTGRES = os.environ.get("SPICE_TEST_SKIP_POSTGRES") == "1"


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Creates spice_test_<hex> on the test server, then drops it, connections or not."""
    server = make_url(POSTGRES_SERVER_URL)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"spice_test_{uuid.uuid4().hex[:16]}"
    # An unreachable server fails here: an error, not a skip, unless opted out above.
    _admin(admin_dsn, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(
            admin_dsn,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )


def _admin(dsn: str, statement: sql.Composed) -> None:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection:
        connection.execute(statement)


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
