"""Reading the read models: search and class counts, each with how fresh it is.

Search finds live instances whose folded text holds any term of the query as a substring
(so words inside Korean or Japanese text are found) and ranks them by the number of terms
found, then the whole query found as one run, then the engine's relevance. The candidates
come from an index: FTS5 with trigram tokens on SQLite (terms of three characters or more),
the pg_trgm GIN index on PostgreSQL (which serves LIKE '%term%'); the LIKE tests then decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)

from spice_harvester.adapters.sql.database import SqlDatabase
from spice_harvester.adapters.sql.projections import bookkeeping as books
from spice_harvester.adapters.sql.projections.tables import (
    class_counts,
    projection_state,
    search_docs,
)
from spice_harvester.adapters.sql.tables import branches, spice_databases
from spice_harvester.application.projections.search_text import TextQuery, like_pattern
from spice_harvester.domain.errors import NotFound, ValidationFailed
from spice_harvester.ports.projections import (
    ClassCounts,
    CountsReader,
    Freshness,
    SearchHit,
    SearchIndex,
    SearchResult,
)

MAX_LIMIT: Final = 100
TRIGRAM: Final = 3  # FTS5's trigram index finds only terms at least this long
_d = search_docs.c


class SqlReadModels:
    """SearchIndex and CountsReader over the serving versions."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._postgres = db.engine_name == "postgresql"

    def search(
        self,
        db: str,
        branch: str,
        q: str,
        class_ids: Sequence[str] | None = None,
        limit: int = 20,
    ) -> SearchResult:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(f"limit: between 1 and {MAX_LIMIT}, not {limit}", field="limit")
        query = TextQuery.parse(q)
        with self._db.read() as connection:
            version = _serving(connection, "search")
            db_id, freshness = _freshness(connection, "search", version, db, branch)
            where = [_d.version == version, _d.db_id == db_id, _d.branch == branch]
            if class_ids is not None:
                where.append(_d.class_id.in_(list(class_ids)))
            statement = (
                self._postgres_search(query, where)
                if self._postgres
                else self._sqlite_search(query, where)
            )
            rows = connection.execute(statement.limit(limit)).all()
        hits = [SearchHit(row.class_id, row.doc_id, _rank(row), int(row.matched)) for row in rows]
        total = int(rows[0].total) if rows else 0
        return SearchResult(q, query.terms, hits, total, freshness, version)

    def counts(self, db: str, branch: str) -> ClassCounts:
        with self._db.read() as connection:
            version = _serving(connection, "counts")
            db_id, freshness = _freshness(connection, "counts", version, db, branch)
            c = class_counts.c
            rows = connection.execute(
                select(c.class_id, c["count"].label("instances")).where(
                    c.version == version, c.db_id == db_id, c.branch == branch
                )
            )
            counts = {row.class_id: int(row.instances) for row in rows}
        return ClassCounts(dict(sorted(counts.items())), freshness, version)

    # -- the engines' queries ----------------------------------------------------------

    def _scored(
        self, query: TextQuery, where: list[ColumnElement[bool]], relevance: Any
    ) -> Select[Any]:
        tests = [_d.text.like(like_pattern(term), escape="\\") for term in query.terms]
        matched = sum(
            (case((test, 1), else_=0) for test in tests[1:]), case((tests[0], 1), else_=0)
        )
        phrase = case((_d.text.like(like_pattern(query.text), escape="\\"), 1), else_=0)
        return (
            select(
                _d.class_id,
                _d.doc_id,
                matched.label("matched"),
                phrase.label("phrase"),
                relevance.label("relevance"),
                func.count().over().label("total"),
            )
            .where(*where, or_(*tests))
            .order_by(matched.desc(), phrase.desc(), relevance.desc(), _d.class_id, _d.doc_id)
        )

    def _postgres_search(self, query: TextQuery, where: list[ColumnElement[bool]]) -> Select[Any]:
        words: Any = None
        for term in query.terms:
            one = func.plainto_tsquery(literal_column("'simple'::regconfig"), term)
            words = one if words is None else words.op("||")(one)
        relevance = func.ts_rank(literal_column("search_docs.tsv"), words)
        return self._scored(query, where, relevance)

    def _sqlite_search(self, query: TextQuery, where: list[ColumnElement[bool]]) -> Select[Any]:
        if all(len(term) >= TRIGRAM for term in query.terms):
            fts = (
                select(
                    literal_column("rowid").label("row_id"),
                    literal_column("-bm25(search_fts)").label("score"),
                )
                .select_from(text("search_fts"))
                .where(text("search_fts MATCH :fts_match").bindparams(fts_match=_match(query)))
                .subquery("fts")
            )
            statement = self._scored(query, where, fts.c.score)
            return statement.join_from(search_docs, fts, fts.c.row_id == _d.row_id)
        # A short term has no trigram: the LIKE tests scan the branch's rows instead.
        return self._scored(query, where, literal(0.0))


def _match(query: TextQuery) -> str:
    """An FTS5 query: any term, each as a quoted string (a substring with trigram tokens)."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in query.terms)


def _rank(row: Any) -> float:
    relevance = max(0.0, float(row.relevance or 0.0))
    return int(row.matched) + 0.5 * int(row.phrase) + 0.49 * relevance / (1.0 + relevance)


def _serving(connection: Connection, projection: str) -> int:
    version = books.serving_version(connection, projection)
    if version is None:
        raise NotFound(f"projection '{projection}' has no serving version", field="projection")
    return version


def _freshness(
    connection: Connection, projection: str, version: int, db: str, branch: str
) -> tuple[int, Freshness]:
    head = connection.execute(
        select(spice_databases.c.db_id, branches.c.head_commit)
        .select_from(spice_databases)
        .outerjoin(
            branches,
            and_(branches.c.db_id == spice_databases.c.db_id, branches.c.name == branch),
        )
        .where(spice_databases.c.name == db)
    ).first()
    if head is None:
        raise NotFound(f"database '{db}' does not exist", field="db_name")
    if head.head_commit is None:
        raise NotFound(f"branch '{branch}' does not exist", field="branch")
    s = projection_state.c
    state = connection.execute(
        select(s.commit_id, s.applied_at).where(
            s.projection == projection,
            s.version == version,
            s.db_id == head.db_id,
            s.branch == branch,
        )
    ).first()
    return int(head.db_id), Freshness(
        branch,
        head.head_commit,
        None if state is None else state.commit_id,
        None if state is None else state.applied_at,
    )


def _conforms(readers: SqlReadModels) -> tuple[SearchIndex, CountsReader]:
    # mypy checks here that the adapter satisfies both ports.
    return readers, readers
