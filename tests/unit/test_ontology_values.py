"""Property types and values: type names, constraints, and every type's stored form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spice_harvester.domain.errors import ValidationFailed
from spice_harvester.domain.ontology.types import (
    Constraints,
    ValueType,
    parse_constraints,
    parse_type_name,
)
from spice_harvester.domain.ontology.values import check_constraints, coerce_default, normalize

T = ValueType
C = Constraints


def stored(value: Any, type_: ValueType, constraints: Constraints | None = None) -> Any:
    return normalize(value, type_, constraints, field="f")


def refusal(value: Any, type_: ValueType, constraints: Constraints | None = None) -> str:
    with pytest.raises(ValidationFailed) as caught:
        normalize(value, type_, constraints, field="f")
    field = caught.value.field
    assert field is not None
    assert field.startswith("f")
    assert caught.value.message.startswith(f"{field} ")
    return caught.value.message


# --- type names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("string", T.STRING),
        ("STRING", T.STRING),
        ("xsd:string", T.STRING),
        ("XSD:String", T.STRING),
        (" money ", T.MONEY),
        ("xsd:int", T.INTEGER),
        ("xsd:integer", T.INTEGER),
        ("xsd:long", T.INTEGER),
        ("xsd:double", T.FLOAT),
        ("xsd:float", T.FLOAT),
        ("xsd:decimal", T.DECIMAL),
        ("xsd:boolean", T.BOOLEAN),
        ("xsd:date", T.DATE),
        ("xsd:dateTime", T.DATETIME),
        ("xsd:time", T.TIME),
        ("xsd:anyURI", T.URL),
    ],
)
def test_type_names_are_read_in_the_manuals_forms_and_xsd_synonyms(
    name: str, expected: ValueType
) -> None:
    assert parse_type_name(name) is expected


def test_every_value_type_is_its_own_name() -> None:
    assert all(parse_type_name(t.value) is t for t in ValueType)


def test_an_unknown_type_name_is_refused_with_the_valid_names() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_type_name("xsd:gYear", field="properties.born.type")
    assert caught.value.field == "properties.born.type"
    assert "'xsd:gYear'" in caught.value.message
    assert "string, text, integer" in caught.value.message


# --- constraints -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "where", "words"),
    [
        ({"min": 5, "max": 1}, "p.constraints", "greater than max"),
        ({"min_length": 3, "max_length": 2}, "p.constraints", "greater than max_length"),
        ({"pattern": "("}, "p.constraints.pattern", "not a valid regular expression"),
        ({"values": []}, "p.constraints.values", "at least one value"),
        ({"values": ["Red", "red"]}, "p.constraints.values", "repeats"),
        ({"currency": "dollars"}, "p.constraints.currency", "ISO 4217"),
        ({"item_type": "xsd:nonsense"}, "p.constraints.item_type", "unknown type"),
        ({"region": "ZZ"}, "p.constraints.region", "region code"),
        ({"min": True}, "p.constraints.min", "must be a number"),
        ({"colour": "red"}, "p.constraints.colour", "Extra inputs"),
        ({"precision": 2, "scale": 3}, "p.constraints", "scale (3) is greater"),
        ({"item_type": "array"}, "p.constraints", "own item_type"),
        ({"items": {"min": 1}}, "p.constraints", "items needs an item_type"),
    ],
)
def test_inconsistent_constraints_are_refused_naming_the_key(
    raw: dict[str, Any], where: str, words: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_constraints(raw, field="p")
    assert caught.value.field == where
    assert words in caught.value.message


def test_constraints_normalise_codes_and_type_names() -> None:
    parsed = parse_constraints(
        {"currency": "usd", "region": "kr", "item_type": "XSD:int"}, field="p"
    )
    assert parsed == C(currency="USD", region="KR", item_type=T.INTEGER)
    assert parse_constraints(None, field="p") is None


def test_arrays_may_nest_three_levels_but_not_without_end() -> None:
    two = {"item_type": "array", "items": {"item_type": "int"}}
    three = {"item_type": "array", "items": two}
    assert parse_constraints(three, field="p") is not None
    with pytest.raises(ValidationFailed, match="at most 3 levels"):
        parse_constraints({"item_type": "array", "items": three}, field="p")


@pytest.mark.parametrize(
    ("type_", "raw", "where"),
    [
        (T.INTEGER, {"pattern": "[0-9]+"}, "p.constraints.pattern"),
        (T.STRING, {"currency": "USD"}, "p.constraints.currency"),
        (T.ENUM, {}, "p.constraints.values"),
        (T.ARRAY, {}, "p.constraints.item_type"),
        (T.ARRAY, {"item_type": "enum"}, "p.constraints.items.values"),
        (T.INTEGER, {"min": "ten"}, "p.constraints.min"),
        (T.DATE, {"min": "2024-02-01", "max": "2024/01/01"}, "p.constraints.min"),
    ],
)
def test_constraints_that_do_not_fit_the_type_are_refused(
    type_: ValueType, raw: dict[str, Any], where: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_constraints(type_, parse_constraints(raw, field="p"), field="p")
    assert caught.value.field == where


def test_checked_date_bounds_come_back_in_stored_form() -> None:
    checked = check_constraints(T.DATE, C(min="2024/01/01"), field="p")
    assert checked.min == "2024-01-01"


# --- accepted forms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "given_value", "expected"),
    [
        (T.STRING, "안녕하세요 こんにちは 🎉", "안녕하세요 こんにちは 🎉"),
        (T.TEXT, "  spaced  ", "  spaced  "),
        (T.INTEGER, 42, 42),
        (T.INTEGER, "-7", -7),
        (T.INTEGER, " +8 ", 8),
        (T.INTEGER, 3.0, 3),
        (T.DECIMAL, "12.50", "12.50"),
        (T.DECIMAL, 0.1, "0.1"),
        (T.DECIMAL, "1E+3", "1000"),
        (T.DECIMAL, "-0.00", "0.00"),
        (T.FLOAT, "2.5", 2.5),
        (T.FLOAT, 7, 7.0),
        (T.BOOLEAN, False, False),
        (T.BOOLEAN, "YES", True),
        (T.BOOLEAN, "0", False),
        (T.DATE, "2024-02-29", "2024-02-29"),
        (T.DATE, "2024/02/29", "2024-02-29"),
        (T.DATE, date(2024, 1, 2), "2024-01-02"),
        (T.DATETIME, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05+00:00"),
        (T.DATETIME, "2024-01-02 03:04:05.5+09:00", "2024-01-02T03:04:05.500000+09:00"),
        (T.DATETIME, "2024-01-02T03:04", "2024-01-02T03:04:00+00:00"),
        (T.TIME, "09:30", "09:30:00"),
        (T.TIME, "23:59:59.25", "23:59:59.250000"),
        (T.EMAIL, "Jane.Doe@Example.COM", "Jane.Doe@example.com"),
        (T.EMAIL, "지원@Bücher.DE", "지원@bücher.de"),
        (T.PHONE, "+82 10-1234-5678", "+821012345678"),
        (T.PHONE, "+1 (650) 253-0000", "+16502530000"),
        (T.URL, "HTTPS://example.com/a?b=1#c", "https://example.com/a?b=1#c"),
        (T.URL, "ftp://files.example.org/pub", "ftp://files.example.org/pub"),
        (T.URL, "https://例え.jp/パス", "https://例え.jp/パス"),
        (T.UUID, "123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
        (T.UUID, "{123e4567e89b12d3a456426614174000}", "123e4567-e89b-12d3-a456-426614174000"),
        (T.IP, "192.168.0.1", "192.168.0.1"),
        (T.IP, "2001:DB8:0:0::1", "2001:db8::1"),
        (T.COORDINATE, "37.56,126.97", {"lat": 37.56, "lon": 126.97}),
        (T.COORDINATE, "37.56, -126.97", {"lat": 37.56, "lon": -126.97}),
        (T.COORDINATE, [37.56, 126], {"lat": 37.56, "lon": 126.0}),
        (T.COORDINATE, {"lat": -90, "lon": 180}, {"lat": -90.0, "lon": 180.0}),
        (T.OBJECT, {"a": [1, {"b": None}], "키": "값"}, {"a": [1, {"b": None}], "키": "값"}),
    ],
)
def test_accepted_forms_are_stored_in_the_documented_form(
    type_: ValueType, given_value: Any, expected: Any
) -> None:
    assert stored(given_value, type_) == expected


@pytest.mark.parametrize(
    ("given_value", "amount", "currency"),
    [
        ("12.50 USD", "12.50", "USD"),
        ("USD 12.50", "12.50", "USD"),
        ("12.50usd", "12.50", "USD"),
        ("$12.50", "12.50", "USD"),
        ("-$3", "-3", "USD"),
        ("€5", "5", "EUR"),
        ("£3.20", "3.20", "GBP"),
        ("¥1000", "1000", "JPY"),
        ("₩12,000", "12000", "KRW"),
        ("EUR 1,234,567.89", "1234567.89", "EUR"),
        ({"amount": "12.50", "currency": "USD"}, "12.50", "USD"),
        ({"amount": 7, "currency": "krw"}, "7", "KRW"),
    ],
)
def test_money_is_read_from_every_documented_form(
    given_value: Any, amount: str, currency: str
) -> None:
    assert stored(given_value, T.MONEY) == {"amount": amount, "currency": currency}


def test_a_money_constraint_supplies_the_currency_of_bare_amounts() -> None:
    krw = C(currency="KRW")
    assert stored(12000, T.MONEY, krw) == {"amount": "12000", "currency": "KRW"}
    assert stored("12,000", T.MONEY, krw) == {"amount": "12000", "currency": "KRW"}
    assert stored({"amount": "5"}, T.MONEY, krw) == {"amount": "5", "currency": "KRW"}
    assert "must be in KRW, not USD" in refusal("$5", T.MONEY, krw)


def test_national_phone_numbers_are_read_with_the_region_constraint() -> None:
    assert stored("010-1234-5678", T.PHONE, C(region="KR")) == "+821012345678"
    assert stored("02-312-3456", T.PHONE, C(region="KR")) == "+8223123456"
    assert "+country code" in refusal("010-1234-5678", T.PHONE)


def test_enum_values_match_exactly_or_by_case_and_store_the_canonical_spelling() -> None:
    colours = C(values=("Red", "Green", "파랑"))
    assert stored("Red", T.ENUM, colours) == "Red"
    assert stored("rED", T.ENUM, colours) == "Red"
    assert stored("파랑", T.ENUM, colours) == "파랑"
    assert "one of Red, Green, 파랑" in refusal("blue", T.ENUM, colours)


def test_array_items_are_normalised_by_item_type_and_named_by_index() -> None:
    tags = C(item_type=T.INTEGER, max_length=3)
    assert stored(["1", 2, 3.0], T.ARRAY, tags) == [1, 2, 3]
    with pytest.raises(ValidationFailed) as caught:
        normalize([1, 2, "x"], T.ARRAY, tags, field="tags")
    assert caught.value.field == "tags[2]"
    assert caught.value.message.startswith("tags[2] must be a whole number")
    nested = C(item_type=T.ARRAY, items=C(item_type=T.DATE))
    assert stored([["2024/01/02"]], T.ARRAY, nested) == [["2024-01-02"]]


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "given_value", "words"),
    [
        (T.STRING, 42, "written as a string"),
        (T.STRING, "a\x00b", "NUL"),
        (T.STRING, "\ud800", "surrogate"),
        (T.INTEGER, 3.5, "whole number"),
        (T.INTEGER, True, "not true"),
        (T.INTEGER, "4.0", "whole number"),
        (T.INTEGER, "٤٢", "whole number"),
        (T.INTEGER, 2**63, "64-bit"),
        (T.INTEGER, "9" * 40, "too large"),
        (T.DECIMAL, "NaN", "must be a number"),
        (T.DECIMAL, float("inf"), "finite"),
        (T.DECIMAL, "1_000", "must be a number"),
        (T.DECIMAL, "1e999999", "too many digits"),
        (T.FLOAT, "inf", "must be a number"),
        (T.FLOAT, "1e400", "finite"),
        (T.BOOLEAN, 1, "true or false"),
        (T.BOOLEAN, "maybe", "true or false"),
        (T.DATE, "2023-02-29", "not a real date"),
        (T.DATE, "20240102", "such as 2024-01-31"),
        (T.DATE, "2024-01-02T00:00:00", "such as 2024-01-31"),
        (T.DATETIME, "2024-01-02", "date and time"),
        (T.DATETIME, "2024-13-02T00:00:00Z", "not a real date and time"),
        (T.TIME, "25:00", "not a real time"),
        (T.TIME, "09:30+09:00", "such as 09:30:00"),
        (T.EMAIL, "Name <a@example.com>", "not a valid email"),
        (T.EMAIL, "a@localhost", "not a valid email"),
        (T.PHONE, "+82 10-1234", "not a valid phone number"),
        (T.PHONE, "hello", "not a phone number"),
        (T.PHONE, "+1 650-253-0000 ext. 123", "extension"),
        (T.PHONE, 821012345678, "written as a string"),
        (T.URL, "example.com/path", "absolute URL"),
        (T.URL, "mailto:a@example.com", "absolute URL"),
        (T.URL, "https://exa mple.com", "spaces"),
        (T.URL, "http://example.com:99999", "not a valid URL"),
        (T.UUID, "123e4567-e89b-12d3-a456", "must be a UUID"),
        (T.IP, "192.168.0.256", "IPv4 or IPv6"),
        (T.IP, "10.0.0.0/8", "IPv4 or IPv6"),
        (T.MONEY, "12.50", "needs a currency"),
        (T.MONEY, "12,50 EUR", "must be money"),
        (T.MONEY, {"amount": "1", "currency": "US Dollar"}, "ISO 4217"),
        (T.MONEY, {"amount": "1", "currency": "USD", "note": "x"}, "amount and currency"),
        (T.COORDINATE, "91,0", "latitude outside"),
        (T.COORDINATE, [0, 181], "longitude outside"),
        (T.COORDINATE, {"lat": "1", "lon": 2}, "needs a number"),
        (T.COORDINATE, "north", "such as"),
        (T.OBJECT, ["not", "an", "object"], "JSON object"),
        (T.OBJECT, {"x": float("nan")}, "JSON cannot represent"),
        (T.OBJECT, {1: "a"}, "not a string"),
        (T.ARRAY, "a,b", "must be a list"),
    ],
)
def test_refusals_name_the_field_and_say_what_was_wrong(
    type_: ValueType, given_value: Any, words: str
) -> None:
    constraints = C(item_type=T.STRING) if type_ is T.ARRAY else None
    assert words in refusal(given_value, type_, constraints)


def test_none_is_refused_as_empty_because_required_ness_is_the_callers() -> None:
    assert refusal(None, T.STRING) == "f is empty"
    assert "f[1] is empty" in refusal(["a", None], T.ARRAY, C(item_type=T.STRING))


def test_long_bad_values_are_shortened_in_messages() -> None:
    message = refusal("x" * 10_000, T.INTEGER)
    assert len(message) < 120
    assert "..." in message


# --- constraint checks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "constraints", "given_value", "words"),
    [
        (T.INTEGER, C(min=0), -3, "is -3, but must be at least 0"),
        (T.FLOAT, C(max=1.5), "1.6", "at most 1.5"),
        (T.DECIMAL, C(min="0.10"), "0.05", "at least 0.10"),
        (T.DECIMAL, C(scale=2), "1.005", "2 digits after the point"),
        (T.DECIMAL, C(precision=4), "123.45", "more than 4 digits"),
        (T.MONEY, C(min=1, currency="USD"), "$0.99", "at least 1"),
        (T.DATE, C(min="2024-01-01"), "2023/12/31", "on or after 2024-01-01"),
        (T.DATETIME, C(max="2024-01-01T00:00:00Z"), "2024-01-01T10:00:00+09:00", "on or before"),
        (T.TIME, C(min="09:00"), "08:59:59", "on or after 09:00"),
        (T.STRING, C(min_length=3), "ab", "has 2 characters, but must have at least 3"),
        (T.TEXT, C(max_length=2), "한국어", "at most 2"),
        (T.ARRAY, C(item_type=T.STRING, min_length=1), [], "has 0 items"),
        (T.STRING, C(pattern="[A-Z]{3}"), "ABCD", "does not match the pattern"),
        (T.EMAIL, C(pattern=".*@example\\.com"), "a@other.org", "does not match"),
    ],
)
def test_constraints_are_enforced_on_the_stored_value(
    type_: ValueType, constraints: Constraints, given_value: Any, words: str
) -> None:
    assert words in refusal(given_value, type_, constraints)


def test_datetime_bounds_compare_instants_not_clock_readings() -> None:
    # 08:00 in Seoul is 23:00 UTC the day before, so it is within a bound of midnight UTC.
    until_new_year = C(max="2024-01-01T00:00:00Z")
    seoul = "2024-01-01T08:00:00+09:00"
    assert stored(seoul, T.DATETIME, until_new_year) == seoul


def test_values_on_the_bounds_are_accepted() -> None:
    assert stored(0, T.INTEGER, C(min=0, max=0)) == 0
    assert stored("2024-01-01", T.DATE, C(min="2024/01/01")) == "2024-01-01"
    assert stored("abc", T.STRING, C(min_length=3, max_length=3, pattern="[a-c]+")) == "abc"


def test_defaults_follow_the_value_rules_and_none_means_no_default() -> None:
    assert coerce_default("₩1,000", T.MONEY, None, "price.default") == {
        "amount": "1000",
        "currency": "KRW",
    }
    assert coerce_default(None, T.INTEGER, None, "age.default") is None
    with pytest.raises(ValidationFailed) as caught:
        coerce_default(-1, T.INTEGER, C(min=0), "age.default")
    assert caught.value.field == "age.default"


# --- properties ------------------------------------------------------------------------------

# Text a database can hold: no NUL, no lone surrogates (normalize refuses both).
_storable = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_minute_offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_regions = sorted(phonenumbers.SUPPORTED_REGIONS)


def _examples() -> list[phonenumbers.PhoneNumber]:
    found = (phonenumbers.example_number(region) for region in _regions)
    return [number for number in found if number is not None]


_phone = st.sampled_from(_examples()).map(
    lambda n: phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
)
_decimal = st.decimals(allow_nan=False, allow_infinity=False, places=3, max_value=10**12)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_storable),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(_storable, max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)

INPUTS: dict[ValueType, st.SearchStrategy[Any]] = {
    T.STRING: st.text(_storable),
    T.TEXT: st.text(_storable),
    T.INTEGER: st.integers(-(2**63), 2**63 - 1) | st.integers(-(10**9), 10**9).map(str),
    T.DECIMAL: _decimal | _decimal.map(str) | st.integers().map(str),
    T.FLOAT: st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6),
    T.BOOLEAN: st.booleans() | st.sampled_from(["TRUE", "no", "Yes", "0", "1", "false"]),
    T.DATE: st.dates().map(lambda d: d.isoformat().replace("-", "/")),
    T.DATETIME: st.datetimes(timezones=st.none() | _minute_offsets).map(datetime.isoformat),
    T.TIME: st.times().map(lambda t: t.isoformat()),
    T.EMAIL: st.from_regex(
        r"[A-Za-z0-9]{1,8}(\.[A-Za-z0-9_+]{1,5})?@[A-Za-z]{1,8}\.(COM|org)", fullmatch=True
    ),
    T.PHONE: _phone,
    T.URL: st.from_regex(
        r"(HTTP|https)://[a-z]{1,8}\.com(/[A-Za-z0-9_~-]{0,6}){0,3}", fullmatch=True
    ),
    T.UUID: st.uuids().map(lambda u: str(u).upper()) | st.uuids().map(lambda u: u.hex),
    T.IP: st.ip_addresses().map(lambda ip: ip.exploded),
    T.MONEY: st.tuples(_decimal, st.sampled_from(["USD", "krw", "EUR"])).map(
        lambda p: f"{p[0]} {p[1]}"
    ),
    T.COORDINATE: st.tuples(st.floats(-90, 90), st.floats(-180, 180)).map(
        lambda p: f"{p[0]!r},{p[1]!r}"
    ),
    T.ENUM: st.sampled_from(["Red", "RED", "green", "파랑"]),
    T.ARRAY: st.lists(st.integers(-100, 100).map(str)),
    T.OBJECT: st.dictionaries(st.text(_storable), _json),
}
RULES: dict[ValueType, Constraints] = {
    T.ENUM: C(values=("Red", "Green", "파랑")),
    T.ARRAY: C(item_type=T.INTEGER),
}


@pytest.mark.parametrize("type_", list(ValueType))
@settings(deadline=None, max_examples=60)
@given(data=st.data())
def test_normalizing_a_stored_value_gives_the_same_stored_value(
    type_: ValueType, data: st.DataObject
) -> None:
    constraints = RULES.get(type_)
    first = normalize(data.draw(INPUTS[type_]), type_, constraints, field="f")
    assert normalize(first, type_, constraints, field="f") == first


@given(number=st.integers(-(2**63), 2**63 - 1))
def test_integers_round_trip_as_numbers_and_as_text(number: int) -> None:
    assert stored(number, T.INTEGER) == number
    assert stored(str(number), T.INTEGER) == number


@given(number=st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_strings_keep_their_value(number: Decimal) -> None:
    text = stored(str(number), T.DECIMAL)
    assert Decimal(text) == number
    if "E" not in str(number):
        assert text == str(abs(number) if number.is_zero() else number)


@given(moment=st.datetimes(timezones=st.just(UTC)))
def test_datetimes_keep_their_instant(moment: datetime) -> None:
    assert datetime.fromisoformat(stored(moment.isoformat(), T.DATETIME)) == moment
