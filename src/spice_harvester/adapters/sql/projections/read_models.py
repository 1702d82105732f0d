"""The read models' SQL: how each writes changes, builds, copies, drops and reads its rows.

Every model's rows are keyed by (version, db_id, branch); the pure definitions of what the
rows hold are in application/projections/read_models.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    delete,
    insert,
    literal,
    select,
    tuple_,
    update,
)

from spice_harvester.adapters.sql.dialect import insert_for
from spice_harvester.adapters.sql.projections.store_view import StoreView
from spice_harvester.adapters.sql.projections.tables import class_counts, doc_lineage, search_docs
from spice_harvester.application.projections import read_models as pure
from spice_harvester.application.projections.changes import DocChange
from spice_harvester.domain.versioning.documents import DocState

CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """One branch of one database in one version of a read model."""

    version: int
    db_id: int
    branch: str


class ReadModel(Protocol):
    name: str

    def apply(self, view: StoreView, scope: Scope, changes: Sequence[DocChange]) -> None:
        """Brings the rows of the changed documents from their `before` to their `after`."""
        ...

    def build(self, view: StoreView, scope: Scope, states: Iterable[DocState]) -> None:
        """Writes the rows of `states` (every live document) into an empty scope."""
        ...

    def copy(self, connection: Connection, scope: Scope, source: str) -> None:
        """Copies branch `source`'s rows (same version and database) into `scope`."""
        ...

    def drop(self, connection: Connection, version: int, db_id: int, branch: str | None) -> None:
        """Deletes a branch's rows, or the whole database's when `branch` is None."""
        ...

    def snapshot(self, connection: Connection, scope: Scope) -> dict[Any, Any]:
        """The rows as a comparable mapping."""
        ...

    def scopes(self, connection: Connection, version: int) -> set[tuple[int, str]]:
        """(db_id, branch) of every branch that has rows."""
        ...

    def relabel(
        self, connection: Connection, version: int, to: int, db_id: int | None, branch: str | None
    ) -> None:
        """Moves the rows of a database's branch (every branch when `branch` is None, every
        database when `db_id` is None) from `version` to version `to` (which holds none)."""
        ...

    def purge(self, connection: Connection, version: int, limit: int) -> int:
        """Deletes up to `limit` rows of `version`; how many it deleted."""
        ...

    def expected(self, view: StoreView, states: Sequence[DocState]) -> dict[Any, Any]:
        """What `snapshot` must equal for a branch whose documents are `states`."""
        ...


def _chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _BranchTable:
    """Copy and drop for a table keyed by (version, db_id, branch, ...)."""

    table: ClassVar[Table]
    copied: ClassVar[tuple[str, ...]]  # the columns besides version, db_id and branch

    def _in(self, scope: Scope) -> ColumnElement[bool]:
        c = self.table.c
        return (c.version == scope.version) & (c.db_id == scope.db_id) & (c.branch == scope.branch)

    def copy(self, connection: Connection, scope: Scope, source: str) -> None:
        c = self.table.c
        rows = select(
            c.version, c.db_id, literal(scope.branch).label("branch"), *(c[n] for n in self.copied)
        ).where(self._in(Scope(scope.version, scope.db_id, source)))
        names = ["version", "db_id", "branch", *self.copied]
        connection.execute(insert(self.table).from_select(names, rows))

    def scopes(self, connection: Connection, version: int) -> set[tuple[int, str]]:
        c = self.table.c
        rows = connection.execute(select(c.db_id, c.branch).where(c.version == version).distinct())
        return {(int(row.db_id), row.branch) for row in rows}

    def drop(self, connection: Connection, version: int, db_id: int, branch: str | None) -> None:
        c = self.table.c
        where = (c.version == version) & (c.db_id == db_id)
        if branch is not None:
            where = where & (c.branch == branch)
        connection.execute(delete(self.table).where(where))

    def relabel(
        self, connection: Connection, version: int, to: int, db_id: int | None, branch: str | None
    ) -> None:
        c = self.table.c
        where = c.version == version
        if db_id is not None:
            where = where & (c.db_id == db_id)
        if branch is not None:
            where = where & (c.branch == branch)
        connection.execute(update(self.table).where(where).values(version=to))

    def purge(self, connection: Connection, version: int, limit: int) -> int:
        key = list(self.table.primary_key.columns)
        rows = connection.execute(
            select(*key).where(self.table.c.version == version).limit(limit)
        ).all()
        for chunk in _chunks(rows):
            where = (
                key[0].in_([row[0] for row in chunk])
                if len(key) == 1
                else tuple_(*key).in_([tuple(row) for row in chunk])
            )
            connection.execute(delete(self.table).where(where))
        return len(rows)


class SearchModel(_BranchTable):
    """search_docs: one row per live instance, its folded id and string values."""

    name = "search"
    table = search_docs
    copied = ("class_id", "doc_id", "text")

    def apply(self, view: StoreView, scope: Scope, changes: Sequence[DocChange]) -> None:
        edits = pure.search_edits(changes)
        c = search_docs.c
        for chunk in _chunks(edits.deletes):
            view.connection.execute(
                delete(search_docs).where(self._in(scope), tuple_(c.class_id, c.doc_id).in_(chunk))
            )
        rows = [self._row(scope, key, text) for key, text in edits.upserts.items()]
        if rows:
            statement = insert_for(view.connection, search_docs)
            view.connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[c.version, c.db_id, c.branch, c.class_id, c.doc_id],
                    set_={"text": statement.excluded.text},
                ),
                rows,
            )

    def build(self, view: StoreView, scope: Scope, states: Iterable[DocState]) -> None:
        for chunk in _chunks(states, 2000):
            rows = [self._row(scope, k, t) for k, t in pure.search_rows(chunk).items()]
            if rows:
                view.connection.execute(insert(search_docs), rows)

    def snapshot(self, connection: Connection, scope: Scope) -> dict[Any, Any]:
        c = search_docs.c
        rows = connection.execute(select(c.class_id, c.doc_id, c.text).where(self._in(scope)))
        return {(row.class_id, row.doc_id): row.text for row in rows}

    def expected(self, view: StoreView, states: Sequence[DocState]) -> dict[Any, Any]:
        return dict(pure.search_rows(states))

    @staticmethod
    def _row(scope: Scope, key: pure.SearchKey, text: str) -> dict[str, Any]:
        return {
            "version": scope.version,
            "db_id": scope.db_id,
            "branch": scope.branch,
            "class_id": key[0],
            "doc_id": key[1],
            "text": text,
        }


class CountsModel(_BranchTable):
    """class_counts: live instances per class; a class with none has no row."""

    name = "counts"
    table = class_counts
    copied = ("class_id", "count")

    def apply(self, view: StoreView, scope: Scope, changes: Sequence[DocChange]) -> None:
        deltas = pure.count_deltas(changes)
        if not deltas:
            return
        c = class_counts.c
        statement = insert_for(view.connection, class_counts)
        view.connection.execute(
            statement.on_conflict_do_update(
                index_elements=[c.version, c.db_id, c.branch, c.class_id],
                set_={"count": c["count"] + statement.excluded["count"]},
            ),
            [self._row(scope, class_id, delta) for class_id, delta in sorted(deltas.items())],
        )
        view.connection.execute(
            delete(class_counts).where(
                self._in(scope), c.class_id.in_(sorted(deltas)), c["count"] <= 0
            )
        )

    def build(self, view: StoreView, scope: Scope, states: Iterable[DocState]) -> None:
        counts = pure.class_counts(states)
        if counts:
            view.connection.execute(
                insert(class_counts),
                [self._row(scope, class_id, n) for class_id, n in sorted(counts.items())],
            )

    def snapshot(self, connection: Connection, scope: Scope) -> dict[Any, Any]:
        c = class_counts.c
        rows = connection.execute(
            select(c.class_id, c["count"].label("instances")).where(self._in(scope))
        )
        return {row.class_id: row.instances for row in rows}

    def expected(self, view: StoreView, states: Sequence[DocState]) -> dict[Any, Any]:
        return pure.class_counts(states)

    @staticmethod
    def _row(scope: Scope, class_id: str, count: int) -> dict[str, Any]:
        return {
            "version": scope.version,
            "db_id": scope.db_id,
            "branch": scope.branch,
            "class_id": class_id,
            "count": count,
        }


class LineageModel(_BranchTable):
    """doc_lineage: per live document, the version the branch sees and the commit and
    command that wrote it."""

    name = "lineage"
    table = doc_lineage
    copied = ("doc_key", "seq", "commit_id", "command_id")

    def apply(self, view: StoreView, scope: Scope, changes: Sequence[DocChange]) -> None:
        edits = pure.lineage_edits(changes)
        c = doc_lineage.c
        for chunk in _chunks(edits.deletes):
            view.connection.execute(
                delete(doc_lineage).where(self._in(scope), c.doc_key.in_(chunk))
            )
        if not edits.upserts:
            return
        commands = view.commands_of(commit for _, commit in edits.upserts.values())
        rows = [
            self._row(scope, key, pure.Lineage(seq, commit, commands.get(commit)))
            for key, (seq, commit) in edits.upserts.items()
        ]
        statement = insert_for(view.connection, doc_lineage)
        view.connection.execute(
            statement.on_conflict_do_update(
                index_elements=[c.version, c.db_id, c.branch, c.doc_key],
                set_={
                    "seq": statement.excluded.seq,
                    "commit_id": statement.excluded.commit_id,
                    "command_id": statement.excluded.command_id,
                },
            ),
            rows,
        )

    def build(self, view: StoreView, scope: Scope, states: Iterable[DocState]) -> None:
        for chunk in _chunks(states, 2000):
            commands = view.commands_of(state.commit_id for state in chunk)
            rows = [
                self._row(scope, key, lineage)
                for key, lineage in pure.lineage_rows(chunk, commands).items()
            ]
            if rows:
                view.connection.execute(insert(doc_lineage), rows)

    def snapshot(self, connection: Connection, scope: Scope) -> dict[Any, Any]:
        c = doc_lineage.c
        rows = connection.execute(
            select(c.doc_key, c.seq, c.commit_id, c.command_id).where(self._in(scope))
        )
        return {row.doc_key: pure.Lineage(row.seq, row.commit_id, row.command_id) for row in rows}

    def expected(self, view: StoreView, states: Sequence[DocState]) -> dict[Any, Any]:
        commands = view.commands_of(state.commit_id for state in states)
        return dict(pure.lineage_rows(states, commands))

    @staticmethod
    def _row(scope: Scope, key: str, lineage: pure.Lineage) -> dict[str, Any]:
        return {
            "version": scope.version,
            "db_id": scope.db_id,
            "branch": scope.branch,
            "doc_key": key,
            "seq": lineage.seq,
            "commit_id": lineage.commit_id,
            "command_id": lineage.command_id,
        }


MODELS: dict[str, ReadModel] = {
    model.name: model for model in (SearchModel(), CountsModel(), LineageModel())
}
