"""Phone values as the real server checks and stores them.

Follows twentyhq/twenty packages/twenty-server/src/engine/core-modules/record-transformer/utils/
transform-phones-value.util.ts: the country and calling codes are checked first, then a non-empty number is parsed
(libphonenumber-js's parsePhoneNumberWithError there, Google's libphonenumber port `phonenumbers` here) with them
as defaults; the stored number is the national significant number, and a code the client did not send is the one
inferred from the number. ``+33 6 12 34 56 78`` becomes ``612345678``, ``FR``, ``+33`` (recorded case
phones_international_string); ``abc`` is a 400 INVALID_PHONE_NUMBER (recorded case phones_garbage).
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers


class PhoneError(Exception):
    def __init__(self, message: str, code: str = "INVALID_PHONE_NUMBER"):
        super().__init__(message)
        self.code = code


@dataclass
class Phone:
    national: str | None
    country: str | None
    calling_code: str | None


def parse_phone(raw: str | None, country: str | None = None, calling: str | None = None) -> Phone:
    """The stored (number, country, calling code); None stays None where the client sent nothing, as upstream's
    `??` keeps an empty string the client sent."""
    _check_codes(country, calling)
    if not raw:
        return Phone(national=raw, country=country, calling_code=calling)
    region = country or None
    calling_digits = calling.replace("+", "") if calling else None
    if region is None and calling_digits:
        region = phonenumbers.region_code_for_country_code(int(calling_digits))
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"Provided phone number is invalid {raw}") from None
    inferred = phonenumbers.region_code_for_number(number)
    inferred = inferred if inferred and inferred != "001" else None  # 001: a non-geographic number
    if inferred and country and inferred != country:
        raise PhoneError(
            "Provided and inferred country code are conflicting", "CONFLICTING_PHONE_COUNTRY_CODE"
        )
    if calling_digits and str(number.country_code) != calling_digits:
        raise PhoneError(
            "Provided and inferred calling code are conflicting", "CONFLICTING_PHONE_CALLING_CODE"
        )
    return Phone(
        national=phonenumbers.national_significant_number(number),
        country=country if country is not None else (inferred or ""),
        calling_code=calling if calling is not None else f"+{number.country_code}",
    )


def _check_codes(country: str | None, calling: str | None) -> None:
    if country and country not in phonenumbers.SUPPORTED_REGIONS:
        raise PhoneError(f"Invalid country code {country}", "INVALID_COUNTRY_CODE")
    if not calling:
        return
    digits = calling.replace("+", "")
    regions = phonenumbers.region_codes_for_country_code(int(digits)) if digits.isdigit() else ()
    if not regions or regions == ("ZZ",):
        raise PhoneError(f"Invalid calling code {calling}", "INVALID_CALLING_CODE")
    if country and country not in regions:
        raise PhoneError(
            "Provided country code and calling code are conflicting",
            "CONFLICTING_PHONE_CALLING_CODE_AND_COUNTRY_CODE",
        )
