"""Reading documents at a commit: the nearest chain level wins, tombstones hide."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    false,
    func,
    or_,
    select,
)

from spice_harvester.adapters.sql.tables import commits, doc_versions
from spice_harvester.adapters.sql.versioned.timelines import Chain
from spice_harvester.domain.versioning.documents import DocRef, DocState, DocType

CHUNK = 500
_dv = doc_versions.c
_COLUMNS = (
    _dv.doc_hash,
    _dv.doc_key,
    _dv.doc_type,
    _dv.class_id,
    _dv.doc_id,
    _dv.seq,
    _dv.deleted,
    _dv.data,
    _dv.commit_id,
    _dv.timeline_id,
    _dv.pos,
)


def visible_at(table: Any, timeline_id: int, bound: int) -> ColumnElement[bool]:
    """Rows of one level that are the current version at position `bound`."""
    return and_(
        table.c.timeline_id == timeline_id,
        table.c.pos <= bound,
        or_(table.c.valid_to.is_(None), table.c.valid_to > bound),
    )


def within(table: Any, levels: Chain) -> ColumnElement[bool]:
    """Rows written anywhere in the given levels (up to each level's bound)."""
    return or_(*(and_(table.c.timeline_id == t, table.c.pos <= b) for t, b in levels))


def state_of(row: Any) -> DocState:
    ref = DocRef(row.doc_type, row.class_id or row.doc_id, row.doc_id)
    return DocState(ref, row.seq, None if row.deleted else row.data, row.commit_id, row.doc_hash)


def get_many(connection: Connection, chain: Chain, keys: Iterable[str]) -> dict[str, DocState]:
    """The visible version (tombstones included) of each key that has one."""
    level_of = {timeline: level for level, (timeline, _) in enumerate(chain)}
    visible = or_(*(visible_at(doc_versions, t, b) for t, b in chain))
    wanted = sorted(set(keys))
    best: dict[str, tuple[int, DocState]] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = connection.execute(
            select(*_COLUMNS).where(_dv.doc_key.in_(wanted[start : start + CHUNK]), visible)
        )
        for row in rows:
            level = level_of[row.timeline_id]
            current = best.get(row.doc_key)
            if current is None or level < current[0]:
                best[row.doc_key] = (level, state_of(row))
    return {key: state for key, (_, state) in best.items()}


def _level_query(chain: Chain, level: int, doc_type: DocType | None, class_id: str | None) -> Any:
    timeline_id, bound = chain[level]
    nearer = doc_versions.alias("nearer")
    query = select(*_COLUMNS).where(
        visible_at(doc_versions, timeline_id, bound), _dv.deleted == false()
    )
    if doc_type is not None:
        query = query.where(_dv.doc_type == doc_type)
    if class_id is not None:
        query = query.where(_dv.class_id == class_id)
    if level:
        # A document written on a nearer level is that level's to show (or to hide).
        query = query.where(
            ~exists().where(nearer.c.doc_key == _dv.doc_key, within(nearer, chain[:level]))
        )
    return query


def list_docs(
    connection: Connection,
    chain: Chain,
    doc_type: DocType | None,
    class_id: str | None,
    limit: int,
    offset: int,
) -> list[DocState]:
    """One key-ordered page of live documents: each level gives its first rows, merged."""
    wanted = limit + offset
    gathered: list[Any] = []
    for level in range(len(chain)):
        query = _level_query(chain, level, doc_type, class_id).order_by(_dv.doc_key).limit(wanted)
        gathered.extend(connection.execute(query))
    gathered.sort(key=lambda row: row.doc_key)
    return [state_of(row) for row in gathered[offset:wanted]]


def count_docs(
    connection: Connection, chain: Chain, doc_type: DocType | None, class_id: str | None
) -> int:
    total = 0
    for level in range(len(chain)):
        query = _level_query(chain, level, doc_type, class_id).subquery()
        total += connection.execute(select(func.count()).select_from(query)).scalar_one()
    return total


def iter_docs(connection: Connection, chain: Chain, batch: int = 5000) -> Iterator[DocState]:
    """Every live document at the chain, in key order, a batch at a time."""
    for level in range(len(chain)):
        last = ""
        while True:
            query = (
                _level_query(chain, level, None, None)
                .where(_dv.doc_key > last)
                .order_by(_dv.doc_key)
                .limit(batch)
            )
            rows = list(connection.execute(query))
            yield from (state_of(row) for row in rows)
            if len(rows) < batch:
                break
            last = rows[-1].doc_key


def history(connection: Connection, chain: Chain, key: str) -> list[tuple[DocState, bool, str]]:
    """Every version of a document along the chain, newest first: (state, deleted, commit)."""
    level_of = {timeline: level for level, (timeline, _) in enumerate(chain)}
    rows = list(
        connection.execute(select(*_COLUMNS).where(_dv.doc_key == key, within(doc_versions, chain)))
    )
    rows.sort(key=lambda row: (level_of[row.timeline_id], -row.pos))
    return [(state_of(row), row.deleted, row.commit_id) for row in rows]


def commit_exists(connection: Connection, db_id: int, commit_id: str) -> bool:
    found = connection.execute(
        select(commits.c.commit_id).where(
            commits.c.db_id == db_id, commits.c.commit_id == commit_id
        )
    ).one_or_none()
    return found is not None
