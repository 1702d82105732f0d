"""suggest_schema: a profile becomes a class that OMS accepts, with the detected key."""

from __future__ import annotations

from spice_harvester.application.funnel.profiling import profile_rows
from spice_harvester.application.funnel.suggest import suggest_schema
from spice_harvester.domain.ontology.classes import ClassDef


def test_the_suggested_class_is_valid_for_oms_and_carries_the_key() -> None:
    profile = profile_rows(
        ["customer_id", "E-Mail", "가입일", "status", "score"],
        [
            ["C-001", "a@example.com", "2024-01-02", "NEW", 1.5],
            ["C-002", "b@example.com", "2024-02-03", "NEW", 2],
            ["C-003", None, "2024-03-04", "OLD", True],
            ["C-004", "d@example.com", "2024-03-05", "OLD", None],
        ],
    )
    suggested = suggest_schema(profile, "Customer")
    checked = ClassDef.from_api(suggested)
    assert checked.id == "Customer"
    assert checked.key == ("customer_id",)
    email = checked.properties[1]
    assert (email.name, email.label, email.type.value, email.required) == (
        "E_Mail",
        "E-Mail",
        "email",
        False,
    )
    joined = checked.properties[2]
    assert (joined.name, joined.label, joined.type.value) == ("column_3", "가입일", "date")
    assert checked.properties[3].constraints is not None
    assert checked.properties[3].constraints.values == ("NEW", "OLD")


def test_json_cells_are_read_faithfully() -> None:
    profile = profile_rows(["n", "flag"], [[1, True], [2.5, False], [None, None]])
    assert profile.column("n").sample_values == ("1", "2.5")
    assert profile.column("flag").inferred_type.type.value == "boolean"


def test_a_class_name_that_is_no_class_id_is_made_into_one() -> None:
    profile = profile_rows(["a"], [["x"], ["y"]])
    suggested = suggest_schema(profile, "order items")
    assert (suggested["id"], suggested["label"]) == ("OrderItem", "order items")
