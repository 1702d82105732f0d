"""Remotes: the commits another database lacks, and applying such commits here, verified.

A commit travels with its events. The receiver rebuilds each document from its first
parent's state and the events, writes the commit exactly as it was written at the origin
(same author, message, time and event ids) and checks that the result has the origin's
commit id and state hash, so nothing can arrive altered and the two databases share ids
from then on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, select

from spice_harvester.adapters.sql.tables import commits
from spice_harvester.adapters.sql.versioned import reads
from spice_harvester.adapters.sql.versioned.commits import load_commits
from spice_harvester.adapters.sql.versioned.exchange import checks, limits
from spice_harvester.adapters.sql.versioned.exchange.export import packed_commits
from spice_harvester.adapters.sql.versioned.exchange.records import PackedCommit
from spice_harvester.adapters.sql.versioned.frontier import Frontier, commits_between, frontier_of
from spice_harvester.adapters.sql.versioned.timelines import TimelineCache
from spice_harvester.adapters.sql.versioned.writer import CommitMeta, Database, Write, write_commit
from spice_harvester.domain.errors import Conflict, MalformedInput, ValidationFailed
from spice_harvester.domain.versioning.documents import data_of, seq_of
from spice_harvester.domain.versioning.model import CommitInfo

MAX_PACK_COMMITS = 100_000


def known_commits(connection: Connection, db_id: int, ids: Iterable[str]) -> list[CommitInfo]:
    """The commits of `ids` this database has (unknown ids are skipped)."""
    wanted = sorted(set(ids))
    found: list[CommitInfo] = []
    for start in range(0, len(wanted), limits.CHUNK):
        chunk = wanted[start : start + limits.CHUNK]
        found += load_commits(connection, db_id, commits.c.commit_id.in_(chunk))
    return found


def make_pack(
    connection: Connection,
    db_id: int,
    cache: TimelineCache,
    head: CommitInfo,
    haves: Iterable[str],
) -> list[dict[str, Any]]:
    """The ancestors of `head` (itself included) that are not ancestors of any of `haves`,
    oldest first, as records."""
    since: Frontier = {}
    for have in known_commits(connection, db_id, haves):
        for timeline, pos in frontier_of(connection, cache, have).items():
            since[timeline] = max(since.get(timeline, 0), pos)
    missing = commits_between(connection, db_id, since, frontier_of(connection, cache, head))
    if len(missing) > MAX_PACK_COMMITS:
        raise ValidationFailed(
            f"{len(missing)} commits to send, more than {MAX_PACK_COMMITS} at once: "
            "clone the database instead",
            field="branch",
        )
    return packed_commits(connection, db_id, [info.commit_id for info in missing])


def read_pack(records: Iterable[Mapping[str, Any]]) -> list[PackedCommit]:
    parsed = []
    for number, record in enumerate(records, start=1):
        try:
            parsed.append(PackedCommit.model_validate(dict(record)))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            raise MalformedInput(
                f"commit {number} of the pack: '{field}' {error['msg']}", field=field
            ) from exc
    return parsed


def apply_pack(
    connection: Connection,
    db: Database,
    cache: TimelineCache,
    pack: Sequence[PackedCommit],
    owner: str,
) -> int:
    """Writes the commits of `pack` this database lacks; returns how many. Timelines it
    opens belong to `owner`, the branch about to point at them."""
    have = {info.commit_id for info in known_commits(connection, db.db_id, _ids(pack))}
    applied = 0
    for commit in pack:
        if commit.commit_id in have:
            continue
        _apply(connection, db, cache, commit, owner)
        have.add(commit.commit_id)
        applied += 1
    return applied


def _ids(pack: Sequence[PackedCommit]) -> list[str]:
    return [c.commit_id for c in pack] + [p for c in pack for p in c.parents]


def _apply(
    connection: Connection, db: Database, cache: TimelineCache, commit: PackedCommit, owner: str
) -> None:
    where = f"commit {commit.commit_id}"
    if not commit.parents:
        raise ValidationFailed(
            f"{where} starts a history: the two databases share no history "
            "(clone one from the other first)",
            field="commit_id",
            data={"commit_id": commit.commit_id},
        )
    by_id = {c.commit_id: c for c in known_commits(connection, db.db_id, commit.parents)}
    absent = [p for p in commit.parents if p not in by_id]
    if absent:
        raise ValidationFailed(
            f"{where}: its parent {absent[0]} is neither here nor earlier in the pack",
            field="parents",
            data={"commit_id": commit.commit_id, "parent": absent[0]},
        )
    parents = [by_id[p] for p in commit.parents]
    checks.check_generation_of(commit, max(p.generation for p in parents))
    checks.check_documents(commit)
    _refuse_taken_command(connection, db, commit)
    head = parents[0]
    chain = cache.chain(connection, head.timeline_id, head.pos)
    current = reads.get_many(connection, chain, [e.aggregate_id for e in commit.events])
    writes = []
    for event in commit.events:
        ref = checks.document_of(event, commit.commit_id)
        state = current.get(event.aggregate_id)
        after = checks.replayed(event, ref, seq_of(state), data_of(state), commit.commit_id)
        writes.append(Write(ref, after, event.event_id))
    meta = CommitMeta(commit.author, commit.message, commit.command_id, commit.request_hash)
    result = write_commit(
        connection,
        db,
        owner,
        head,
        writes,
        current,
        meta,
        parents[1:],
        fetched_at=commit.created_at,
    )
    if result.commit.commit_id != commit.commit_id:
        raise ValidationFailed(
            f"{where}: its content hashes to {result.commit.commit_id} here: it was changed "
            "on the way",
            field="commit_id",
            data={"commit_id": commit.commit_id},
        )
    checks.check_state(commit, result.commit.state_hash, result.commit.doc_count)


def _refuse_taken_command(connection: Connection, db: Database, commit: PackedCommit) -> None:
    if commit.command_id is None:
        return
    taken = connection.execute(
        select(commits.c.commit_id).where(
            commits.c.db_id == db.db_id, commits.c.command_id == commit.command_id
        )
    ).one_or_none()
    if taken is not None:
        raise Conflict(
            f"commit {commit.commit_id} was made by command {commit.command_id}, which "
            f"already made commit {taken.commit_id} here",
            field="command_id",
            data={"commit_id": commit.commit_id, "command_id": commit.command_id},
        )
