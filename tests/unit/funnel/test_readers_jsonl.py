"""Reading JSON lines and JSON arrays of objects into tables of strings."""

from __future__ import annotations

import json

import pytest

from spice_harvester.application.funnel.readers import read_json_bytes, read_jsonl_bytes
from spice_harvester.domain.errors import ValidationFailed


def lines(*records: str) -> bytes:
    return "\n".join(records).encode()


def test_columns_are_the_union_of_keys_in_first_seen_order() -> None:
    table = read_jsonl_bytes(lines('{"b": 1, "a": "x"}', '{"c": true, "a": "y"}', '{"d": null}'))
    assert table.frame.columns == ["b", "a", "c", "d"]
    assert list(table.frame.iter_rows()) == [
        ("1", "x", None, None),
        (None, "y", "true", None),
        (None, None, None, None),
    ]
    assert table.report.format == "jsonl"


def test_numbers_keep_their_written_digits_and_strings_stay_verbatim() -> None:
    table = read_jsonl_bytes(lines('{"price": 1.50, "code": "007", "n": 10, "big": 1e5}'))
    assert table.frame.row(0) == ("1.50", "007", "10", "1E+5")


def test_nested_values_become_their_json_text() -> None:
    record = {"id": "o1", "lines": [{"sku": "A", "qty": 2}], "meta": {"city": "서울"}}
    table = read_jsonl_bytes(json.dumps(record, ensure_ascii=False).encode())
    assert json.loads(table.frame["lines"][0]) == [{"sku": "A", "qty": 2}]
    assert table.frame["meta"][0] == '{"city": "서울"}'


def test_blank_lines_and_windows_line_endings_are_fine() -> None:
    table = read_jsonl_bytes(b'{"a": 1}\r\n\r\n{"a": 2}\r\n')
    assert table.frame["a"].to_list() == ["1", "2"]


def test_a_line_separator_inside_a_string_does_not_split_the_record() -> None:
    table = read_jsonl_bytes('{"note": "one\u2028two"}\n'.encode())
    assert table.frame["note"].to_list() == ["one\u2028two"]


def test_a_bad_line_is_reported_with_its_number() -> None:
    with pytest.raises(ValidationFailed, match="line 3 is not valid JSON") as caught:
        read_jsonl_bytes(lines('{"a": 1}', '{"a": 2}', '{"a": 3', '{"a": 4}'), name="events")
    assert caught.value.data == {"line": 3}
    assert "events" in caught.value.message


def test_a_line_that_is_not_an_object_is_reported() -> None:
    with pytest.raises(ValidationFailed, match="line 2 is an array, not a JSON object"):
        read_jsonl_bytes(lines('{"a": 1}', "[1, 2]"))


def test_an_empty_key_gets_a_column_name() -> None:
    table = read_jsonl_bytes(lines('{"": "x", "a": "y"}'))
    assert table.frame.columns == ["column_1", "a"]


def test_a_json_array_of_objects_reads_like_lines() -> None:
    table = read_json_bytes(b'[{"a": "1"}, {"a": "2", "b": 2.0}]')
    assert table.report.format == "json"
    assert list(table.frame.iter_rows()) == [("1", None), ("2", "2.0")]


def test_a_json_file_holding_lines_is_read_as_json_lines() -> None:
    table = read_json_bytes(lines('{"a": 1}', '{"a": 2}'))
    assert table.report.format == "jsonl"
    assert table.frame.height == 2


def test_a_json_array_of_scalars_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="item 1 of the array is a string"):
        read_json_bytes(b'[{"a": 1}, "x"]')


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="empty"):
        read_jsonl_bytes(b"\n\n")
