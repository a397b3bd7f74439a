"""Dates and date-times as Twenty reads them: parsed from what a warehouse sends, written in Twenty's own form.

One home for date parsing: the mapper's DATE and DATE_TIME coercion and the comparison of stored instants
(write/reconcile.py) both use parse_moment.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from destination_twenty.errors import RecordRejected
from destination_twenty.mapping.transforms import describe_value as _describe

_TIME = r"(?:[Tt ]\s*(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
_TIME_SPACED = r"(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
_ZONE = r"\s*(?P<tz>[Zz]|(?:GMT|UTC)?[+-]\d{2}(?::?\d{2})?|GMT|UTC)?"
_MONTH = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
_DATE_PATTERNS = [
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})" + _TIME + _ZONE),
    re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})" + _TIME_SPACED + _ZONE),
    re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})" + _TIME_SPACED + _ZONE),
    re.compile(_WEEKDAY + r"(?P<d>\d{1,2})\s+" + _MONTH + r"\s+(?P<y>\d{4})" + _TIME_SPACED + _ZONE, re.I),
    re.compile(_WEEKDAY + _MONTH + r"\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})" + _TIME_SPACED + _ZONE, re.I),
]
_MONTHS = {name: i for i, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_MS_FROM = 10**11  # 10^11 seconds is the year 5138; as milliseconds it is 1973
_DATE_TIME_EXPECTED = (
    "a date-time such as 2026-01-15T10:00:00Z, 2026-01-15 10:00:00 (UTC) or 2026-01-15, "
    "or epoch seconds or milliseconds"
)
_DATE_EXPECTED = "a date such as 2026-01-15 (YYYY-MM-DD), a date-time, or epoch seconds or milliseconds"


def parse_moment(value: Any) -> tuple[datetime, bool] | None:
    """(aware datetime, written as a calendar date), or None when the value is no date Twenty would take.

    Accepted, as the real server's own parser (`new Date(value)`, validate-date-and-date-time-field-or-throw.util.ts
    in twentyhq/twenty) and what a warehouse sends: ISO 8601 with or without zone or time, a space instead of
    the T, YYYY/MM/DD, MM/DD/YYYY (month first, as Twenty reads it), month names (15 Jan 2026, Jan 15, 2026,
    RFC 2822), and numbers as epoch seconds or, from 10^11 on, milliseconds. A value without a zone is UTC.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None:
            return _from_parts(match.groupdict())
    return None


def _from_epoch(number: float) -> tuple[datetime, bool] | None:
    if not math.isfinite(number):
        return None
    seconds = number / 1000 if abs(number) >= _EPOCH_MS_FROM else number
    try:
        return _EPOCH + timedelta(seconds=seconds), False
    except OverflowError:
        return None


def _from_parts(parts: dict[str, str | None]) -> tuple[datetime, bool] | None:
    month_name = parts.get("mon")
    month = _MONTHS.get(month_name[:3].lower()) if month_name else int(parts["m"] or 0)
    if month is None:
        return None
    hour, minute, second = (int(parts.get(k) or 0) for k in ("H", "M", "S"))
    micros = int((parts.get("f") or "0")[:6].ljust(6, "0"))
    tz = _zone(parts.get("tz"))
    if tz is None:
        return None
    try:
        moment = datetime(int(parts["y"] or 0), month, int(parts["d"] or 0), hour, minute, second, micros, tz)
    except (ValueError, OverflowError):
        return None
    return moment, parts.get("H") is None


def _zone(text: str | None) -> timezone | None:
    if not text or text.upper() in ("Z", "UTC", "GMT"):
        return timezone.utc
    digits = text.upper().removeprefix("GMT").removeprefix("UTC")
    sign, digits = digits[0], digits[1:].replace(":", "")
    try:
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return timezone(-delta if sign == "-" else delta)
    except ValueError:  # an offset of 24 hours or more
        return None


def iso_date_time(moment: datetime) -> str:
    """Twenty's own form, in UTC with milliseconds; the year always has four digits (strftime drops the zeros)."""
    m = moment.astimezone(timezone.utc)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}."
        f"{m.microsecond // 1000:03d}Z"
    )


def date_time_value(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    parsed = parse_moment(value)
    if parsed is None:
        raise RecordRejected(f"expected {_DATE_TIME_EXPECTED}, got {_describe(value)}")
    try:
        return iso_date_time(parsed[0])
    except OverflowError:  # a moment at the very edge of the calendar that UTC pushes past it
        raise RecordRejected(
            f"expected {_DATE_TIME_EXPECTED}, got {_describe(value)}, which is out of range"
        ) from None


def date_value(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    parsed = parse_moment(value)
    if parsed is None:
        raise RecordRejected(f"expected {_DATE_EXPECTED}, got {_describe(value)}")
    moment = parsed[0]
    if isinstance(value, (int, float)):
        moment = moment.astimezone(timezone.utc)
    # Otherwise the calendar date as written: a date has no time zone to convert.
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
