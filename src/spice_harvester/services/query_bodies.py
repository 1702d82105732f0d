"""Request bodies of structured and graph queries, the same on OMS (ids) and BFF (ids or labels).

Shapes only: operators, types of values and names are judged by `domain/query`, so that a
refusal names the filter it is about (`filters[2].value`) in both services alike.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from spice_harvester.domain.query.filters import OPERATORS

MAX_FILTERS = 50
# Which side answers a full-text search (application/search.py), on OMS and BFF alike.
SearchSource = Annotated[
    Literal["auto", "index", "store"],
    Query(
        description="auto: the search read model when it reflects the branch head, else "
        "the store; index: the read model however far behind (see index_status); "
        "store: always the store."
    ),
]
MAX_HOPS = 20
MAX_SELECT = 200


class _Body(BaseModel):
    # A misspelt key ("filter") must be refused, not ignored.
    model_config = ConfigDict(extra="forbid")


class FilterBody(_Body):
    field: str = Field(min_length=1, max_length=200, description="A field id (or label on BFF).")
    operator: str = Field(
        min_length=1, max_length=20, description=f"One of {', '.join(OPERATORS)}."
    )
    value: Any = Field(
        None,
        description="Read as a value of the field's type; a list for in and not_in; "
        "a pattern with % and _ for like; none for is_null and is_not_null.",
    )


class QueryFields(_Body):
    filters: list[FilterBody] = Field(default_factory=list, max_length=MAX_FILTERS)
    select: list[str] | None = Field(
        None, max_length=MAX_SELECT, description="Fields kept in each instance's data."
    )
    order_by: str | None = Field(None, min_length=1, max_length=200)
    order_direction: Literal["asc", "desc"] = "asc"
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class HopBody(_Body):
    predicate: str = Field(min_length=1, max_length=200)
    target_class: str | None = Field(None, min_length=1, max_length=200)
    direction: Literal["out", "in"] | None = Field(
        None,
        description="out: along the current class's relationship; in: along target_class's "
        "relationship pointing back. Left out: out when the current class has the predicate, "
        "else in when exactly one class has it pointing back.",
    )
    filters: list[FilterBody] = Field(default_factory=list, max_length=MAX_FILTERS)
    select: list[str] | None = Field(None, max_length=MAX_SELECT)


class GraphBody(_Body):
    start_class: str = Field(min_length=1, max_length=200)
    hops: list[HopBody] = Field(default_factory=list, max_length=MAX_HOPS)
    filters: list[FilterBody] = Field(default_factory=list, max_length=MAX_FILTERS)
    select: list[str] | None = Field(None, max_length=MAX_SELECT)
    limit: int = Field(100, ge=1, le=1000, description="Start nodes per page.")
    offset: int = Field(0, ge=0, le=1_000_000_000)
    max_nodes: int = Field(1000, ge=1, le=10_000)
    max_edges: int = Field(5000, ge=1, le=50_000)
    no_cycles: bool = Field(False, description="Never go back to a node an earlier hop found.")
    include_documents: bool = True
