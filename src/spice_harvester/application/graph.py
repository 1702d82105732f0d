"""Graph queries: a page of start nodes found like a structured query, then hop by hop along
relationships, at a branch or any ref, within caps on nodes, edges and hops.

Cost: the start page costs what its structured query does (`application/query.py`). An out hop
reads the targets its frontier links to by key (`get_many`, 500 keys a statement) in every
class a link may point into; an in hop asks the store for the instances of the hop's classes
whose predicate holds one of the frontier's ids (`find_docs`: one SQL pass over those classes'
instances, no value index yet). So a query costs its start page plus a few indexed reads per
out hop and one scan in SQL per in hop, however many nodes it reaches; hop filters are checked
here on the nodes reached.

Nodes are identified by (class, id): ids are unique within a class only. Edges are the stored
links, `from` the instance holding the relationship, `to` its target, whichever way the hop
went. Caps stop the traversal where they are hit and say so in `warnings`; what was found
until then is answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spice_harvester.application.query import Reads, Selection, compile_selection, find_matches
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.schema import Schema
from spice_harvester.domain.query.filters import selected
from spice_harvester.domain.query.traversal import Hop, HopRequest, exact_predicates, plan_hops
from spice_harvester.domain.versioning.documents import DocRef, DocState

MAX_NODES = 10_000
MAX_EDGES = 50_000
INDEX_STATUS = "store"  # read from the store itself, so always fresh (until issue 6)
NodeKey = tuple[str, str]
"""(class id, instance id)"""


@dataclass(frozen=True)
class HopQuery:
    predicate: str
    target_class: str | None = None
    direction: str | None = None
    filters: Sequence[Any] = ()
    select: Sequence[str] | None = None


@dataclass(frozen=True)
class GraphRequest:
    start_class: str
    hops: Sequence[HopQuery] = ()
    filters: Sequence[Any] = ()
    select: Sequence[str] | None = None
    limit: int = 100
    offset: int = 0
    max_nodes: int = 1000
    max_edges: int = 5000
    no_cycles: bool = False
    include_documents: bool = True


@dataclass(frozen=True)
class Step:
    """One link a hop found: the frontier node it left, the node it reached (state None:
    the link points at an id that does not exist) and the stored link as an edge."""

    source: NodeKey
    reached: NodeKey
    state: DocState | None
    edge: tuple[NodeKey, NodeKey, str]


def _key(state: DocState) -> NodeKey:
    return (state.ref.class_id, state.ref.doc_id)


def link_ids(value: Any) -> list[str]:
    """The target ids a relationship value holds (one id, or a list of them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


@dataclass
class Graph:
    """Nodes and edges gathered so far, in the order found, within the caps."""

    max_nodes: int
    max_edges: int
    include_documents: bool
    nodes: dict[NodeKey, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[NodeKey, NodeKey, str], dict[str, str]] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False

    def admit(
        self,
        key: NodeKey,
        state: DocState | None,
        select: tuple[str, ...] | None,
        edge: tuple[NodeKey, NodeKey, str] | None,
        hop: int | None,
    ) -> bool:
        """Adds a node (unless known) and an edge (unless known); False, with a warning, when
        a cap leaves no room, after which nothing more is admitted."""
        if self.stopped:
            return False
        if key not in self.nodes and len(self.nodes) >= self.max_nodes:
            return self._stop("max_nodes", self.max_nodes, "nodes", hop)
        if edge is not None and edge not in self.edges and len(self.edges) >= self.max_edges:
            return self._stop("max_edges", self.max_edges, "edges", hop)
        if key not in self.nodes:
            self.nodes[key] = self._node(key, state, select)
        if edge is not None and edge not in self.edges:
            (from_class, from_id), (to_class, to_id), predicate = edge
            self.edges[edge] = {
                "from": from_id,
                "to": to_id,
                "predicate": predicate,
                "from_class": from_class,
                "to_class": to_class,
            }
        return True

    def _node(
        self, key: NodeKey, state: DocState | None, select: tuple[str, ...] | None
    ) -> dict[str, Any]:
        class_id, instance_id = key
        if state is None:
            status, data = "MISSING", None
        elif not self.include_documents:
            status, data = "PARTIAL", {}
        else:
            status = "FULL" if select is None else "PARTIAL"
            data = selected(state.data, select)
        return {
            "id": instance_id,
            "class_id": class_id,
            "data": data,
            "data_status": status,
            "index_status": INDEX_STATUS,
        }

    def _stop(self, code: str, cap: int, what: str, hop: int | None) -> bool:
        where = "among the start nodes" if hop is None else f"at hops[{hop}]"
        self.warnings.append(
            {
                "code": code,
                "message": f"{code} ({cap}) reached {where}: the graph has only the {what} "
                "found until then",
                "hop": hop,
            }
        )
        self.stopped = True
        return False


class GraphRunner(Reads):
    """Runs graph queries."""

    def run(self, db: str, request: GraphRequest, branch: str, at: str | None) -> dict[str, Any]:
        _check_caps(request)
        commit, schema = self.commit_and_schema(db, branch, at)
        start = compile_selection(
            schema,
            request.start_class,
            request.filters,
            select=request.select,
            class_field="start_class",
        )
        asked = [HopRequest(h.predicate, h.target_class, h.direction) for h in request.hops]
        plan = plan_hops(schema, request.start_class, asked, exact_predicates(schema))
        selections = [
            compile_selection(
                schema, hop.target_class, spec.filters, select=spec.select, where=f"hops[{i}]."
            )
            for i, (hop, spec) in enumerate(zip(plan, request.hops, strict=True))
        ]
        graph = Graph(request.max_nodes, request.max_edges, request.include_documents)
        page = find_matches(
            self.store, db, commit, start, limit=request.limit, offset=request.offset
        )
        frontier: list[DocState] = []
        for state in page.states:
            if not graph.admit(_key(state), state, start.select, None, None):
                break
            frontier.append(state)
        shown = request.offset + len(frontier)
        depth = self.limits.max_relationship_depth
        if len(plan) > depth:
            graph.warnings.append(
                {
                    "code": "max_hops",
                    "message": f"only the first {depth} of {len(plan)} hops ran: "
                    f"validation.max_relationship_depth is {depth}",
                    "hop": depth,
                }
            )
        for i, (hop, selection) in enumerate(zip(plan[:depth], selections, strict=False)):
            if not frontier or graph.stopped:
                break
            steps = self._steps(db, commit, schema, hop, frontier)
            frontier = _extend(graph, steps, selection, request.no_cycles, i)
        return {
            "nodes": list(graph.nodes.values()),
            "edges": list(graph.edges.values()),
            "next_offset": shown if shown < page.total else None,
            "warnings": graph.warnings,
            "hops": [hop.as_dict() for hop in plan],
            "commit_id": commit,
        }

    def _steps(
        self, db: str, commit: str, schema: Schema, hop: Hop, frontier: list[DocState]
    ) -> list[Step]:
        if hop.direction == "out":
            return self._out(db, commit, hop, frontier)
        return self._in(db, commit, schema, hop, frontier)

    def _out(self, db: str, commit: str, hop: Hop, frontier: list[DocState]) -> list[Step]:
        links = [
            (_key(s), target)
            for s in frontier
            for target in link_ids((s.data or {}).get(hop.predicate))
        ]
        ids = sorted({target for _, target in links})
        refs = [DocRef.of_instance(c, i) for c in hop.looked_up for i in ids]
        found: dict[str, list[DocState]] = {}
        for state in (self.store.get_many(db, commit, refs) if refs else {}).values():
            found.setdefault(state.ref.doc_id, []).append(state)
        steps: list[Step] = []
        for source, target in links:
            states = found.get(target, [])
            if not states:
                missing = (hop.target_class, target)
                steps.append(Step(source, missing, None, (source, missing, hop.predicate)))
            for state in states:
                if state.ref.class_id in hop.reached:
                    steps.append(
                        Step(source, _key(state), state, (source, _key(state), hop.predicate))
                    )
        return steps

    def _in(
        self, db: str, commit: str, schema: Schema, hop: Hop, frontier: list[DocState]
    ) -> list[Step]:
        by_id: dict[str, list[NodeKey]] = {}
        for state in frontier:
            # Only nodes the relationship can point at: ids are unique within a class only.
            if schema.is_subclass_of(state.ref.class_id, hop.relationship_target):
                by_id.setdefault(state.ref.doc_id, []).append(_key(state))
        if not by_id or not hop.reached:
            return []
        holders = self.store.find_docs(db, commit, hop.reached, hop.predicate, sorted(by_id))
        return [
            Step(source, _key(holder), holder, (_key(holder), source, hop.predicate))
            for holder in holders
            for target in link_ids((holder.data or {}).get(hop.predicate))
            for source in by_id.get(target, [])
        ]


def _extend(
    graph: Graph, steps: Iterable[Step], selection: Selection, no_cycles: bool, hop: int
) -> list[DocState]:
    """Admits a hop's steps in order; answers the next frontier (the nodes reached that
    exist, each once)."""
    known = set(graph.nodes)
    reached: dict[NodeKey, DocState] = {}
    for step in sorted(steps, key=lambda s: (s.source, s.reached, s.edge)):
        if selection.conditions and (step.state is None or not selection.passes(step.state)):
            continue
        if no_cycles and step.reached in known:
            continue
        if not graph.admit(step.reached, step.state, selection.select, step.edge, hop):
            break
        if step.state is not None:
            reached.setdefault(step.reached, step.state)
    return list(reached.values())


def _check_caps(request: GraphRequest) -> None:
    for name, value, cap in (
        ("max_nodes", request.max_nodes, MAX_NODES),
        ("max_edges", request.max_edges, MAX_EDGES),
    ):
        if not 1 <= value <= cap:
            raise ValidationFailed(f"{name}: between 1 and {cap}, not {value}", field=name)
