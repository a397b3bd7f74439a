"""Phone numbers as Twenty stores them, parsed with `phonenumbers` (libphonenumber, as Twenty's server uses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import phonenumbers

from destination_twenty.errors import RecordRejected
from destination_twenty.mapping.schema import COMPOSITE_SUBFIELDS
from destination_twenty.mapping.transforms import describe_value as _describe
from destination_twenty.mapping.transforms import text_form

PHONE_SUBFIELDS = frozenset(COMPOSITE_SUBFIELDS["PHONES"])
_PHONE_EXAMPLE = "a phone number such as +33 6 12 34 56 78"


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
        raise RecordRejected(f"expected {_PHONE_EXAMPLE} (or an object with number), got {_describe(item)}")
    country = _country_code(country)
    calling = _calling_code(calling, country)
    national, found_country, found_calling = _parse_phone(number, country, calling, default_country)
    return {"number": national, "countryCode": found_country or "", "callingCode": f"+{found_calling}"}


def _parse_phone(
    raw: Any, country: str | None, calling: int | None, default_country: str | None
) -> tuple[str, str | None, int]:
    if isinstance(raw, (dict, list, bool)):
        raise RecordRejected(f"expected {_PHONE_EXAMPLE}, got {_describe(raw)}")
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
        raise RecordRejected(f"expected {_PHONE_EXAMPLE}, got {_describe(raw)}{hint}") from None
    inferred = phonenumbers.region_code_for_number(parsed)
    inferred = inferred if inferred and inferred != "001" else None  # 001: a non-geographic number
    if country and inferred and inferred != country:
        raise RecordRejected(
            f"the phone number {_describe(raw)} belongs to {inferred}, not to the country code {country} mapped "
            "with it (Twenty refuses the pair)"
        )
    if calling and parsed.country_code != calling:
        raise RecordRejected(
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
        raise RecordRejected(f"expected an ISO 3166 country code such as US or FR, got {_describe(value)}")
    return code


def _calling_code(value: Any, country: str | None) -> int | None:
    if value is None or value == "":
        return None
    text = text_form(value).strip().removeprefix("+") if not isinstance(value, (dict, list, bool)) else ""
    regions = (
        phonenumbers.region_codes_for_country_code(int(text)) if text.isascii() and text.isdigit() else ()
    )
    if not regions or regions == ("ZZ",):
        raise RecordRejected(f"expected a calling code such as +33, got {_describe(value)}")
    if country and country not in regions:
        raise RecordRejected(f"the calling code {_describe(value)} is not that of the country code {country}")
    return int(text)
