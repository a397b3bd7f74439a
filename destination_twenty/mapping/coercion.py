"""Per-type value coercion: one function per Twenty field type (and composite sub-field), chosen once when the
mapper is built, turning a source value into what Twenty accepts, or raising RecordRejected with the reason.

The real server fails a whole batch for one bad record (and answers some bad values with a 500), so a value it
would refuse is refused here, before any request.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import phonenumbers

from destination_twenty.errors import RecordRejected
from destination_twenty.mapping.keys import normalize_email, normalize_url_strict
from destination_twenty.mapping.schema import COMPOSITE_SUBFIELDS, FieldInfo
from destination_twenty.mapping.transforms import describe_value as _describe
from destination_twenty.mapping.transforms import text_form, to_decimal, to_micros, yesno_to_bool

Convert = Callable[[Any], Any]

EMPTY_CONTAINERS = (str, list, dict)

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
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH_MS_FROM = 10**11  # 10^11 seconds is the year 5138; as milliseconds it is 1973
_DATE_TIME_EXPECTED = (
    "a date-time such as 2026-01-15T10:00:00Z, 2026-01-15 10:00:00 (UTC) or 2026-01-15, "
    "or epoch seconds or milliseconds"
)
_DATE_EXPECTED = "a date such as 2026-01-15 (YYYY-MM-DD), a date-time, or epoch seconds or milliseconds"
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_RATINGS = tuple(f"RATING_{n}" for n in range(1, 6))


def chain(transform: Convert, coerce: Convert) -> Convert:

    def convert(value: Any) -> Any:
        value = transform(value)
        return None if value is None or value == "" else coerce(value)

    return convert


def reject(reason: str) -> Any:
    raise RecordRejected(reason)


def schemaless_value(value: Any) -> Any:
    """Without metadata, nested composites lose their empty sub-fields, amountMicros still becomes micros and a
    primaryLinkUrl is still checked and normalised (the sub-field names are Twenty's own)."""
    if isinstance(value, dict):
        return _clean_dict(value)
    return value


def _clean_dict(value: dict[str, Any]) -> dict[str, Any]:
    result = {}
    for key, item in value.items():
        if item is None:
            continue
        if key == "amountMicros":
            item = micros(item)
        elif key == "primaryLinkUrl" and item != "":
            item = link_url(item)
        elif isinstance(item, dict):
            item = _clean_dict(item)
        if type(item) in EMPTY_CONTAINERS and not item:
            continue
        result[key] = item
    return result


def field_coercer(info: FieldInfo) -> Convert:
    """The conversion for a value mapped to a whole field."""
    kind = info.type
    if kind in ("RICH_TEXT_V2", "RICH_TEXT"):
        return _rich_text(info)
    if kind == "PHONES":
        return _phones_whole(info)
    if kind in COMPOSITE_SUBFIELDS:
        return _composite(info)
    if kind == "SELECT":
        return _select(info)
    if kind == "MULTI_SELECT":
        return _multi_select(info)
    simple = _SCALARS.get(kind)
    if simple is not None:
        return simple
    return _pass_through


def subfield_coercer(info: FieldInfo, sub: str) -> Convert:
    special = _SUBFIELDS.get((info.type, sub))
    if special is not None:
        return special
    if info.type == "ACTOR" and sub == "workspaceMemberId":
        return _uuid
    if info.type == "ACTOR" and sub == "context":
        return _raw_json
    return _text


def _composite(info: FieldInfo) -> Convert:
    subfields = COMPOSITE_SUBFIELDS[info.type]
    coercers = {sub: subfield_coercer(info, sub) for sub in subfields}
    hint = f"{info.name}.{subfields[0]}"

    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            return reject(
                f"{info.type} field {info.name} expects an object with {', '.join(subfields)}; "
                f"map the column to a sub-field such as {hint}; got {_describe(value)}"
            )
        result = {}
        for key, item in value.items():
            coerce = coercers.get(key)
            if coerce is None:
                return reject(
                    f'field "{info.name}" ({info.type}) has no sub-field "{key}"; it has {", ".join(subfields)}'
                )
            if item is None or item == "":
                continue
            item = coerce(item)
            if item is None or (type(item) in EMPTY_CONTAINERS and not item):
                continue
            result[key] = item
        return result

    return convert


def _rich_text(info: FieldInfo) -> Convert:
    as_composite = _composite(info)

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            return {"markdown": value} if value else None
        return as_composite(value)

    return convert


def _select(info: FieldInfo) -> Convert:
    if not info.options:
        return _text
    lookup = _option_lookup(info)
    exact = frozenset(info.options)
    listed = ", ".join(info.options)

    def convert(value: Any) -> Any:
        if isinstance(value, str) and value in exact:
            return value
        text = text_form(value).strip()
        if not text:
            return None
        found = lookup.get(text.lower())
        if found is None:
            return reject(f"expected one of {listed} (or their labels, any case), got {_describe(value)}")
        return found

    return convert


def _multi_select(info: FieldInfo) -> Convert:
    one = _select(info)

    def convert(value: Any) -> Any:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            return reject(f"expected a list of options or a comma-separated string, got {_describe(items)}")
        result = []
        for item in items:
            if item is None:
                continue
            chosen = one(item)
            if chosen is not None and chosen not in result:
                result.append(chosen)
        return result

    return convert


def _option_lookup(info: FieldInfo) -> dict[str, str]:
    lookup: dict[str, str] = {}
    # Values win over labels: a label that spells another option's value must not hide that option.
    labels = info.option_labels if len(info.option_labels) == len(info.options) else info.options
    for value, label in zip(info.options, labels, strict=True):
        lookup.setdefault(label.strip().lower(), value)
    for value in info.options:
        lookup[value.lower()] = value
    return lookup


def _pass_through(value: Any) -> Any:
    return value


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return reject(f"expected text, got {_describe(value)}")
    return text_form(value)


def _number(value: Any) -> Any:
    if (type(value) is int and _INT64_MIN <= value <= _INT64_MAX) or (
        type(value) is float and math.isfinite(value)
    ):
        return value
    if isinstance(value, str) and not value.strip():
        return None
    exact = to_decimal(value)  # rejects booleans, NaN, infinities, objects and non-numeric text
    if exact == exact.to_integral_value() and _INT64_MIN <= exact <= _INT64_MAX:
        return int(exact)
    # JSON cannot carry a wider integer here (the encoder refuses it), and Twenty keeps a NUMBER as a double.
    return float(exact)


def _numeric(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        to_decimal(text)
        return text
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        to_decimal(value)  # rejects NaN and infinities
        return value
    return text_form(to_decimal(value))


def micros(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return to_micros(value)


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return yesno_to_bool(value)


def _rating(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().upper()
        if not text:
            return None
        if text in _RATINGS:
            return text
    if not isinstance(value, bool):
        try:
            number = to_decimal(value)
        except RecordRejected:
            number = None
        if number is not None and number in (1, 2, 3, 4, 5):
            return f"RATING_{int(number)}"
    return reject(f"expected a rating 1 to 5 or RATING_1 to RATING_5, got {_describe(value)}")


def _uuid(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) == 36:
            try:
                return str(uuid.UUID(text))
            except ValueError:
                pass
    return reject(f"expected a UUID such as 123e4567-e89b-42d3-a456-426614174000, got {_describe(value)}")


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


def _date_time(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    parsed = parse_moment(value)
    if parsed is None:
        return reject(f"expected {_DATE_TIME_EXPECTED}, got {_describe(value)}")
    try:
        return iso_date_time(parsed[0])
    except OverflowError:  # a moment at the very edge of the calendar that UTC pushes past it
        return reject(f"expected {_DATE_TIME_EXPECTED}, got {_describe(value)}, which is out of range")


def _date(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    parsed = parse_moment(value)
    if parsed is None:
        return reject(f"expected {_DATE_EXPECTED}, got {_describe(value)}")
    moment = parsed[0]
    if isinstance(value, (int, float)):
        moment = moment.astimezone(timezone.utc)
    # Otherwise the calendar date as written: a date has no time zone to convert.
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def _raw_json(value: Any) -> Any:
    if isinstance(value, (dict, list, str)):
        return value
    return reject(f"expected a JSON object, array or string, got {_describe(value)}")


def _array(value: Any) -> Any:
    items = [value] if not isinstance(value, (list, tuple)) else value
    result = []
    for item in items:
        if item is None:
            continue
        text = _text(item)
        if text != "":
            result.append(text)
    return result


def _email(value: Any) -> Any:
    return normalize_email(_text(value))


def _email_list(value: Any) -> Any:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        return reject(f"expected a list of emails or a comma-separated string, got {_describe(items)}")
    return [email for email in (_email(item) for item in items if item is not None) if email]


def link_url(value: Any) -> Any:
    """A link as Twenty stores it; one that cannot be parsed (`https://[::1`) rejects the record."""
    text = _text(value)
    try:
        return normalize_url_strict(text)
    except ValueError as exc:
        return reject(f"expected a link such as https://example.com, got {_describe(text)} ({exc})")


def _secondary_links(value: Any) -> Any:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        return reject(f"expected a list of links, got {_describe(items)}")
    result = []
    for item in items:
        if isinstance(item, dict):
            url = item.get("url")
            result.append({**item, "url": link_url(url) if isinstance(url, str) else url})
        elif item is not None and text_form(item).strip():
            result.append({"url": link_url(text_form(item)), "label": ""})
    return result


def _currency_code(value: Any) -> Any:
    code = _text(value).strip().upper()
    if code and not _CURRENCY_RE.fullmatch(code):
        return reject(
            f"expected a 3-letter ISO 4217 currency code such as USD or EUR, got {_describe(value)}"
        )
    return code


def _blocknote(value: Any) -> Any:
    return value if isinstance(value, str) else text_form(value)


def _upper_text(value: Any) -> Any:
    return _text(value).strip().upper()


# ---- PHONES: parsed as Twenty parses them, so that it never refuses a batch for one number ----

PHONE_SUBFIELDS = frozenset(COMPOSITE_SUBFIELDS["PHONES"])
_PHONE_EXAMPLE = "a phone number such as +33 6 12 34 56 78"


def _phones_whole(info: FieldInfo) -> Convert:
    as_composite = _composite(info)

    def convert(value: Any) -> Any:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return {"primaryPhoneNumber": text_form(value)}  # a bare number is the primary phone
        return as_composite(value)

    return convert


def _phone_list(value: Any) -> Any:
    items = re.split(r"[,;]", value) if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        return reject(f"expected a list of phone numbers, got {_describe(items)}")
    return [
        item
        for item in items
        if item is not None and item != "" and not (isinstance(item, str) and not item.strip())
    ]


def normalize_phones(value: dict[str, Any], default_country: str | None) -> dict[str, Any]:
    """A PHONES value as Twenty stores it: national number, country and calling code, parsed with `phonenumbers`.

    Twenty (transform-phones-value.util.ts) parses the number with libphonenumber and refuses, with a 400 that
    fails the whole batch, a number it cannot parse and codes that contradict the number; so do we, first. A
    number without + is read in the mapped country, else the calling code's country, else default_phone_country.
    Raises RecordRejected whose field is the sub-field at fault.
    """
    result = dict(value)
    country = _at("primaryPhoneCountryCode", _country_code, value.get("primaryPhoneCountryCode"))
    calling = _at("primaryPhoneCallingCode", _calling_code, value.get("primaryPhoneCallingCode"), country)
    if country:
        result["primaryPhoneCountryCode"] = country
    if calling:
        result["primaryPhoneCallingCode"] = f"+{calling}"
    number = value.get("primaryPhoneNumber")
    if number is not None and text_form(number).strip():
        national, found_country, found_calling = _at(
            "primaryPhoneNumber", _parse_phone, number, country, calling, default_country
        )
        result["primaryPhoneNumber"] = national
        result["primaryPhoneCallingCode"] = f"+{found_calling}"
        if found_country:
            result["primaryPhoneCountryCode"] = found_country
    extra = value.get("additionalPhones")
    if isinstance(extra, list):
        result["additionalPhones"] = [
            _at("additionalPhones", _additional_phone, item, default_country) for item in extra
        ]
    return result


def _at(sub: str, function: Callable[..., Any], *args: Any) -> Any:
    """Call function, naming the sub-field in the rejection it raises."""
    try:
        return function(*args)
    except RecordRejected as exc:
        raise RecordRejected(exc.reason, field=sub) from None


def _additional_phone(item: Any, default_country: str | None) -> dict[str, str]:
    if isinstance(item, dict):
        number, country, calling = item.get("number"), item.get("countryCode"), item.get("callingCode")
    else:
        number, country, calling = item, None, None
    if isinstance(number, (dict, list)) or number is None or not text_form(number).strip():
        return reject(f"expected {_PHONE_EXAMPLE} (or an object with number), got {_describe(item)}")
    country = _country_code(country)
    calling = _calling_code(calling, country)
    national, found_country, found_calling = _parse_phone(number, country, calling, default_country)
    return {"number": national, "countryCode": found_country or "", "callingCode": f"+{found_calling}"}


def _parse_phone(
    raw: Any, country: str | None, calling: int | None, default_country: str | None
) -> tuple[str, str | None, int]:
    if isinstance(raw, (dict, list, bool)):
        return reject(f"expected {_PHONE_EXAMPLE}, got {_describe(raw)}")
    text = text_form(raw).strip()
    region = (
        country
        or (phonenumbers.region_code_for_country_code(calling) if calling else None)
        or default_country
    )
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        hint = ""
        if not text.startswith("+") and not region:
            hint = (
                "; it has no + and no country to read it in: set default_phone_country (e.g. US) or map "
                "primaryPhoneCountryCode"
            )
        return reject(f"expected {_PHONE_EXAMPLE}, got {_describe(raw)}{hint}")
    inferred = phonenumbers.region_code_for_number(parsed)
    inferred = inferred if inferred and inferred != "001" else None  # 001: a non-geographic number
    if country and inferred and inferred != country:
        return reject(
            f"the phone number {_describe(raw)} belongs to {inferred}, not to the country code {country} mapped "
            "with it (Twenty refuses the pair)"
        )
    if calling and parsed.country_code != calling:
        return reject(
            f"the phone number {_describe(raw)} has calling code +{parsed.country_code}, not the +{calling} "
            "mapped with it (Twenty refuses the pair)"
        )
    found = country or inferred
    if found is None and region and phonenumbers.country_code_for_region(region) == parsed.country_code:
        found = region
    return phonenumbers.national_significant_number(parsed), found, parsed.country_code


def _country_code(value: Any) -> str | None:
    if value is None or value == "":
        return None
    code = text_form(value).strip().upper() if not isinstance(value, (dict, list)) else None
    if code is None or code not in phonenumbers.SUPPORTED_REGIONS:
        return reject(f"expected an ISO 3166 country code such as US or FR, got {_describe(value)}")
    return code


def _calling_code(value: Any, country: str | None) -> int | None:
    if value is None or value == "":
        return None
    text = text_form(value).strip().removeprefix("+") if not isinstance(value, (dict, list, bool)) else ""
    regions = (
        phonenumbers.region_codes_for_country_code(int(text)) if text.isascii() and text.isdigit() else ()
    )
    if not regions or regions == ("ZZ",):
        return reject(f"expected a calling code such as +33, got {_describe(value)}")
    if country and country not in regions:
        return reject(f"the calling code {_describe(value)} is not that of the country code {country}")
    return int(text)


_SCALARS: dict[str, Convert] = {
    "TEXT": _text,
    "NUMBER": _number,
    "POSITION": _number,
    "NUMERIC": _numeric,
    "BOOLEAN": _boolean,
    "RATING": _rating,
    "UUID": _uuid,
    "DATE_TIME": _date_time,
    "DATE": _date,
    "RAW_JSON": _raw_json,
    "ARRAY": _array,
}

_SUBFIELDS: dict[tuple[str, str], Convert] = {
    ("EMAILS", "primaryEmail"): _email,
    ("EMAILS", "additionalEmails"): _email_list,
    ("LINKS", "primaryLinkUrl"): link_url,
    ("LINKS", "secondaryLinks"): _secondary_links,
    ("PHONES", "primaryPhoneCountryCode"): _upper_text,
    ("PHONES", "additionalPhones"): _phone_list,
    ("CURRENCY", "amountMicros"): micros,
    ("CURRENCY", "currencyCode"): _currency_code,
    ("ADDRESS", "addressLat"): _number,
    ("ADDRESS", "addressLng"): _number,
    ("ACTOR", "source"): _upper_text,
    ("RICH_TEXT_V2", "blocknote"): _blocknote,
    ("RICH_TEXT", "blocknote"): _blocknote,
}
