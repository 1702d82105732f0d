"""What the read models hold for documents, and how changes alter them (no database)."""

from __future__ import annotations

import pytest

from spice_harvester.application.projections.changes import DocChange, changes_between
from spice_harvester.application.projections.read_models import (
    Lineage,
    class_counts,
    count_deltas,
    lineage_edits,
    lineage_rows,
    search_edits,
    search_rows,
)
from spice_harvester.application.projections.retry import RetryPolicy
from spice_harvester.application.projections.search_text import (
    MAX_TEXT,
    TextQuery,
    document_text,
    like_pattern,
)
from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.versioning.documents import DocRef, DocState

ANN = DocRef.of_instance("Person", "ann")
BOB = DocRef.of_instance("Person", "bob")
PERSON = DocRef.of_class("Person")


def state(
    ref: DocRef, data: dict[str, object] | None, seq: int = 1, commit: str = "c1"
) -> DocState:
    return DocState(ref, seq, data, commit)


def test_the_indexed_text_is_the_folded_id_and_every_string_value() -> None:
    text = document_text(
        state(ANN, {"name": "Ann  LEE", "n": 3, "tags": ["ＶＩＰ", {"city": "서울 "}], "ok": True})
    )
    assert text == "ann\nann lee\nvip\n서울"
    assert document_text(state(PERSON, {"label": "Person"})) is None
    assert document_text(state(ANN, None)) is None
    huge = document_text(state(ANN, {"blob": "x" * (MAX_TEXT + 10)}))
    assert huge is not None
    assert len(huge) == MAX_TEXT


def test_a_query_is_folded_and_split_into_distinct_terms() -> None:
    query = TextQuery.parse("  Ｓｐｉｃｅ  spice 하베스터 ")
    assert (query.text, query.terms) == ("spice spice 하베스터", ("spice", "하베스터"))
    with pytest.raises(ValidationFailed):
        TextQuery.parse(" \t ")
    with pytest.raises(ValidationFailed):
        TextQuery.parse(" ".join(f"t{n}" for n in range(21)))
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_changes_keep_only_documents_whose_visible_version_differs() -> None:
    before = {ANN.key: state(ANN, {"a": 1}), BOB.key: state(BOB, {"b": 1})}
    after = {ANN.key: state(ANN, {"a": 2}, seq=2, commit="c2"), BOB.key: before[BOB.key]}
    changes = changes_between([ANN.key, BOB.key, "instance:Person/nobody"], before, after)
    assert [change.key for change in changes] == [ANN.key]


def test_search_edits_upsert_live_instances_and_delete_the_rest() -> None:
    changes = [
        DocChange(ANN.key, None, state(ANN, {"name": "Ann"})),
        DocChange(BOB.key, state(BOB, {"name": "Bob"}), state(BOB, None, seq=2)),
        DocChange(PERSON.key, None, state(PERSON, {"label": "Person"})),
    ]
    edits = search_edits(changes)
    assert edits.upserts == {("Person", "ann"): "ann\nann"}
    assert edits.deletes == [("Person", "bob")]
    assert search_rows([state(ANN, {"name": "Ann"}), state(BOB, None)]) == {
        ("Person", "ann"): "ann\nann"
    }


def test_counts_move_by_the_instances_that_appear_and_disappear() -> None:
    place = DocRef.of_instance("Place", "icn")
    changes = [
        DocChange(ANN.key, None, state(ANN, {})),
        DocChange(BOB.key, state(BOB, {}), None),
        DocChange(place.key, None, state(place, {})),
        DocChange(PERSON.key, None, state(PERSON, {})),
        DocChange(DocRef.of_instance("Place", "x").key, state(place, {}), state(place, {"a": 1})),
    ]
    assert count_deltas(changes) == {"Place": 1}
    assert class_counts([state(ANN, {}), state(BOB, None), state(place, {})]) == {
        "Person": 1,
        "Place": 1,
    }


def test_lineage_names_the_version_commit_and_command_of_each_live_document() -> None:
    states = [state(ANN, {}, seq=3, commit="c3"), state(PERSON, {}, commit="c1"), state(BOB, None)]
    assert lineage_rows(states, {"c3": "cmd-3", "c1": None}) == {
        ANN.key: Lineage(3, "c3", "cmd-3"),
        PERSON.key: Lineage(1, "c1", None),
    }
    edits = lineage_edits(
        [DocChange(ANN.key, None, states[0]), DocChange(BOB.key, states[2], None)]
    )
    assert (edits.upserts, edits.deletes) == ({ANN.key: (3, "c3")}, [BOB.key])


def test_retries_back_off_exponentially_up_to_a_cap_then_give_up() -> None:
    policy = RetryPolicy(max_attempts=4, base_seconds=0.5, max_seconds=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [policy.exhausted(n) for n in (3, 4)] == [False, True]
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
