"""Dates, datetimes and times: the ways they are written and which of them OMS reads as is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

_D = r"(?:0?[1-9]|[12][0-9]|3[01])"  # a day of the month, one or two digits
_M = r"(?:0?[1-9]|1[0-2])"
_Y = r"[0-9]{4}"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])"

# What OMS reads as it is; hours, minutes and offsets are range-checked here, the calendar
# date (no 31 February) by parsing.
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
ISO_SLASH_DATE = r"^[0-9]{4}/[0-9]{2}/[0-9]{2}$"
ISO_DATETIME = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[Tt ]{_CLOCK}{_OFFSET}?$"
ISO_DATETIME_WITH_OFFSET = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[Tt ]{_CLOCK}{_OFFSET}$"
ISO_TIME = rf"^{_CLOCK}$"


@dataclass(frozen=True)
class DateFormat:
    """One way of writing a calendar date: its shape and the strptime pattern reading it."""

    strptime: str
    shape: str  # anchored regular expression, Python and polars alike
    day_first: bool | None = None  # for formats with a twin reading the other way round
    squeeze: bool = False  # spaces are dropped before parsing (Korean "2024년 1월 2일")

    def parse(self, text: str) -> date | None:
        candidate = text.strip()
        if not re.fullmatch(self.shape, candidate):
            return None
        if self.squeeze:
            candidate = re.sub(r"\s+", "", candidate)
        try:
            return datetime.strptime(candidate, self.parse_pattern).date()
        except ValueError:
            return None

    @property
    def parse_pattern(self) -> str:
        return self.strptime.replace(" ", "") if self.squeeze else self.strptime


def _numeric(order: str, separator: str) -> str:
    parts = {"Y": _Y, "M": _M, "D": _D}
    return "^" + re.escape(separator).join(parts[part] for part in order) + "$"


def _strptime(order: str, separator: str) -> str:
    codes = {"Y": "%Y", "M": "%m", "D": "%d"}
    return separator.join(codes[part] for part in order)


def _numeric_format(order: str, separator: str) -> DateFormat:
    day_first = None if order[0] == "Y" else order[0] == "D"
    return DateFormat(_strptime(order, separator), _numeric(order, separator), day_first)


ISO = DateFormat("%Y-%m-%d", ISO_DATE)
ISO_SLASH = DateFormat("%Y/%m/%d", ISO_SLASH_DATE)
KOREAN = DateFormat("%Y년 %m월 %d일", rf"^{_Y}년\s*{_M}월\s*{_D}일$", squeeze=True)
CJK = DateFormat("%Y年%m月%d日", rf"^{_Y}年\s*{_M}月\s*{_D}日$", squeeze=True)

# In order of preference; a day-first format directly precedes its month-first twin.
DATE_FORMATS: tuple[DateFormat, ...] = (
    ISO,
    ISO_SLASH,
    _numeric_format("YMD", "-"),
    _numeric_format("YMD", "/"),
    _numeric_format("YMD", "."),
    _numeric_format("DMY", "/"),
    _numeric_format("MDY", "/"),
    _numeric_format("DMY", "."),
    _numeric_format("MDY", "."),
    _numeric_format("DMY", "-"),
    _numeric_format("MDY", "-"),
    KOREAN,
    CJK,
)
NATIVE_DATE_FORMATS = frozenset({ISO.strptime, ISO_SLASH.strptime})
_BY_PATTERN = {date_format.strptime: date_format for date_format in DATE_FORMATS}


def twin(date_format: DateFormat) -> DateFormat | None:
    """The same shape read the other way round (day-first for month-first and back)."""
    if date_format.day_first is None:
        return None
    swapped = date_format.strptime.replace("%d", "%_").replace("%m", "%d").replace("%_", "%m")
    return _BY_PATTERN.get(swapped)


@dataclass(frozen=True)
class DatetimeFormat:
    """A non-ISO date followed by a clock time, read with strptime."""

    date_format: DateFormat
    seconds: bool

    @property
    def strptime(self) -> str:
        return f"{self.date_format.strptime} %H:%M" + (":%S" if self.seconds else "")

    @property
    def shape(self) -> str:
        clock = r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9]" + (r":[0-5][0-9]" if self.seconds else "")
        return self.date_format.shape.removesuffix("$") + rf"[ T]{clock}$"

    def parse(self, text: str) -> datetime | None:
        candidate = text.strip()
        if not re.fullmatch(self.shape, candidate) or self.date_format.squeeze:
            return None
        try:
            return datetime.strptime(candidate.replace("T", " "), self.strptime)
        except ValueError:
            return None


DATETIME_FORMATS: tuple[DatetimeFormat, ...] = tuple(
    DatetimeFormat(date_format, seconds)
    for date_format in DATE_FORMATS[2:11]
    for seconds in (True, False)
)


def date_format_for(pattern: str) -> DateFormat | None:
    return _BY_PATTERN.get(pattern)


def datetime_format_for(pattern: str) -> DatetimeFormat | None:
    return next((f for f in DATETIME_FORMATS if f.strptime == pattern), None)
