"""Connected blocks of filled cells in a grid: the candidate tables of a sheet.

Cells touch when they are neighbours across a side or a corner. Each row is cut into runs of
filled cells, and runs that touch a run of the row above join it (union-find), so a dense sheet
costs one step per row rather than one per cell. Blocks whose bounding boxes overlap are then
merged, so a sparse column inside a table cannot split it.
"""

from __future__ import annotations

from collections.abc import Sequence

from spice_harvester.application.funnel.structure.cells import Cell, CellRange, is_blank

Run = tuple[int, int]  # first and last column, inclusive


def row_runs(row: Sequence[Cell]) -> list[Run]:
    runs: list[Run] = []
    start: int | None = None
    for column, value in enumerate(row):
        if is_blank(value):
            if start is not None:
                runs.append((start, column - 1))
                start = None
        elif start is None:
            start = column
    if start is not None:
        runs.append((start, len(row) - 1))
    return runs


class _Forest:
    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, node: int) -> int:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def join(self, one: int, other: int) -> None:
        self.parent[self.find(one)] = self.find(other)


def find_regions(grid: Sequence[Sequence[Cell]]) -> list[CellRange]:
    """The bounding boxes of the grid's blocks, top to bottom, then left to right."""
    forest = _Forest()
    boxes: list[CellRange] = []
    previous: list[tuple[Run, int]] = []
    for row_index, row in enumerate(grid):
        current: list[tuple[Run, int]] = []
        above = 0
        for run in row_runs(row):
            node = forest.add()
            boxes.append(CellRange(row_index, run[0], row_index, run[1]))
            # Runs above that end left of this run (corner included) can touch no later run.
            while above < len(previous) and previous[above][0][1] < run[0] - 1:
                above += 1
            probe = above
            while probe < len(previous) and previous[probe][0][0] <= run[1] + 1:
                forest.join(node, previous[probe][1])
                probe += 1
            current.append((run, node))
        previous = current
    merged: dict[int, CellRange] = {}
    for node, box in enumerate(boxes):
        root = forest.find(node)
        merged[root] = merged[root].union(box) if root in merged else box
    return sorted(merge_overlapping(list(merged.values())))


def merge_overlapping(boxes: list[CellRange]) -> list[CellRange]:
    """Boxes joined until no two overlap."""
    pending = sorted(boxes)
    changed = True
    while changed:
        changed = False
        result: list[CellRange] = []
        for box in pending:
            for index, kept in enumerate(result):
                if kept.overlaps(box):
                    result[index] = kept.union(box)
                    changed = True
                    break
            else:
                result.append(box)
        pending = sorted(result)
    return pending
