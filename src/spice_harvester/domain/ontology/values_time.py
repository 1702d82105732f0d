"""Calendar values: dates, datetimes and times, parsed strictly and stored as ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from spice_harvester.domain.ontology.types import Constraints
from spice_harvester.domain.ontology.values_common import refuse, shown

# The standard library's fromisoformat also takes week dates and compact forms ("20240102");
# these patterns admit only the forms a person would recognise, before it is asked.
_DATE = re.compile(r"([0-9]{4})([-/])([0-9]{2})\2([0-9]{2})")
_CLOCK = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
_DATETIME = re.compile(
    rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[Tt ]{_CLOCK}(?:[Zz]|[+-][0-9]{{2}}:?[0-9]{{2}})?"
)
_TIME = re.compile(_CLOCK)


def parse_date(value: Any, field: str) -> date:
    """The date meant by "YYYY-MM-DD" or "YYYY/MM/DD" (or a date object)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and (match := _DATE.fullmatch(value.strip())):
        year, _, month, day = match.groups()
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            raise refuse(field, f"is not a real date: {shown(value)}") from None
    raise refuse(field, f"must be a date such as 2024-01-31, not {shown(value)}")


def parse_datetime(value: Any, field: str) -> datetime:
    """An aware datetime; one written without an offset is taken to be in UTC."""
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and _DATETIME.fullmatch(text := value.strip()):
        try:
            moment = datetime.fromisoformat(text.upper())
        except ValueError:
            raise refuse(field, f"is not a real date and time: {shown(value)}") from None
    else:
        raise refuse(
            field, f"must be a date and time such as 2024-01-31T09:30:00+09:00, not {shown(value)}"
        )
    # Assuming UTC (rather than refusing) matches what most exports mean by a bare timestamp,
    # and the stored form always carries the offset, so the assumption is visible.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    # Offsets in seconds exist only in historic local mean times; ISO 8601 offsets are minutes.
    if offset is not None and offset.total_seconds() % 60:
        raise refuse(field, f"has an offset that is not whole minutes: {shown(value)}")
    return moment


def parse_time(value: Any, field: str) -> time:
    """A time of day from "HH:MM", "HH:MM:SS" or "HH:MM:SS.ffffff", without an offset."""
    moment: time
    if isinstance(value, time):
        moment = value
    elif isinstance(value, str) and _TIME.fullmatch(text := value.strip()):
        try:
            moment = time.fromisoformat(text)
        except ValueError:
            raise refuse(field, f"is not a real time of day: {shown(value)}") from None
    else:
        raise refuse(field, f"must be a time such as 09:30:00, not {shown(value)}")
    # A clock time with an offset means nothing without a date; keep time values local.
    if moment.tzinfo is not None:
        raise refuse(field, f"must not carry a time zone offset: {shown(value)}")
    return moment


def normalize_date(value: Any, _: Constraints, field: str) -> str:
    return parse_date(value, field).isoformat()


def normalize_datetime(value: Any, _: Constraints, field: str) -> str:
    return parse_datetime(value, field).isoformat()


def normalize_time(value: Any, _: Constraints, field: str) -> str:
    return parse_time(value, field).isoformat()
