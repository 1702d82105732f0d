"""The MetaStore port on the spice_meta table, with compare-and-set by version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, delete, func, select, update

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.dialect import insert_for
from spice_harvester.adapters.sql.tables import spice_meta
from spice_harvester.domain.errors import ConcurrencyConflict
from spice_harvester.ports.meta import MetaEntry

MAX_KEY_LENGTH: Final = 255
_table = spice_meta.c


class SqlMetaStore:
    """Every write is one statement whose WHERE clause carries the version check, so two
    writers can never both succeed against the same version, whichever engine it is."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    def get(self, key: str) -> MetaEntry | None:
        with self._db.read() as connection:
            row = connection.execute(select(spice_meta).where(_table.key == key)).one_or_none()
        return None if row is None else _entry(row)

    def put(self, key: str, value: str, *, expected_version: int | None = None) -> MetaEntry:
        _check_key(key)
        _check_expected(expected_version)
        now = datetime.now(UTC)
        with self._db.transaction() as connection:
            if expected_version is None:
                version = _upsert(connection, key, value, now)
            elif expected_version == 0:
                if not _insert_if_absent(connection, key, value, now):
                    raise _conflict(connection, key, expected_version)
                version = 1
            else:
                changed = connection.execute(
                    update(spice_meta)
                    .where(_table.key == key, _table.version == expected_version)
                    .values(value=value, version=_table.version + 1, updated_at=now)
                ).rowcount
                if changed != 1:
                    raise _conflict(connection, key, expected_version)
                version = expected_version + 1
        return MetaEntry(key=key, value=value, version=version, updated_at=now)

    def delete(self, key: str, *, expected_version: int | None = None) -> bool:
        _check_expected(expected_version)
        with self._db.transaction() as connection:
            if expected_version == 0:
                # "Must not exist": nothing to remove, unless it does exist after all.
                if _current_version(connection, key):
                    raise _conflict(connection, key, expected_version)
                return False
            statement = delete(spice_meta).where(_table.key == key)
            if expected_version is not None:
                statement = statement.where(_table.version == expected_version)
            removed = connection.execute(statement).rowcount
            if removed == 0 and expected_version is not None:
                raise _conflict(connection, key, expected_version)
        return removed > 0

    def list(self, prefix: str = "") -> list[MetaEntry]:
        query = select(spice_meta)
        if prefix:
            # Not LIKE: SQLite's LIKE ignores ASCII case and both treat % and _ as wildcards.
            query = query.where(func.substr(_table.key, 1, len(prefix)) == prefix)
        with self._db.read() as connection:
            entries = [_entry(row) for row in connection.execute(query)]
        # Sorted here because PostgreSQL would order by the database's locale collation;
        # code point order is what SQLite gives and what callers can rely on everywhere.
        return sorted(entries, key=lambda entry: entry.key)


def _upsert(connection: Connection, key: str, value: str, now: datetime) -> int:
    statement = (
        insert_for(connection, spice_meta)
        .values(key=key, value=value, version=1, updated_at=now)
        .on_conflict_do_update(
            index_elements=[_table.key],
            set_={"value": value, "version": _table.version + 1, "updated_at": now},
        )
        .returning(_table.version)
    )
    version: int = connection.execute(statement).scalar_one()
    return version


def _insert_if_absent(connection: Connection, key: str, value: str, now: datetime) -> bool:
    # ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a
    # failed INSERT poisons the transaction, and we still need to read the current version.
    statement = (
        insert_for(connection, spice_meta)
        .values(key=key, value=value, version=1, updated_at=now)
        .on_conflict_do_nothing(index_elements=[_table.key])
        .returning(_table.key)
    )
    return connection.execute(statement).first() is not None


def _current_version(connection: Connection, key: str) -> int:
    found = connection.execute(select(_table.version).where(_table.key == key)).scalar()
    return int(found) if found is not None else 0


def _conflict(connection: Connection, key: str, expected: int) -> ConcurrencyConflict:
    return ConcurrencyConflict(
        aggregate_id=key, expected_seq=expected, actual_seq=_current_version(connection, key)
    )


def _entry(row: Row[Any]) -> MetaEntry:
    return MetaEntry(key=row.key, value=row.value, version=row.version, updated_at=row.updated_at)


def _check_key(key: str) -> None:
    # PostgreSQL would reject a longer key and SQLite would silently keep it; refuse on both.
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"meta keys must be 1 to {MAX_KEY_LENGTH} characters, got {len(key)}")


def _check_expected(expected_version: int | None) -> None:
    if expected_version is not None and expected_version < 0:
        raise ValueError(f"expected_version must be 0 or more, got {expected_version}")
