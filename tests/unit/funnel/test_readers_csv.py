"""Reading delimited text: encodings, delimiters, quoting, ragged records, values verbatim."""

from __future__ import annotations

import codecs

import polars as pl
import pytest

from spice_harvester.application.funnel.readers import (
    decode_text,
    detect_delimiter,
    read_csv_bytes,
)
from spice_harvester.domain.errors import ValidationFailed

KOREAN = "주문번호,고객,도시\n007,김철수,서울\n008,이영희,부산\n"
JAPANESE = "商品名,価格,産地\nコーヒー,300,静岡\nお茶,150,宇治\n"
WESTERN = "name,city,note\nJosé,Zürich,café crème\nFrançois,Besançon,3€\n"


def rows_of(frame: pl.DataFrame) -> list[tuple[str | None, ...]]:
    return list(frame.iter_rows())


def test_cp949_korean_reads_as_cp949_with_hangul_intact() -> None:
    table = read_csv_bytes(KOREAN.encode("cp949"))
    assert table.report.encoding == "cp949"
    assert table.frame.columns == ["주문번호", "고객", "도시"]
    assert rows_of(table.frame) == [("007", "김철수", "서울"), ("008", "이영희", "부산")]


def test_euc_kr_bytes_read_through_cp949_its_superset() -> None:
    table = read_csv_bytes(KOREAN.encode("euc_kr"))
    assert table.report.encoding == "cp949"
    assert table.frame["고객"].to_list() == ["김철수", "이영희"]


def test_shift_jis_japanese_reads_right() -> None:
    table = read_csv_bytes(JAPANESE.encode("shift_jis"))
    assert table.report.encoding == "cp932"
    assert table.frame.columns == ["商品名", "価格", "産地"]
    assert rows_of(table.frame) == [("コーヒー", "300", "静岡"), ("お茶", "150", "宇治")]


def test_cp1252_western_text_reads_right() -> None:
    table = read_csv_bytes(WESTERN.encode("cp1252"))
    assert table.report.encoding == "cp1252"
    assert rows_of(table.frame)[1] == ("François", "Besançon", "3€")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_reads_right(codec: str) -> None:
    mark = {"utf-16": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}
    content = mark[codec] + KOREAN.encode(codec)
    table = read_csv_bytes(content)
    assert table.report.encoding == "utf-16"
    assert table.frame.columns == ["주문번호", "고객", "도시"]
    assert table.frame["도시"].to_list() == ["서울", "부산"]


def test_utf16_without_a_byte_order_mark_is_recognised_from_its_zero_bytes() -> None:
    table = read_csv_bytes("id,name\n1,Ann\n2,Bob\n".encode("utf-16-le"))
    assert table.report.encoding == "utf-16-le"
    assert table.frame["name"].to_list() == ["Ann", "Bob"]


def test_utf8_byte_order_mark_does_not_leak_into_the_first_column_name() -> None:
    table = read_csv_bytes(codecs.BOM_UTF8 + KOREAN.encode("utf-8"))
    assert table.report.encoding == "utf-8-sig"
    assert table.frame.columns[0] == "주문번호"


def test_plain_utf8_is_tried_first() -> None:
    table = read_csv_bytes(JAPANESE.encode("utf-8"))
    assert table.report.encoding == "utf-8"
    assert table.frame["産地"].to_list() == ["静岡", "宇治"]


def test_a_few_korean_words_in_a_large_ascii_file_still_choose_cp949() -> None:
    lines = ["order_id,city"] + [f"ORD-{n:07d},Incheon" for n in range(20_000)] + ["ORD-X,서울"]
    table = read_csv_bytes("\n".join(lines).encode("cp949"))
    assert table.report.encoding == "cp949"
    assert table.frame["city"].to_list()[-1] == "서울"


def test_bytes_no_candidate_decodes_fall_back_to_latin1_with_a_warning() -> None:
    decoded = decode_text(b"a,b\n\x81\x8d,\x9d\xff\n")
    assert decoded.encoding == "latin-1"
    assert decoded.warnings


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_usual_delimiter_is_detected(delimiter: str) -> None:
    text = delimiter.join(["id", "name", "price"]) + "\n"
    text += delimiter.join(["001", "Kim, Minsu", "1,5"]) + "\n"
    text += delimiter.join(["002", "Lee", "2,0"]) + "\n"
    if delimiter == ",":
        text = 'id,name,price\n001,"Kim, Minsu","1,5"\n002,Lee,"2,0"\n'
    table = read_csv_bytes(text.encode())
    assert table.report.delimiter == delimiter
    assert rows_of(table.frame) == [("001", "Kim, Minsu", "1,5"), ("002", "Lee", "2,0")]


def test_ragged_sample_that_defeats_the_sniffer_still_finds_the_delimiter() -> None:
    assert detect_delimiter("a;b;c\n1;2\n3;4;5;6\n7;8;9\n") == ";"


def test_a_file_with_one_column_is_not_split_on_commas_in_its_values() -> None:
    table = read_csv_bytes(b"full_name\nKim, Minsu\nLee, Jisoo\n")
    assert table.report.delimiter is None
    assert table.frame.columns == ["full_name"]
    assert table.frame["full_name"].to_list() == ["Kim, Minsu", "Lee, Jisoo"]


def test_quoted_fields_keep_embedded_line_breaks_and_doubled_quotes() -> None:
    content = b'id,note\n1,"first line\nsecond line"\n2,"say ""hi"""\r\n3,plain\n'
    table = read_csv_bytes(content)
    assert table.frame["note"].to_list() == ["first line\nsecond line", 'say "hi"', "plain"]


def test_values_stay_verbatim_and_empty_fields_are_null() -> None:
    content = b"code,amount,date,flag\n007,1.50,2025-05-01,TRUE\n,  ,01/02/2025,\n"
    table = read_csv_bytes(content)
    assert table.frame.schema == pl.Schema(dict.fromkeys(table.frame.columns, pl.String))
    assert rows_of(table.frame) == [
        ("007", "1.50", "2025-05-01", "TRUE"),
        (None, "  ", "01/02/2025", None),
    ]


def test_ragged_records_are_kept_and_their_lines_reported() -> None:
    content = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    table = read_csv_bytes(content)
    assert table.frame.columns == ["a", "b", "c", "column_4"]
    assert rows_of(table.frame) == [
        ("1", "2", "3", None),
        ("4", "5", None, None),
        ("6", "7", "8", "9"),
        ("10", "11", "12", None),
    ]
    assert table.report.ragged_lines == (3, 4)
    assert any("different number of fields" in warning for warning in table.report.warnings)


def test_blank_and_repeated_header_names_are_made_unique_and_reported() -> None:
    table = read_csv_bytes(b"name,,name, name \n1,2,3,4\n")
    assert table.frame.columns == ["name", "column_2", "name_2", "name_3"]
    assert len(table.report.warnings) == 3


def test_blank_lines_are_skipped_and_crlf_endings_read() -> None:
    table = read_csv_bytes(b"\r\n\r\nx;y\r\n1;2\r\n\r\n3;4\r\n")
    assert table.frame.columns == ["x", "y"]
    assert rows_of(table.frame) == [("1", "2"), ("3", "4")]


def test_a_header_alone_gives_an_empty_table_with_its_columns() -> None:
    table = read_csv_bytes(b"id,name\n")
    assert table.frame.columns == ["id", "name"]
    assert table.frame.height == 0
    assert table.report.rows == 0


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="empty"):
        read_csv_bytes(b"  \n\n")


def test_a_quote_left_open_is_refused_naming_its_line() -> None:
    with pytest.raises(ValidationFailed, match="line 3") as caught:
        read_csv_bytes(b'a,b\n1,2\n3,"never closed\n4,5\n6,7\n')
    assert caught.value.data == {"line": 3}


def test_report_names_encoding_delimiter_and_size() -> None:
    table = read_csv_bytes(b"a|b\n1|2\n3|4\n", name="pipes")
    assert table.name == "pipes"
    assert table.report.to_json() == {
        "format": "csv",
        "rows": 2,
        "columns": 2,
        "encoding": "utf-8",
        "delimiter": "|",
        "ragged_lines": [],
        "warnings": [],
        "source": None,
    }
