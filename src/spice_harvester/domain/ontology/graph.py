"""Cycles and paths in the graph of relationships between classes, for schema analysis."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from itertools import chain

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import Schema

Hop = tuple[str, str, str]
"""(class, predicate, target class)."""
Edges = Mapping[str, list[tuple[str, str]]]

DEFAULT_LIMIT = 100
# Bounds the work of one path search however densely classes are connected.
_MAX_FRONTIER = 10_000


def relationship_edges(schema: Schema) -> dict[str, list[tuple[str, str]]]:
    """Class -> sorted (predicate, target) pairs, inherited relationships included, since
    an instance of a subclass can follow them too."""
    return {
        class_id: sorted({(r.predicate, r.target) for r in schema.resolved(class_id).relationships})
        for class_id in sorted(schema.classes)
    }


def relationship_cycles(schema: Schema, *, limit: int = DEFAULT_LIMIT) -> list[list[str]]:
    """Elementary cycles of classes, each starting at its smallest id and not repeating it
    (`["A", "B"]` is A -> B -> A; `["A"]` is a self-loop); at most `limit` of them."""
    edges = relationship_edges(schema)
    successors = {c: sorted({t for _, t in pairs if t in edges}) for c, pairs in edges.items()}
    self_loops = ([c] for c, targets in successors.items() if c in targets)
    graph = {c: [t for t in targets if t != c] for c, targets in successors.items()}
    found: list[list[str]] = []
    for cycle in chain(self_loops, _johnson(graph)):
        if len(found) >= limit:
            break
        found.append(cycle)
    return found


def relationship_paths(
    schema: Schema, source: str, target: str, max_depth: int, *, limit: int = DEFAULT_LIMIT
) -> list[list[Hop]]:
    """Simple paths from `source` to `target` of at most `max_depth` hops, shortest first.

    When source and target are the same class, the paths are the cycles back to it.
    """
    for field, class_id in (("source", source), ("target", target)):
        if class_id not in schema:
            raise ValidationFailed(f"class {class_id} does not exist", field=field)
    if max_depth < 1:
        raise ValidationFailed("max_depth must be at least 1", field="max_depth")
    edges = relationship_edges(schema)
    distance = _distances_to(edges, target)
    paths: list[list[Hop]] = []
    frontier: list[list[Hop]] = [[]]
    for depth in range(max_depth):
        following: list[list[Hop]] = []
        for hops in frontier:
            here = hops[-1][2] if hops else source
            visited = {source, *(hop[2] for hop in hops)}
            for predicate, there in edges[here]:
                path = [*hops, (here, predicate, there)]
                if there == target:
                    paths.append(path)
                    if len(paths) >= limit:
                        return paths
                # Skip what cannot reach the target in the hops left.
                elif there not in visited and distance.get(there, max_depth) < max_depth - depth:
                    following.append(path)
        frontier = following[:_MAX_FRONTIER]
    return paths


def _distances_to(edges: Edges, target: str) -> dict[str, int]:
    """Fewest hops from each class to `target` (breadth first over reversed edges)."""
    predecessors = _predecessors({c: [t for _, t in pairs] for c, pairs in edges.items()})
    distance = {target: 0}
    queue = deque([target])
    while queue:
        current = queue.popleft()
        for previous in predecessors.get(current, ()):
            if previous not in distance:
                distance[previous] = distance[current] + 1
                queue.append(previous)
    return distance


def _predecessors(graph: Mapping[str, list[str]]) -> dict[str, list[str]]:
    reverse: dict[str, list[str]] = {}
    for class_id, targets in graph.items():
        for target in targets:
            reverse.setdefault(target, []).append(class_id)
    return reverse


def _johnson(graph: Mapping[str, list[str]]) -> Iterator[list[str]]:
    """Johnson's algorithm, iterative so a long chain of classes cannot exhaust the stack.

    Each cycle is found from its smallest class, restricted to the strongly connected part
    of the graph among classes not smaller than it, so it is reported once.
    """
    order = sorted(graph)
    predecessors = _predecessors(graph)
    for i, start in enumerate(order):
        allowed = set(order[i:])
        forward = _reach(start, graph, allowed)
        component = forward & _reach(start, predecessors, allowed)
        if len(component) > 1:
            yield from _circuits(graph, start, component)


def _reach(start: str, graph: Mapping[str, list[str]], allowed: set[str]) -> set[str]:
    seen = {start}
    pending = [start]
    while pending:
        for nxt in graph.get(pending.pop(), ()):
            if nxt in allowed and nxt not in seen:
                seen.add(nxt)
                pending.append(nxt)
    return seen


def _circuits(graph: Mapping[str, list[str]], start: str, part: set[str]) -> Iterator[list[str]]:
    blocked = {start}
    blocked_by: dict[str, set[str]] = {}
    path = [start]
    # Per path entry: did some cycle back to `start` pass below it?
    closed = [False]
    stack = [iter([c for c in graph[start] if c in part])]
    while stack:
        nxt = next(stack[-1], None)
        if nxt == start:
            yield list(path)
            closed[-1] = True
        elif nxt is not None and nxt not in blocked:
            path.append(nxt)
            closed.append(False)
            blocked.add(nxt)
            stack.append(iter([c for c in graph[nxt] if c in part]))
        elif nxt is None:
            stack.pop()
            node, found = path.pop(), closed.pop()
            if found:
                _unblock(node, blocked, blocked_by)
            else:
                for successor in graph[node]:
                    blocked_by.setdefault(successor, set()).add(node)
            if closed:
                closed[-1] = closed[-1] or found


def _unblock(node: str, blocked: set[str], blocked_by: dict[str, set[str]]) -> None:
    pending = [node]
    while pending:
        current = pending.pop()
        if current in blocked:
            blocked.discard(current)
            pending.extend(blocked_by.pop(current, ()))
