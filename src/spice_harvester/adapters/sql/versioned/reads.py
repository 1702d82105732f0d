"""Reading documents at a commit: the nearest chain level wins, tombstones hide."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    TextClause,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    text,
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


@functools.lru_cache(maxsize=32)
def _get_many_query(levels: int) -> Select[Any]:
    """get_many's SELECT for a chain of `levels` levels, built once: the projections run it
    for every commit they apply, and building it anew cost more than running it."""
    visible = or_(
        *(
            and_(
                _dv.timeline_id == bindparam(f"t{level}"),
                _dv.pos <= bindparam(f"b{level}"),
                or_(_dv.valid_to.is_(None), _dv.valid_to > bindparam(f"b{level}")),
            )
            for level in range(levels)
        )
    )
    return select(*_COLUMNS).where(_dv.doc_key.in_(bindparam("keys", expanding=True)), visible)


def get_many(connection: Connection, chain: Chain, keys: Iterable[str]) -> dict[str, DocState]:
    """The visible version (tombstones included) of each key that has one."""
    level_of = {timeline: level for level, (timeline, _) in enumerate(chain)}
    query = _get_many_query(len(chain))
    levels: dict[str, Any] = {}
    for level, (timeline, bound) in enumerate(chain):
        levels[f"t{level}"], levels[f"b{level}"] = timeline, bound
    wanted = sorted(set(keys))
    best: dict[str, tuple[int, DocState]] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = connection.execute(query, {"keys": wanted[start : start + CHUNK], **levels})
        for row in rows:
            level = level_of[row.timeline_id]
            current = best.get(row.doc_key)
            if current is None or level < current[0]:
                best[row.doc_key] = (level, state_of(row))
    return {key: state for key, (_, state) in best.items()}


def _level_query(
    chain: Chain,
    level: int,
    doc_type: DocType | None,
    class_id: str | None,
    *,
    by_class: bool = False,
) -> Any:
    """The live documents a level shows. `by_class` (SQLite) writes the position test so
    that it cannot use the (timeline_id, pos) index: without statistics SQLite would take
    it and read every row of the timeline, where (timeline_id, doc_type, class_id, doc_key)
    reads only the class asked for, already in key order."""
    timeline_id, bound = chain[level]
    nearer = doc_versions.alias("nearer")
    visible = visible_at(doc_versions, timeline_id, bound)
    if by_class and doc_type is not None:
        visible = and_(
            _dv.timeline_id == timeline_id,
            (_dv.pos + 0) <= bound,
            or_(_dv.valid_to.is_(None), _dv.valid_to > bound),
        )
    query = select(*_COLUMNS).where(visible, _dv.deleted == false())
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


def _sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


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
        query = _level_query(chain, level, doc_type, class_id, by_class=_sqlite(connection))
        query = query.order_by(_dv.doc_key).limit(wanted)
        gathered.extend(connection.execute(query))
    gathered.sort(key=lambda row: row.doc_key)
    return [state_of(row) for row in gathered[offset:wanted]]


def count_docs(
    connection: Connection, chain: Chain, doc_type: DocType | None, class_id: str | None
) -> int:
    total = 0
    for level in range(len(chain)):
        query = _level_query(
            chain, level, doc_type, class_id, by_class=_sqlite(connection)
        ).subquery()
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


# -- lookups by value -------------------------------------------------------------------

FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_CONTAINERS = ("object", "array")


def canonical(value: Any) -> str:
    """A JSON value as text that is equal exactly when the values are: keys sorted, so dicts
    compare by content; 1 and 1.0, and true and 1, stay apart."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def holds(data: dict[str, Any] | None, field: str, keys: Collection[str]) -> bool:
    """`data[field]` is one of the values whose canonical texts are `keys`, or is a list with
    one of them as an item."""
    value = (data or {}).get(field)
    if value is None:
        return False
    if canonical(value) in keys:
        return True
    return isinstance(value, list) and any(
        item is not None and canonical(item) in keys for item in value
    )


# SQLite: json_each over `$.field` yields the value itself (key NULL) when it is a scalar, an
# array's items (integer keys), or an object's members (text keys, left out). (type, atom)
# tells 1 from 1.0 and true from 1, as `canonical` does; IN (SELECT ...) builds its set once.
_SQLITE_SCALARS = """EXISTS (
    SELECT 1 FROM json_each(doc_versions.data, :fd_path) AS fd_item
    WHERE typeof(fd_item.key) != 'text'
      AND (fd_item.type, fd_item.atom) IN (SELECT type, atom FROM json_each(:fd_scalars)))"""

# SQLite has no canonical JSON text (objects keep their key order), so dicts and lists are
# prefiltered: a stored container qualifies when one of its nodes, named by its path inside
# the container, has the type and value of a wanted container's first leaf (or its root, if
# it has no leaf). Equal containers always qualify; `holds` then drops the false positives.
_SQLITE_NODE = "substr({n}.fullkey, {skip}) || char(30) || {n}.type || char(30) || quote({n}.atom)"
_SQLITE_TAGS = f"""(SELECT (SELECT {_SQLITE_NODE.format(n="fd_leaf", skip=2)}
            FROM json_tree(fd_want.value) AS fd_leaf
            ORDER BY fd_leaf.type IN ('object', 'array'), fd_leaf.fullkey LIMIT 1)
        FROM json_each(:fd_containers) AS fd_want)"""  # noqa: S608 (constants only)
_SQLITE_CONTAINERS = f"""(EXISTS (
    SELECT 1 FROM json_tree(doc_versions.data, :fd_path) AS fd_node
    WHERE {_SQLITE_NODE.format(n="fd_node", skip=":fd_skip")} IN {_SQLITE_TAGS})
 OR EXISTS (
    SELECT 1 FROM json_each(doc_versions.data, :fd_path) AS fd_item,
        json_tree(doc_versions.data, fd_item.fullkey) AS fd_node
    WHERE typeof(fd_item.key) = 'integer' AND fd_item.type IN ('object', 'array')
      AND {_SQLITE_NODE.format(n="fd_node", skip="length(fd_item.fullkey) + 1")}
          IN {_SQLITE_TAGS}))"""  # noqa: S608 (constants only)

# PostgreSQL: jsonb's text form is canonical (keys sorted, 1 and 1.0 apart), so the wanted
# values become the keys of one jsonb object, built once per statement, and each stored value
# (and each item of a stored array) is looked up in it with `?`.
_POSTGRES_WANTED = """(SELECT jsonb_object_agg(CAST(fd_want.value AS text), true)
        FROM jsonb_array_elements(CAST(:fd_values AS jsonb)) AS fd_want)"""
_POSTGRES = f"""({_POSTGRES_WANTED} ? CAST(doc_versions.data -> :fd_field AS text)
 OR EXISTS (
    SELECT 1 FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(doc_versions.data -> :fd_field) = 'array'
             THEN doc_versions.data -> :fd_field ELSE CAST('[]' AS jsonb) END) AS fd_item
    WHERE {_POSTGRES_WANTED} ? CAST(fd_item.value AS text)))"""  # noqa: S608 (constants only)


def _value_match(dialect: str, field: str, values: list[Any]) -> ColumnElement[bool] | TextClause:
    """SQL keeping the rows whose data[field] is, or (an array) holds, one of `values`: exact
    for scalars on SQLite, a superset otherwise (see above), so callers check with `holds`."""
    if dialect == "postgresql":
        return text(_POSTGRES).bindparams(
            bindparam("fd_field", field), bindparam("fd_values", _json_array(values))
        )
    path = f"$.{field}"
    scalars = [v for v in values if not isinstance(v, dict | list)]
    containers = [v for v in values if isinstance(v, dict | list)]
    terms: list[ColumnElement[bool] | TextClause] = []
    if scalars:
        terms.append(
            text(_SQLITE_SCALARS).bindparams(
                bindparam("fd_path", path), bindparam("fd_scalars", _json_array(scalars))
            )
        )
    if containers:
        terms.append(
            text(_SQLITE_CONTAINERS).bindparams(
                bindparam("fd_path", path),
                bindparam("fd_skip", len(path) + 1),
                bindparam("fd_containers", _json_array(containers)),
            )
        )
    return or_(*terms)


def _json_array(values: list[Any]) -> str:
    return json.dumps(values, ensure_ascii=False, allow_nan=False)


def find_docs(
    connection: Connection,
    chain: Chain,
    class_ids: Sequence[str],
    field: str,
    values: Collection[Any],
    limit: int | None,
) -> list[DocState]:
    """Live instances of `class_ids` whose data[field] is one of `values` or, when it is a
    list, holds one: each level's matches not overridden by a nearer level, in key order."""
    if not FIELD.fullmatch(field):
        raise ValueError(f"not a field name: {field!r}")
    if isinstance(values, str | bytes):
        raise TypeError("values is a collection of values, not one string")
    wanted = {canonical(value): value for value in values if value is not None}
    classes = sorted(set(class_ids))
    if not wanted or not classes or limit == 0:
        return []
    match = _value_match(connection.dialect.name, field, list(wanted.values()))
    found: list[DocState] = []
    for level in range(len(chain)):
        query = _level_query(chain, level, "instance", None, by_class=_sqlite(connection))
        query = query.where(_dv.class_id.in_(classes), match)
        found.extend(_holding(connection, query, field, wanted.keys(), limit))
    found.sort(key=lambda state: state.ref.key)
    return found if limit is None else found[:limit]


def _holding(
    connection: Connection,
    query: Any,
    field: str,
    keys: Collection[str],
    limit: int | None,
) -> list[DocState]:
    """The rows of one level's query that `holds` keeps: all of them, or the first `limit` in
    key order (read a page at a time, since the SQL may let false positives through)."""
    if limit is None:
        states = (state_of(row) for row in connection.execute(query))
        return [state for state in states if holds(state.data, field, keys)]
    kept: list[DocState] = []
    last: str | None = None
    while True:
        page = query if last is None else query.where(_dv.doc_key > last)
        rows = list(connection.execute(page.order_by(_dv.doc_key).limit(limit)))
        kept += [s for s in map(state_of, rows) if holds(s.data, field, keys)]
        if len(kept) >= limit or len(rows) < limit:
            return kept[:limit]
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
