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
from typing import Any

from destination_twenty.errors import RecordRejected
from destination_twenty.mapping.dates import date_time_value, date_value
from destination_twenty.mapping.keys import normalize_email, normalize_url_strict
from destination_twenty.mapping.schema import COMPOSITE_SUBFIELDS, FieldInfo
from destination_twenty.mapping.transforms import describe_value as _describe
from destination_twenty.mapping.transforms import text_form, to_decimal, to_micros, yesno_to_bool

Convert = Callable[[Any], Any]

EMPTY_CONTAINERS = (str, list, dict)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
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


# ---- PHONES: a whole value or a list; the numbers themselves are parsed in phones.py ----


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


_SCALARS: dict[str, Convert] = {
    "TEXT": _text,
    "NUMBER": _number,
    "POSITION": _number,
    "NUMERIC": _numeric,
    "BOOLEAN": _boolean,
    "RATING": _rating,
    "UUID": _uuid,
    "DATE_TIME": date_time_value,
    "DATE": date_value,
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
