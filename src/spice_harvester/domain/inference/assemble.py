"""Putting a column's evidence and decision together into the profile the API returns."""

from __future__ import annotations

from typing import Any

from spice_harvester.domain.inference.decide import Decision, clamp, suggests_unique
from spice_harvester.domain.inference.evidence import ColumnEvidence
from spice_harvester.domain.inference.model import ColumnProfile, InferredType, NonMatching
from spice_harvester.domain.ontology.types import ValueType

T = ValueType


def build_profile(
    evidence: ColumnEvidence, decision: Decision, non_matching: tuple[NonMatching, ...] = ()
) -> ColumnProfile:
    constraints: dict[str, Any] = dict(decision.constraints)
    # Strings are stored exactly as written, so they never need converting.
    needs_conversion = not decision.native and decision.type not in (T.STRING, T.TEXT)
    return ColumnProfile(
        column_name=evidence.name,
        inferred_type=InferredType(
            type=decision.type, confidence=clamp(decision.confidence), reason=decision.reason
        ),
        row_count=evidence.row_count,
        null_count=evidence.missing,
        blank_count=evidence.blank,
        missing_tokens=dict(evidence.missing_tokens),
        unique_count=evidence.distinct,
        sample_values=evidence.sample_values,
        suggested_constraints=constraints,
        required=evidence.missing == 0 and evidence.present > 0,
        unique=suggests_unique(evidence, decision.type),
        format=decision.format,
        needs_conversion=needs_conversion,
        ambiguities=decision.ambiguities,
        non_matching=non_matching,
        name_hints=tuple(concept.value for concept in evidence.concepts),
    )
