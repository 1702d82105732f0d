"""Dates, datetimes and times in a column: the format that fits, day/month order, range."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import polars as pl

from spice_harvester.application.funnel.distinct import Distinct
from spice_harvester.domain.inference.dates import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    ISO_DATETIME,
    ISO_DATETIME_WITH_OFFSET,
    ISO_TIME,
    NATIVE_DATE_FORMATS,
    DateFormat,
    DatetimeFormat,
    twin,
)
from spice_harvester.domain.inference.evidence import Candidate
from spice_harvester.domain.inference.model import Ambiguity
from spice_harvester.domain.ontology.types import ValueType

T = ValueType
DATEISH = r"^[0-9]{1,4}\s*[-/.년年]"


def scan_dates(distinct: Distinct) -> list[Candidate]:
    if not distinct.worth(DATEISH):
        return []
    found: list[Candidate] = []
    dated = _date_candidate(distinct)
    if dated is not None:
        found.append(dated)
    found.extend(_datetime_candidates(distinct))
    return found


def scan_times(distinct: Distinct) -> list[Candidate]:
    if not distinct.worth(ISO_TIME):
        return []
    mask = distinct.matches(ISO_TIME)
    constraints: dict[str, Any] = {}
    if distinct.rows(mask) == distinct.present:
        clocks = [time.fromisoformat(v) for v in distinct.values.to_list()]
        constraints = {"min": min(clocks).isoformat(), "max": max(clocks).isoformat()}
    return [distinct.candidate(T.TIME, mask, "times of day", constraints=constraints)]


def _parsed(distinct: Distinct, date_format: DateFormat) -> pl.Series:
    shaped = distinct.matches(date_format.shape)
    texts = distinct.values
    if date_format.squeeze:
        texts = texts.str.replace_all(r"\s+", "")
    days = texts.str.to_date(date_format.parse_pattern, strict=False)
    return pl.select(pl.when(shaped).then(days).otherwise(None)).to_series()


def _date_candidate(distinct: Distinct) -> Candidate | None:
    results: dict[str, tuple[DateFormat, pl.Series, int]] = {}
    for date_format in DATE_FORMATS:
        if not distinct.worth(date_format.shape):
            continue
        days = _parsed(distinct, date_format)
        results[date_format.strptime] = (date_format, days, distinct.rows(days.is_not_null()))
    if not results:
        return None
    ranked = sorted(results.values(), key=lambda r: -r[2])  # stable: preference breaks ties
    date_format, days, _ = ranked[0]
    mask = days.is_not_null()
    doubts: tuple[Ambiguity, ...] = ()
    other = twin(date_format)
    if other is not None and other.strptime not in results:
        # The twin's shape may have failed the probe, yet it still reads some values.
        twin_days = _parsed(distinct, other)
        results[other.strptime] = (other, twin_days, distinct.rows(twin_days.is_not_null()))
    if other is not None:
        date_format, days, doubts = _order(distinct, results, date_format, other)
        mask = days.is_not_null()
    constraints: dict[str, Any] = {}
    if distinct.rows(mask) == distinct.present:
        low, high = days.min(), days.max()
        constraints = {"min": low.isoformat(), "max": high.isoformat()}  # type: ignore[union-attr]
    native = date_format.strptime in NATIVE_DATE_FORMATS
    detail = "ISO dates" if native else f"dates written as {date_format.strptime}"
    return distinct.candidate(
        T.DATE,
        mask,
        detail,
        format=None if native else date_format.strptime,
        native=native,
        constraints=constraints,
        ambiguities=doubts,
    )


def _order(
    distinct: Distinct,
    results: dict[str, tuple[DateFormat, pl.Series, int]],
    first: DateFormat,
    second: DateFormat,
) -> tuple[DateFormat, pl.Series, tuple[Ambiguity, ...]]:
    """Day-first or month-first: the reading every value allows; day-first when both do."""
    day_first = first if first.day_first else second
    month_first = second if first.day_first else first
    _, by_day, day_rows = results[day_first.strptime]
    _, by_month, month_rows = results[month_first.strptime]
    both = by_day.is_not_null() & by_month.is_not_null() & (by_day != by_month).fill_null(False)
    chosen = month_first if month_rows > day_rows else day_first
    days = by_month if chosen is month_first else by_day
    if not both.any():
        return chosen, days, ()
    examples = tuple(distinct.values.filter(both).head(5).to_list())
    only = (by_day if chosen is day_first else by_month).is_not_null() & ~both
    decided = distinct.values.filter(only & distinct.matches(chosen.shape)).head(1).to_list()
    order = "day-first" if chosen is day_first else "month-first"
    if decided and min(day_rows, month_rows) < max(day_rows, month_rows):
        why = f"{decided[0]} can only be read {order}"
    else:
        why = "no value settles it; day-first is the more common reading"
    message = (
        f"{distinct.rows(both):,} values such as {examples[0]} read either way "
        f"(day-first or month-first); {order} chosen because {why}"
    )
    doubt = Ambiguity(
        kind="date_order",
        message=message,
        chosen=chosen.strptime,
        alternatives=((month_first if chosen is day_first else day_first).strptime,),
        examples=examples,
    )
    # Settled by other values, the order is still worth showing but is no longer a doubt.
    settled = bool(decided) and min(day_rows, month_rows) < max(day_rows, month_rows)
    return chosen, days, (doubt.model_copy(update={"kind": "note"}) if settled else doubt,)


def _datetime_candidates(distinct: Distinct) -> list[Candidate]:
    found = []
    if distinct.worth(ISO_DATETIME):
        found.append(_iso_datetimes(distinct))
    for datetime_format in DATETIME_FORMATS:
        if distinct.worth(datetime_format.shape):
            found.append(_formatted_datetimes(distinct, datetime_format))
    return found


def _iso_datetimes(distinct: Distinct) -> Candidate:
    days = distinct.values.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    mask = distinct.matches(ISO_DATETIME) & days.is_not_null()
    with_offset = distinct.rows(mask & distinct.matches(ISO_DATETIME_WITH_OFFSET))
    matched = distinct.rows(mask)
    doubts: tuple[Ambiguity, ...] = ()
    zone = "with a time zone"
    if with_offset == 0:
        zone = "without a time zone (OMS reads them as UTC)"
    elif with_offset < matched:
        zone = "some with a time zone"
        doubts = (
            Ambiguity(
                kind="time_zone",
                message=f"{matched - with_offset:,} values carry no offset while the others do; "
                "OMS reads those without one as UTC",
            ),
        )
    constraints: dict[str, Any] = {}
    if matched == distinct.present:
        constraints = _datetime_bounds(distinct.values, with_offset == 0)
    return distinct.candidate(
        T.DATETIME, mask, f"ISO datetimes {zone}", constraints=constraints, ambiguities=doubts
    )


def _datetime_bounds(values: pl.Series, naive: bool) -> dict[str, Any]:
    lengths = values.str.len_chars()
    if naive and lengths.min() == lengths.max() and values.str.slice(10, 1).n_unique() == 1:
        # One fixed layout without offsets sorts as text, with no parsing at all.
        texts = [str(values.min()), str(values.max())]
    else:
        moments = [_moment(text) for text in values.to_list()]
        texts = [min(moments).isoformat(), max(moments).isoformat()]
    low, high = (_moment(text).isoformat() for text in texts)
    return {"min": low, "max": high}


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.upper())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _formatted_datetimes(distinct: Distinct, datetime_format: DatetimeFormat) -> Candidate:
    shaped = distinct.matches(datetime_format.shape)
    moments = distinct.values.str.replace("T", " ", literal=True).str.to_datetime(
        datetime_format.strptime, strict=False
    )
    moments = pl.select(pl.when(shaped).then(moments).otherwise(None)).to_series()
    mask = moments.is_not_null()
    constraints: dict[str, Any] = {}
    if distinct.rows(mask) == distinct.present:
        low, high = moments.min(), moments.max()
        assert isinstance(low, datetime)
        assert isinstance(high, datetime)
        constraints = {
            "min": low.replace(tzinfo=UTC).isoformat(),
            "max": high.replace(tzinfo=UTC).isoformat(),
        }
    return distinct.candidate(
        T.DATETIME,
        mask,
        f"datetimes written as {datetime_format.strptime}",
        format=datetime_format.strptime,
        native=False,
        constraints=constraints,
    )
