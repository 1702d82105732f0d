"""Choosing a column's type from its evidence: the most specific type every value fits.

A type is chosen only when every present value fits it, because OMS refuses a value its
type does not accept: 9,999 whole numbers and one "abc" make a string column, reported with
an ambiguity naming the near miss and the values that broke it (`Decision.near_miss`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from spice_harvester.domain.inference.evidence import Candidate, ColumnEvidence
from spice_harvester.domain.inference.hints import EXPECTED, SPECIFIC, Concept, expects
from spice_harvester.domain.inference.model import Ambiguity
from spice_harvester.domain.ontology.types import ValueType

T = ValueType
# Most specific first: when several types fit every value, the earliest wins.
PRIORITY: tuple[ValueType, ...] = (
    T.UUID,
    T.IP,
    T.EMAIL,
    T.URL,
    T.PHONE,
    T.COORDINATE,
    T.DATETIME,
    T.DATE,
    T.TIME,
    T.MONEY,
    T.BOOLEAN,
    T.INTEGER,
    T.DECIMAL,
    T.FLOAT,
    T.OBJECT,
    T.ARRAY,
)
NEAR_MISS_SHARE = 0.9  # below this share a type is not worth naming
ENUM_MAX_VALUES = 20
TEXT_MEAN_LENGTH = 60  # longer values on average make free text, not a string
TEXT_MAX_LENGTH = 255
_STRING_LIKE = frozenset({T.STRING, T.TEXT, T.ENUM})
_UNIQUE_TYPES = frozenset({T.STRING, T.INTEGER, T.UUID, T.EMAIL, T.PHONE, T.URL, T.IP})


@dataclass(frozen=True)
class Decision:
    type: ValueType
    confidence: float
    reason: str
    format: str | None = None
    native: bool = True
    constraints: Mapping[str, Any] = field(default_factory=dict)
    ambiguities: tuple[Ambiguity, ...] = ()
    near_miss: Candidate | None = None  # the type most values fit, when some did not


def decide(evidence: ColumnEvidence) -> Decision:
    """The type, confidence and reason for a column."""
    if evidence.present == 0:
        return Decision(T.STRING, 0.1, f"all {evidence.row_count:,} values are missing")
    full: dict[ValueType, Candidate] = {}
    for candidate in evidence.candidates:  # the first of a type is its preferred reading
        if candidate.matched_rows == evidence.present:
            full.setdefault(candidate.type, candidate)
    chosen = _choose(full, evidence)
    if chosen is not None:
        return _with_hints(chosen, evidence)
    return _with_hints(_string_like(evidence), evidence)


def _choose(full: dict[ValueType, Candidate], evidence: ColumnEvidence) -> Decision | None:
    concepts = evidence.concepts
    if T.BOOLEAN in full and T.INTEGER in full:
        return _zero_one(full, concepts, evidence)
    if T.INTEGER in full and Concept.CODE in concepts and not _numeric_name(concepts):
        return _code_not_number(full[T.INTEGER], evidence)
    for type_ in PRIORITY:
        if type_ in full:
            return _from_candidate(full[type_], evidence)
    return None


def _numeric_name(concepts: tuple[Concept, ...]) -> bool:
    return any(c in concepts for c in (Concept.QUANTITY, Concept.MONEY, Concept.SEQUENCE))


def _from_candidate(candidate: Candidate, evidence: ColumnEvidence, penalty: float = 0) -> Decision:
    # Many distinct values, or many rows, make strong evidence; a handful makes weak evidence.
    plenty = evidence.distinct >= 10 or evidence.present >= 100
    base = 0.95 if plenty else 0.7 + 0.025 * min(evidence.distinct, 10)
    doubts = sum(1 for a in candidate.ambiguities if a.kind != "note")
    confidence = base - 0.1 * min(doubts, 3) - penalty
    reason = f"{_share(candidate.matched_rows, evidence)} are {candidate.detail}"
    return Decision(
        type=candidate.type,
        confidence=confidence,
        reason=reason + _missing_clause(evidence),
        format=candidate.format,
        native=candidate.native,
        constraints=candidate.constraints,
        ambiguities=candidate.ambiguities,
    )


def _zero_one(
    full: dict[ValueType, Candidate], concepts: tuple[Concept, ...], evidence: ColumnEvidence
) -> Decision:
    as_boolean = Concept.BOOLEAN in concepts
    chosen = full[T.BOOLEAN] if as_boolean else full[T.INTEGER]
    other = T.INTEGER if as_boolean else T.BOOLEAN
    why = "the name suggests a flag" if as_boolean else "nothing in the name suggests a flag"
    doubt = Ambiguity(
        kind="type",
        message=f"the values are only 0 and 1: a boolean or an integer; {chosen.type} chosen "
        f"because {why}",
        chosen=chosen.type.value,
        alternatives=(other.value,),
    )
    decision = _from_candidate(chosen, evidence, penalty=0.25)
    return _add(decision, doubt)


def _code_not_number(candidate: Candidate, evidence: ColumnEvidence) -> Decision:
    doubt = Ambiguity(
        kind="type",
        message="the values are whole numbers, but the name says they are codes; kept as text "
        "so that their width and any leading zeros survive",
        chosen=T.STRING.value,
        alternatives=(T.INTEGER.value,),
    )
    decision = _text_decision(
        T.STRING,
        0.8,
        f"{_share(candidate.matched_rows, evidence)} are digit codes{_missing_clause(evidence)}",
        evidence,
    )
    return _add(decision, doubt)


def _string_like(evidence: ColumnEvidence) -> Decision:
    near = _near_miss(evidence)
    text = evidence.text
    long_text = (
        text.mean_length > TEXT_MEAN_LENGTH or text.has_newline or text.max_length > TEXT_MAX_LENGTH
    )
    if near is not None:
        kind = T.TEXT if long_text else T.STRING
        bad = evidence.present - near.matched_rows
        shown = ", ".join(repr(v) for v in near.failing[:3])
        reason = (
            f"{_share(near.matched_rows, evidence)} are {near.detail}, but {bad:,} "
            f"{'is' if bad == 1 else 'are'} not ({shown}); OMS would refuse "
            f"{'it' if bad == 1 else 'them'} as {near.type}, so the column stays {kind}"
        )
        doubt = Ambiguity(
            kind="type",
            message=f"{near.type} except for {bad:,} value{'s' if bad != 1 else ''}: clean "
            f"{'it' if bad == 1 else 'them'} and {near.type} fits",
            chosen=kind.value,
            alternatives=(near.type.value,),
            examples=near.failing[:5],
        )
        decision = _text_decision(kind, 0.6, reason + _missing_clause(evidence), evidence)
        return replace(decision, ambiguities=(doubt,), near_miss=near)
    if evidence.leading_zero_rows:
        reason = (
            f"{evidence.leading_zero_rows:,} values are digits with leading zeros (codes such as "
            f"zip codes keep them), so the column stays text"
        )
        return _text_decision(T.STRING, 0.9, reason + _missing_clause(evidence), evidence)
    if evidence.enum_values is not None and not long_text:
        return _enum(evidence)
    if long_text:
        reason = f"free text averaging {text.mean_length:.0f} characters"
        return _text_decision(T.TEXT, 0.85, reason + _missing_clause(evidence), evidence)
    reason = f"{_share(evidence.present, evidence)} are text that fits no more specific type"
    return _text_decision(T.STRING, 0.85, reason + _missing_clause(evidence), evidence)


def _near_miss(evidence: ColumnEvidence) -> Candidate | None:
    ranked = sorted(
        (c for c in evidence.candidates if c.matched_rows < evidence.present),
        key=lambda c: (-c.matched_rows, PRIORITY.index(c.type) if c.type in PRIORITY else 99),
    )
    if ranked and ranked[0].matched_rows >= NEAR_MISS_SHARE * evidence.present:
        return ranked[0]
    return None


def _enum(evidence: ColumnEvidence) -> Decision:
    values = evidence.enum_values or ()
    reason = (
        f"{_share(evidence.present, evidence)} take one of {len(values)} repeated values"
        + _missing_clause(evidence)
    )
    doubts: tuple[Ambiguity, ...] = ()
    if evidence.case_variants:
        doubts = (
            Ambiguity(
                kind="case",
                message="some values differ only in case; OMS stores each as the spelling "
                "listed in the enum",
                examples=evidence.case_variants[:5],
            ),
        )
    confidence = 0.85 if evidence.present >= 5 * len(values) else 0.7
    return Decision(
        type=T.ENUM,
        confidence=confidence - 0.1 * len(doubts),
        reason=reason,
        native=evidence.text.padded == 0,
        constraints={"values": list(values)},
        ambiguities=doubts,
    )


def _text_decision(
    type_: ValueType, confidence: float, reason: str, evidence: ColumnEvidence
) -> Decision:
    text = evidence.text
    constraints: dict[str, Any] = {"min_length": text.min_length, "max_length": text.max_length}
    if type_ is T.STRING and text.pattern is not None:
        constraints["pattern"] = text.pattern
    return Decision(type_, confidence, reason, constraints=constraints)


def _with_hints(decision: Decision, evidence: ColumnEvidence) -> Decision:
    concepts = evidence.concepts
    if not concepts:
        return decision
    names = ", ".join(c.value for c in concepts)
    if expects(concepts, decision.type):
        return replace(
            decision,
            confidence=decision.confidence + 0.04,
            reason=f"{decision.reason}; the name ({names}) agrees",
        )
    contradicted = [c for c in concepts if c in SPECIFIC and decision.type not in EXPECTED[c]]
    if not contradicted:
        return decision
    said = contradicted[0]
    doubt = Ambiguity(
        kind="name_hint",
        message=f"the name suggests {said.value}, but the values are not {said.value} values",
        chosen=decision.type.value,
        alternatives=tuple(sorted(t.value for t in EXPECTED[said])),
    )
    return _add(replace(decision, confidence=decision.confidence - 0.1), doubt)


def _add(decision: Decision, doubt: Ambiguity) -> Decision:
    return replace(decision, ambiguities=(*decision.ambiguities, doubt))


def _share(count: int, evidence: ColumnEvidence) -> str:
    return f"{count:,} of {evidence.row_count:,} values"


def _missing_clause(evidence: ColumnEvidence) -> str:
    parts = []
    if evidence.blank:
        parts.append(f"{evidence.blank:,} blank{'s' if evidence.blank != 1 else ''}")
    for word, count in evidence.missing_tokens.items():
        parts.append(f"{count:,} {word!r}")
    return "; " + " and ".join(parts) if parts else ""


def clamp(confidence: float) -> float:
    return round(min(0.99, max(0.05, confidence)), 2)


def suggests_unique(evidence: ColumnEvidence, type_: ValueType) -> bool:
    """Unique is suggested for identifier-like types whose present values never repeat."""
    return type_ in _UNIQUE_TYPES and evidence.present > 1 and evidence.distinct == evidence.present


def string_like(type_: ValueType) -> bool:
    return type_ in _STRING_LIKE
