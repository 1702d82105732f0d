"""Text-like types: email, phone, URL, UUID, IP, enums, free text, code patterns, and the
complex types recognised only on request."""

from __future__ import annotations

from spice_harvester.domain.ontology.types import ValueType
from tests.unit.funnel.columns import column, kinds, stored_values

T = ValueType


def test_emails_are_emails_and_one_bad_address_is_reported() -> None:
    good = [f"user{n}@example.com" for n in range(30)]
    assert column(good).inferred_type.type is T.EMAIL
    profile = column([*good, "user@@example.com"])
    assert profile.inferred_type.type is T.STRING
    assert profile.non_matching[0].value == "user@@example.com"


def test_addresses_the_shape_doubts_are_checked_by_the_oms_rule() -> None:
    values = ["José@exämple.com", "a@example.com", "b@example.com"]
    profile = column(values)
    assert profile.inferred_type.type is T.EMAIL
    assert len(stored_values(profile, values)) == 3
    reserved = column(["a@example.test", "b@example.com", "c@example.com"])
    assert reserved.inferred_type.type is not T.EMAIL


def test_international_phone_numbers_give_the_region_for_national_ones() -> None:
    values = ["+82 10-2345-6789", "+82 10-9876-5432", "010-3456-7890", "+82 2-312-3456"]
    profile = column(values, name="phone")
    assert profile.inferred_type.type is T.PHONE
    assert profile.suggested_constraints == {"region": "KR"}
    assert stored_values(profile, values)[2] == "+821034567890"


def test_a_region_parameter_reads_national_numbers() -> None:
    values = ["(415) 555-2671", "415-555-0199", "212 555 0147"]
    profile = column(values, name="tel", phone_region="US")
    assert profile.inferred_type.type is T.PHONE
    assert column(values, name="tel").inferred_type.type is not T.PHONE


def test_an_unassigned_phone_number_is_caught() -> None:
    values = [f"+82 10-2345-{n:04d}" for n in range(40)] + ["+82 10-5999-1234"]
    profile = column(values)
    assert profile.inferred_type.type is T.STRING
    assert profile.non_matching[0].value == "+82 10-5999-1234"


def test_urls_uuids_and_ips() -> None:
    assert column(["https://example.com/a", "http://x.org"]).inferred_type.type is T.URL
    assert column(["www.example.com", "example.org"]).inferred_type.type is T.STRING
    uuids = ["123e4567-e89b-12d3-a456-426614174000", "{123E4567-E89B-12D3-A456-426614174001}"]
    assert column(uuids).inferred_type.type is T.UUID
    assert column(["d41d8cd98f00b204e9800998ecf8427e"] * 2).inferred_type.type is not T.UUID
    assert column(["192.168.0.1", "::1", "2001:db8::8a2e:370:7334"]).inferred_type.type is T.IP
    assert column(["192.168.0.256", "10.0.0.1"]).inferred_type.type is not T.IP


def test_few_repeated_values_make_an_enum_and_case_variants_are_reported() -> None:
    values = ["PAID", "PENDING", "PAID", "paid", "PENDING", "PAID"]
    profile = column(values, name="payment_status")
    assert profile.inferred_type.type is T.ENUM
    assert profile.suggested_constraints == {"values": ["PAID", "PENDING"]}
    assert "case" in kinds(profile)
    assert stored_values(profile, values)[3] == "PAID"


def test_distinct_values_never_make_an_enum() -> None:
    assert column(["Seoul", "Busan", "Incheon"]).inferred_type.type is T.STRING


def test_long_sentences_are_text() -> None:
    sentence = "The parcel arrived late because customs held it for inspection. " * 2
    assert column([sentence, sentence + "Again."]).inferred_type.type is T.TEXT


def test_fixed_shape_codes_get_a_pattern() -> None:
    values = ["SKU-000123", "SKU-004567", "SKU-100000"]
    assert column(values).suggested_constraints["pattern"] == r"^SKU-\d{6}$"
    mixed = ["KO-QTXXWCETGV", "DH-C0WHS14ECI", "UP-AB12CD34EF"]
    assert column(mixed).suggested_constraints["pattern"] == r"^[A-Z0-9]{2}-[A-Z0-9]{10}$"
    assert "pattern" not in column(["Brand1", "Brand22", "Other"]).suggested_constraints


def test_json_arrays_objects_and_coordinates_only_on_request() -> None:
    objects = ['{"qty": 1}', '{"qty": 2, "note": "x"}']
    assert column(objects).inferred_type.type is T.STRING
    profile = column(objects, include_complex_types=True)
    assert profile.inferred_type.type is T.OBJECT
    assert stored_values(profile, objects) == [{"qty": 1}, {"qty": 2, "note": "x"}]
    arrays = ["[1, 2]", "[3]", "[]"]
    array = column(arrays, include_complex_types=True)
    assert array.inferred_type.type is T.ARRAY
    assert array.suggested_constraints == {"item_type": "integer"}
    assert stored_values(array, arrays) == [[1, 2], [3], []]
    points = ["37.56,126.97", "35.1,129.04"]
    assert column(points).inferred_type.type is T.STRING
    assert column(points, include_complex_types=True).inferred_type.type is T.COORDINATE
    assert column(points, name="좌표").inferred_type.type is T.COORDINATE


def test_strings_are_stored_exactly_as_written() -> None:
    values = ["  padded ", "x"]
    profile = column(values)
    assert profile.inferred_type.type is T.STRING
    assert stored_values(profile, values) == values
