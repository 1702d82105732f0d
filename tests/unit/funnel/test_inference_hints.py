"""Column-name hints in seven languages: they move confidence, never the type."""

from __future__ import annotations

import pytest

from spice_harvester.domain.inference.hints import Concept, concepts
from spice_harvester.domain.ontology.types import ValueType
from tests.unit.funnel.columns import column, kinds

T = ValueType
C = Concept


@pytest.mark.parametrize(
    ("name", "concept"),
    [
        ("email", C.EMAIL),
        ("이메일", C.EMAIL),
        ("メールアドレス", C.EMAIL),
        ("邮箱", C.EMAIL),
        ("correo", C.EMAIL),
        ("E-Mail", C.EMAIL),
        ("courriel", C.EMAIL),
        ("phoneNumber", C.PHONE),
        ("전화번호", C.PHONE),
        ("電話", C.PHONE),
        ("电话", C.PHONE),
        ("teléfono", C.PHONE),
        ("Telefon", C.PHONE),
        ("téléphone", C.PHONE),
        ("order_date", C.DATE),
        ("날짜", C.DATE),
        ("日付", C.DATE),
        ("日期", C.DATE),
        ("fecha", C.DATE),
        ("Datum", C.DATE),
        ("unit_price", C.MONEY),
        ("가격", C.MONEY),
        ("금액", C.MONEY),
        ("価格", C.MONEY),
        ("金額", C.MONEY),
        ("价格", C.MONEY),
        ("precio", C.MONEY),
        ("Preis", C.MONEY),
        ("prix", C.MONEY),
        ("customer_id", C.IDENTIFIER),
        ("주문번호", C.IDENTIFIER),
        ("商品コード", C.CODE),
        ("is_active", C.BOOLEAN),
    ],
)
def test_names_in_each_language_suggest_their_concept(name: str, concept: Concept) -> None:
    assert concept in concepts(name)


def test_words_inside_other_words_do_not_count() -> None:
    assert concepts("this_analysis") == ()
    assert C.BOOLEAN not in concepts("user_is_x")
    assert C.DATE not in concepts("update_count")


def test_a_column_named_phone_full_of_text_is_not_phone() -> None:
    profile = column(["call me", "ask Bob", "n/a later"], name="phone")
    assert profile.inferred_type.type is T.STRING
    assert "name_hint" in kinds(profile)


def test_an_agreeing_name_raises_confidence() -> None:
    values = ["a@example.com", "b@example.org"]
    named = column(values, name="이메일")
    anonymous = column(values, name="x")
    assert named.inferred_type.type is anonymous.inferred_type.type is T.EMAIL
    assert named.inferred_type.confidence > anonymous.inferred_type.confidence
    assert "agrees" in named.inferred_type.reason


def test_a_code_name_keeps_digit_codes_as_strings_but_quantities_stay_numbers() -> None:
    assert column(["206814", "723481"], name="hs_code").inferred_type.type is T.STRING
    assert column(["206814", "723481"], name="qty").inferred_type.type is T.INTEGER
