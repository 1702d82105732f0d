"""The state a restored system needs besides the histories, one JSON Lines file per table.

Each file starts with a header naming its table and row count, then one record per row,
with timestamps as ISO 8601 text and JSON columns as they are. A restore fills in what the
target lacks and never overwrites what it has (the target's rows are the newer truth when
both exist):

- api_keys: a key whose id the target lacks is added (only SHA-256s of the secrets are kept,
  so the backup holds no usable secret); a live key whose name a different live key already
  has here is refused, since a name is the actor BFF records;
- audit_log: entries keep their ids and hashes, so `spice audit verify` holds after the
  restore. The two chains must agree where both have entries: the backup's entries after
  the target's last one are appended; a chain that diverges is refused (re-chaining the
  backup's entries would make their hashes mean nothing);
- pull_requests: those of each restored database, under its new internal id;
- spice_meta: keys the target lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Table, delete, func, insert, select, text
from sqlalchemy.sql.schema import Column

from spice_harvester.adapters.sql.audit import GENESIS, entry_hash
from spice_harvester.adapters.sql.tables import (
    UtcDateTime,
    api_keys,
    audit_log,
    pull_requests,
    spice_databases,
    spice_meta,
)
from spice_harvester.adapters.sql.versioned.exchange import read_history_file, write_records_file
from spice_harvester.domain.errors import MalformedInput, ValidationFailed

TABLE_FORMAT: Final = "spice-backup-table"
# The tables in the order a restore applies them.
TABLES: Final[dict[str, Table]] = {
    "api_keys": api_keys,
    "audit_log": audit_log,
    "pull_requests": pull_requests,
    "spice_meta": spice_meta,
}
_ORDER: Final[dict[str, Any]] = {
    "api_keys": api_keys.c.key_id,
    "audit_log": audit_log.c.entry_id,
    "pull_requests": pull_requests.c.pr_id,
    "spice_meta": spice_meta.c.key,
}
_INSERT_BATCH: Final = 1000


def file_name(table: str) -> str:
    return f"{table}.jsonl.gz"


# -- export ---------------------------------------------------------------------------


def export_tables(
    connection: Connection, folder: Path, databases: dict[str, int], *, compresslevel: int
) -> tuple[dict[str, str], dict[str, int]]:
    """Writes one file per table from the caller's read transaction; returns table -> file
    name and table -> rows. Pull requests only of `databases` (name -> internal id)."""
    files, counts = {}, {}
    for name, table in TABLES.items():
        query = select(table).order_by(_ORDER[name])
        counted = select(func.count()).select_from(table)
        if table is pull_requests:
            wanted = sorted(databases.values())
            query = (
                select(pull_requests, spice_databases.c.name.label("database"))
                .join(spice_databases, spice_databases.c.db_id == pull_requests.c.db_id)
                .where(pull_requests.c.db_id.in_(wanted))
                .order_by(pull_requests.c.db_id, pull_requests.c.pr_id)
            )
            counted = counted.where(pull_requests.c.db_id.in_(wanted))
        rows = int(connection.execute(counted).scalar_one())
        relative = file_name(name)
        write_records_file(
            _records(connection, name, table, query, rows),
            folder / relative,
            compresslevel=compresslevel,
        )
        files[name], counts[name] = relative, rows
    return files, counts


def _records(
    connection: Connection, name: str, table: Table, query: Any, rows: int
) -> Iterator[dict[str, Any]]:
    yield {"type": "header", "format": TABLE_FORMAT, "table": name, "rows": rows}
    columns = [column.name for column in table.columns]
    for row in connection.execute(query, execution_options={"yield_per": 1000}):
        values = {column: _to_json(getattr(row, column)) for column in columns}
        if table is pull_requests:
            values["database"] = row.database
        yield {"type": "row", "values": values}


def _to_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def audit_head(connection: Connection) -> str | None:
    return connection.execute(
        select(audit_log.c.entry_hash).order_by(audit_log.c.entry_id.desc()).limit(1)
    ).scalar_one_or_none()


# -- reading a backup's table files ---------------------------------------------------


def read_rows(path: Path, table: str) -> Iterator[dict[str, Any]]:
    """The rows of one table file, values converted back to what the columns take."""
    described = TABLES[table]
    records = read_history_file(path)
    header = next(records, None)
    if header is None or header.get("format") != TABLE_FORMAT or header.get("table") != table:
        raise MalformedInput(f"{path.name} is not the {table} file of a backup")
    seen = 0
    for record in records:
        values = record.get("values")
        if record.get("type") != "row" or not isinstance(values, dict):
            raise MalformedInput(f"{path.name}: record {seen + 2} is not a row")
        seen += 1
        yield {key: _from_json(described, key, value) for key, value in values.items()}
    if seen != header.get("rows"):
        raise ValidationFailed(
            f"{path.name} is incomplete: its header counts {header.get('rows')} rows, "
            f"the file has {seen}"
        )


def _from_json(table: Table, key: str, value: Any) -> Any:
    column: Column[Any] | None = table.c.get(key)
    if value is not None and column is not None and isinstance(column.type, UtcDateTime):
        return datetime.fromisoformat(value)
    return value


# -- restore --------------------------------------------------------------------------


@dataclass
class SystemPlan:
    """What restoring the system tables will add, found before anything is written."""

    api_keys: list[dict[str, Any]] = field(default_factory=list)
    audit_from: int = 0  # how many of the backup's entries the target already has
    audit_total: int = 0
    meta: list[dict[str, Any]] = field(default_factory=list)

    @property
    def audit_added(self) -> int:
        return self.audit_total - self.audit_from


def plan_system(connection: Connection, folder: Path, files: dict[str, str]) -> SystemPlan:
    """Checks the backup's system state against the target's; ValidationFailed names the
    first thing that cannot be merged."""
    plan = SystemPlan()
    plan.api_keys = _new_keys(connection, read_rows(folder / files["api_keys"], "api_keys"))
    plan.audit_from, plan.audit_total = _audit_overlap(
        connection, read_rows(folder / files["audit_log"], "audit_log")
    )
    have = set(connection.execute(select(spice_meta.c.key)).scalars())
    plan.meta = [
        row
        for row in read_rows(folder / files["spice_meta"], "spice_meta")
        if row["key"] not in have
    ]
    return plan


def _new_keys(connection: Connection, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    k = api_keys.c
    present = connection.execute(select(k.key_id, k.key_hash, k.name, k.revoked_at)).all()
    ids = {row.key_id for row in present}
    hashes = {row.key_hash for row in present}
    live_names = {row.name: row.key_id for row in present if row.revoked_at is None}
    added = []
    for row in rows:
        if row["key_id"] in ids or row["key_hash"] in hashes:
            continue
        holder = live_names.get(row["name"])
        if row["revoked_at"] is None and holder is not None:
            raise ValidationFailed(
                f"API key {row['key_id']} of the backup is named '{row['name']}', like the live "
                f"key {holder} here: revoke one of them, or restore with --no-system",
                field="api_keys",
            )
        added.append(row)
    return added


def _audit_overlap(connection: Connection, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(entries both chains share from the start, entries in the backup), after checking
    that the backup's own chain holds."""
    a = audit_log.c
    result = connection.execute(
        select(a.entry_id, a.entry_hash).order_by(a.entry_id),
        execution_options={"yield_per": 5000},
    )
    try:
        return _overlap(iter(result), rows)
    finally:
        result.close()  # the target's chain may be longer: release its cursor


def _overlap(here: Iterator[Any], rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    shared, total, prev, diverged = 0, 0, GENESIS, False
    for row in rows:
        total += 1
        _check_entry(row, prev)
        prev = row["entry_hash"]
        if diverged:
            continue
        mine = next(here, None)
        if mine is None:
            diverged = True  # the target's chain ended: the rest is the backup's to add
            continue
        if (mine.entry_id, mine.entry_hash) != (row["entry_id"], row["entry_hash"]):
            raise ValidationFailed(
                f"the audit log here and the backup's differ at entry {row['entry_id']}: "
                "they are not one chain (restore into an empty audit log, or with --no-system)",
                field="audit_log",
            )
        shared += 1
    return shared, total


def _check_entry(row: dict[str, Any], prev: str) -> None:
    fields = {
        "at": row["at"].isoformat(),
        "service": row["service"],
        "actor": row["actor"],
        "action": row["action"],
        "target": row["target"],
        "outcome": row["outcome"],
        "client": row["client"],
        "details": row["details"],
    }
    if row["prev_hash"] != prev or entry_hash(prev, fields) != row["entry_hash"]:
        raise ValidationFailed(
            f"audit entry {row['entry_id']} of the backup does not chain: the file was altered",
            field="audit_log",
        )


def apply_system(
    connection: Connection,
    folder: Path,
    files: dict[str, str],
    plan: SystemPlan,
    db_ids: dict[str, int],
) -> dict[str, int]:
    """Writes what `plan` adds, and the pull requests of the restored databases (name -> new
    internal id) in place of any they had; returns rows added per table."""
    if plan.api_keys:
        connection.execute(insert(api_keys), plan.api_keys)
    _append_audit(connection, folder / files["audit_log"], plan)
    if plan.meta:
        connection.execute(insert(spice_meta), plan.meta)
    prs = [
        {**{k: v for k, v in row.items() if k != "database"}, "db_id": db_ids[row["database"]]}
        for row in read_rows(folder / files["pull_requests"], "pull_requests")
        if row["database"] in db_ids
    ]
    if db_ids:
        connection.execute(
            delete(pull_requests).where(pull_requests.c.db_id.in_(sorted(db_ids.values())))
        )
    for start in range(0, len(prs), _INSERT_BATCH):
        connection.execute(insert(pull_requests), prs[start : start + _INSERT_BATCH])
    return {
        "api_keys": len(plan.api_keys),
        "audit_log": plan.audit_added,
        "pull_requests": len(prs),
        "spice_meta": len(plan.meta),
    }


def _append_audit(connection: Connection, path: Path, plan: SystemPlan) -> None:
    if plan.audit_added <= 0:
        return
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        # Appenders wait until the restored entries are in: the chain stays one line.
        connection.execute(text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))
    batch: list[dict[str, Any]] = []
    for index, row in enumerate(read_rows(path, "audit_log")):
        if index < plan.audit_from:
            continue
        batch.append(row)
        if len(batch) >= _INSERT_BATCH:
            connection.execute(insert(audit_log), batch)
            batch = []
    if batch:
        connection.execute(insert(audit_log), batch)
    if postgres:
        # The ids were given explicitly, so the sequence must be moved past them.
        connection.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('audit_log', 'entry_id'), "
                "(SELECT max(entry_id) FROM audit_log))"
            )
        )
