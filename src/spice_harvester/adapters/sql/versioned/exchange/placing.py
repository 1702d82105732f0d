"""Where imported commits go: the file's timelines under new ids, and each commit's place."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, insert, update

from spice_harvester.adapters.sql.tables import timelines
from spice_harvester.adapters.sql.versioned.commits import load_commit
from spice_harvester.adapters.sql.versioned.exchange import limits
from spice_harvester.adapters.sql.versioned.exchange.records import TimelineRecord
from spice_harvester.domain.errors import MalformedInput, NotFound, ValidationFailed


@dataclass(frozen=True)
class FileTimeline:
    """A timeline of the file (parent and fork position in the file's numbering), written."""

    new_id: int
    parent: int | None
    fork_pos: int | None
    depth: int


class Placed(NamedTuple):
    """Where an imported commit sits, and what its children need from it."""

    timeline_id: int
    pos: int
    generation: int
    state_hash: str
    doc_count: int


class Timelines:
    """The file's timelines, checked and inserted, and how far commits have filled each."""

    def __init__(self, connection: Connection, db_id: int) -> None:
        self.connection = connection
        self.db_id = db_id
        self.written: dict[int, FileTimeline] = {}
        # Timelines go in a batch at a time (their new ids come back in order); a child
        # whose parent is still in the batch writes the batch first.
        self.pending: dict[int, TimelineRecord] = {}
        self.roots = 0
        # New timeline id -> the position of its last imported commit.
        self.tips: dict[int, int] = {}

    def add(self, record: TimelineRecord, where: str) -> None:
        file_id, parent, depth = record.id, record.parent, record.depth
        if file_id in self.written or file_id in self.pending:
            raise MalformedInput(f"{where}: timeline {file_id} appears twice")
        if (parent is None) != (record.fork_pos is None):
            raise ValidationFailed(
                f"{where}: a timeline has a parent and a fork position, or neither"
            )
        if parent is None:
            self.roots += 1
            if depth != 1:
                raise ValidationFailed(f"{where}: the root timeline has depth 1, not {depth}")
        else:
            if parent in self.pending:
                # Its new id is needed for this row: write what is waiting first.
                self.flush()
            known = self.written.get(parent)
            if known is None:
                raise ValidationFailed(
                    f"{where}: timeline {file_id} forks from timeline {parent}, "
                    "which does not come before it"
                )
            if depth != known.depth + 1:
                raise ValidationFailed(
                    f"{where}: timeline {file_id} should have depth {known.depth + 1}, not {depth}"
                )
        self.pending[file_id] = record
        if len(self.pending) >= limits.CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        rows = [
            {
                "db_id": self.db_id,
                "parent_timeline_id": None if t.parent is None else self.written[t.parent].new_id,
                "fork_pos": t.fork_pos,
                "depth": t.depth,
                "tip_pos": 0,
                "owner_branch": t.owner,
            }
            for t in self.pending.values()
        ]
        created = self.connection.execute(
            insert(timelines).returning(timelines.c.timeline_id, sort_by_parameter_order=True),
            rows,
        ).all()
        for (file_id, t), new in zip(self.pending.items(), created, strict=True):
            self.written[file_id] = FileTimeline(
                int(new.timeline_id), t.parent, t.fork_pos, t.depth
            )
        self.pending = {}

    def finish(self) -> None:
        """The end of the timeline records."""
        self.flush()
        if self.roots != 1:
            raise ValidationFailed(
                f"a history has exactly one root timeline, this one has {self.roots}"
            )

    def get(self, file_id: int, where: str) -> FileTimeline:
        found = self.written.get(file_id)
        if found is None:
            raise ValidationFailed(f"{where}: timeline {file_id} is not in the file")
        return found

    def check_place(
        self, where: str, timeline: FileTimeline, pos: int, parents: list[Placed], *, first: bool
    ) -> None:
        """A commit extends its timeline by one, and its first parent is the commit before
        it there (or the fork commit, at position 1). Only the file's first commit has no
        parents."""
        tip = self.tips.get(timeline.new_id, 0)
        if pos != tip + 1:
            raise ValidationFailed(f"{where}: position {pos} on a timeline that ends at {tip}")
        if not parents:
            if timeline.parent is not None or not first:
                raise ValidationFailed(f"{where}: only the first commit has no parents")
            return
        if pos > 1:
            expected = (timeline.new_id, pos - 1)
        elif timeline.parent is None:
            raise ValidationFailed(f"{where}: the root timeline starts with the first commit")
        else:
            assert timeline.fork_pos is not None
            expected = (self.written[timeline.parent].new_id, timeline.fork_pos)
        if (parents[0].timeline_id, parents[0].pos) != expected:
            raise ValidationFailed(f"{where}: its first parent is not where its timeline says")

    def advance(self, timeline_id: int, pos: int) -> None:
        self.tips[timeline_id] = pos

    def write_tips(self) -> None:
        if self.tips:
            self.connection.execute(
                update(timelines)
                .where(timelines.c.timeline_id == bindparam("b_timeline"))
                .values(tip_pos=bindparam("b_tip")),
                [{"b_timeline": t, "b_tip": tip} for t, tip in self.tips.items()],
            )


class Placements:
    """Where the imported commits sit: the newest in memory, older ones read back."""

    def __init__(self, connection: Connection, db_id: int, flush: Callable[[], None]) -> None:
        self.connection = connection
        self.db_id = db_id
        # Writes the buffered rows, so that the commits table can answer for any commit.
        self.flush = flush
        self.known: OrderedDict[str, Placed] = OrderedDict()

    def get(self, commit_id: str, where: str) -> Placed:
        found = self.known.get(commit_id)
        if found is not None:
            return found
        self.flush()
        try:
            info = load_commit(self.connection, self.db_id, commit_id)
        except NotFound:
            raise ValidationFailed(
                f"{where}: parent {commit_id} does not come before it in the file",
                data={"parent": commit_id},
            ) from None
        return Placed(info.timeline_id, info.pos, info.generation, info.state_hash, info.doc_count)

    def remember(self, commit_id: str, placed: Placed) -> None:
        self.known[commit_id] = placed
        if len(self.known) > limits.PLACED_LIMIT:
            # Forgotten commits must be readable from the table before they are forgotten.
            self.flush()
            while len(self.known) > limits.PLACED_LIMIT // 2:
                self.known.popitem(last=False)

    def may_be_on(self, commit_id: str, timeline_id: int) -> bool:
        """Whether the commit that wrote a visible version sits on this timeline (then that
        version is the timeline's open row). The writer updates blindly; skipping the
        update when the version comes from an ancestor timeline saves a statement per
        document, which is most of them in a bulk load."""
        placed = self.known.get(commit_id)
        return placed is None or placed.timeline_id == timeline_id
