"""Profiling one column of text in a test, and checking values against OMS's own rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from spice_harvester.application.funnel.profiling import profile_table
from spice_harvester.domain.inference.convert import convert_value
from spice_harvester.domain.inference.model import ColumnProfile
from spice_harvester.domain.ontology.types import Constraints
from spice_harvester.domain.ontology.values import check_constraints, normalize


def column(values: Sequence[str | None], name: str = "value", **options: Any) -> ColumnProfile:
    frame = pl.DataFrame({name: pl.Series(name, list(values), dtype=pl.String)})
    return profile_table(frame, **options).columns[0]


def kinds(profile: ColumnProfile) -> set[str]:
    return {ambiguity.kind for ambiguity in profile.ambiguities}


def stored_values(profile: ColumnProfile, values: Sequence[object]) -> list[Any]:
    """Every present value through convert_value and OMS's normaliser, with the suggested
    constraints made consistent by OMS itself first (it raises if they do not fit the type)."""
    type_ = profile.inferred_type.type
    constraints = check_constraints(
        type_, Constraints.model_validate(profile.suggested_constraints), field="f"
    )
    stored = []
    for value in values:
        converted = convert_value(value, profile)
        if converted is not None:
            stored.append(normalize(converted, type_, constraints, field=profile.column_name))
    return stored
