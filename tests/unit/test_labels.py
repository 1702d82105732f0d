"""Labels to ids and back: classes, inherited fields, languages, ambiguity and unknown labels."""

from __future__ import annotations

from typing import Any

import pytest

from spice_harvester.application.labels import LabelIndex, pick_label, preferred_languages
from spice_harvester.domain.errors import MalformedInput, NotFound

CLASSES: list[dict[str, Any]] = [
    {
        "id": "Customer",
        "label": {"en": "Customer", "ko": "고객", "ja": "顧客"},
        "properties": [
            {"name": "customer_id", "type": "string", "label": {"en": "Customer ID"}},
            {"name": "name", "type": "string", "label": {"en": "Name", "ko": "이름", "ja": "名前"}},
            {"name": "grade", "type": "string", "label": "Grade"},
        ],
        "version": 1,
        "commit_id": "c1",
    },
    {
        "id": "VipCustomer",
        "label": {"en": "VIP customer", "ko": "우수 고객"},
        "parent_class": "Customer",
        "properties": [{"name": "tier", "type": "string", "label": {"ko": "등급"}}],
        "version": 1,
        "commit_id": "c1",
    },
    {
        "id": "Product",
        "label": {"en": "Product", "ko": "제품", "ja": "製品"},
        "properties": [
            {"name": "product_id", "type": "string"},
            {"name": "name", "type": "string", "label": {"en": "Name", "ko": "제품명"}},
        ],
        "relationships": [
            {
                "predicate": "owned_by",
                "target": "Customer",
                "cardinality": "n:1",
                "label": {"en": "Owned by", "ko": "소유자"},
            }
        ],
        "version": 3,
        "commit_id": "c2",
    },
    # Two classes sharing a label, and a class whose id is another class's label.
    {"id": "Order", "label": {"en": "Purchase", "ko": "주문"}, "version": 1, "commit_id": "c1"},
    {"id": "Purchase", "label": "Buying", "version": 1, "commit_id": "c1"},
    {"id": "Shipment", "label": {"en": "Delivery"}, "version": 1, "commit_id": "c1"},
    {"id": "Parcel", "label": {"en": "Delivery", "fr": "Colis"}, "version": 1, "commit_id": "c1"},
]


@pytest.fixture
def index() -> LabelIndex:
    return LabelIndex.from_classes(CLASSES)


@pytest.mark.parametrize(
    ("label", "class_id"),
    [
        ("Customer", "Customer"),
        ("고객", "Customer"),
        ("顧客", "Customer"),
        ("제품", "Product"),
        ("製品", "Product"),
        ("우수 고객", "VipCustomer"),
        ("customer", "Customer"),  # an id, case ignored
        ("PRODUCT", "Product"),
        ("  vip CUSTOMER ", "VipCustomer"),  # a label, case and spaces ignored
        ("주문", "Order"),
    ],
)
def test_a_class_is_found_by_its_id_or_any_label(
    index: LabelIndex, label: str, class_id: str
) -> None:
    assert index.class_id(label) == class_id


def test_an_id_wins_over_another_class_s_label(index: LabelIndex) -> None:
    # Order is labelled "Purchase", but Purchase is an id.
    assert index.class_id("Purchase") == "Purchase"
    assert index.class_id("Buying") == "Purchase"


def test_labels_are_compared_in_one_unicode_normal_form(index: LabelIndex) -> None:
    decomposed = "\u1100\u1169\u1100\u1162\u11a8"  # 고객 as conjoining jamo (NFD)
    assert decomposed != "고객"
    assert index.class_id(decomposed) == "Customer"


def test_a_label_two_classes_share_is_400_naming_both(index: LabelIndex) -> None:
    with pytest.raises(MalformedInput) as caught:
        index.class_id("Delivery")
    assert caught.value.data == {"label": "Delivery", "candidates": ["Parcel", "Shipment"]}
    assert "Parcel" in caught.value.message
    assert "Shipment" in caught.value.message
    assert caught.value.field == "class_label"
    assert index.class_id("Colis") == "Parcel"


def test_an_unknown_label_is_404_naming_it(index: LabelIndex) -> None:
    with pytest.raises(NotFound) as caught:
        index.class_id("공급자")
    assert "'공급자'" in caught.value.message
    assert caught.value.data == {"label": "공급자"}


def test_fields_include_inherited_ones_by_id_or_label(index: LabelIndex) -> None:
    assert index.field_id("VipCustomer", "이름") == "name"
    assert index.field_id("VipCustomer", "名前") == "name"
    assert index.field_id("VipCustomer", "등급") == "tier"
    assert index.field_id("Product", "소유자") == "owned_by"
    assert index.field_id("Product", "owned by") == "owned_by"
    with pytest.raises(NotFound) as caught:
        index.field_id("Customer", "등급")  # tier belongs to the subclass only
    assert "Customer" in caught.value.message


def test_a_payload_s_label_keys_become_ids_and_values_stay(index: LabelIndex) -> None:
    data = {"제품명": "Widget", "product_id": "p1", "소유자": "Customer/고객", "colour": "red"}
    assert index.data_to_ids("Product", data) == {
        "name": "Widget",
        "product_id": "p1",
        "owned_by": "Customer/고객",
        "colour": "red",  # no such field: left for OMS to refuse, naming it
    }


def test_two_keys_naming_one_field_are_refused(index: LabelIndex) -> None:
    with pytest.raises(MalformedInput) as caught:
        index.data_to_ids("Customer", {"name": "a", "이름": "b"}, where="instances[2]")
    assert caught.value.field == "instances[2].이름"
    assert caught.value.data == {"field": "name", "keys": ["name", "이름"]}


def test_a_class_body_may_name_parent_and_targets_by_label(index: LabelIndex) -> None:
    body = {
        "id": "Review",
        "label": "Review",
        "parent_class": "제품",
        "relationships": [
            {"predicate": "author", "target": "고객", "cardinality": "n:1"},
            {"predicate": "self", "target": "Review", "cardinality": "n:1"},
        ],
    }
    rewritten = index.class_refs_to_ids(body)
    assert rewritten["parent_class"] == "Product"
    assert [r["target"] for r in rewritten["relationships"]] == ["Customer", "Review"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ()),
        ("", ()),
        ("ko", ("ko",)),
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", ("ko-kr", "ko", "en-us", "en")),
        ("en;q=0.2, ja;q=0.8, ko", ("ko", "ja", "en")),
        ("fr;q=0, ko;q=0.5", ("ko",)),  # q=0: not this one
        ("ja;q=abc, ko;q=0.3", ("ko",)),  # a malformed entry is skipped
        ("*;q=0.1, de", ("de", "*")),
    ],
)
def test_accept_language_is_ranked_by_q_values(
    header: str | None, expected: tuple[str, ...]
) -> None:
    assert preferred_languages(header) == expected


def test_labels_follow_the_client_s_language_then_english_then_the_id(
    index: LabelIndex,
) -> None:
    korean = preferred_languages("ko-KR,ko;q=0.9")
    japanese = preferred_languages("ja")
    german = preferred_languages("de")
    assert index.class_label("Customer", korean) == "고객"
    assert index.class_label("Customer", japanese) == "顧客"
    assert index.class_label("Customer", german) == "Customer"
    assert index.field_labels("VipCustomer", korean) == {
        "customer_id": "Customer ID",
        "name": "이름",
        "grade": "Grade",
        "tier": "등급",
    }
    assert index.field_labels("VipCustomer", german)["tier"] == "tier"  # no en: the id
    assert index.field_labels("Product", japanese) == {
        "product_id": "product_id",
        "name": "Name",
        "owned_by": "Owned by",
    }


def test_a_language_finds_its_regional_and_script_variants() -> None:
    label = {"en": "Colour", "en-US": "Color", "zh-Hant": "顏色", "pt-BR": "Cor"}
    assert pick_label(label, ("en-us",), "colour") == "Color"
    assert pick_label(label, ("en-gb",), "colour") == "Colour"
    assert pick_label(label, ("zh",), "colour") == "顏色"
    assert pick_label(label, ("zh-hant-tw",), "colour") == "顏色"
    assert pick_label(label, ("pt",), "colour") == "Cor"
    assert pick_label(label, ("*",), "colour") == "Colour"
    assert pick_label({"ja": "色"}, ("*",), "colour") == "色"
    assert pick_label("Colour", ("ko",), "colour") == "Colour"
    assert pick_label(None, ("ko",), "colour") == "colour"


def test_a_class_oms_would_not_accept_is_still_indexed_by_what_it_declares() -> None:
    index = LabelIndex.from_classes(
        [{"id": "Odd", "label": "기묘", "future_option": True, "properties": [{"name": "x"}]}]
    )
    assert index.class_id("기묘") == "Odd"
    assert index.field_id("Odd", "x") == "x"
