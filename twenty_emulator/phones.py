"""Just enough phone parsing to behave like the real server's libphonenumber call.

``+33 6 12 34 56 78`` becomes number ``612345678``, country ``FR``, calling code ``+33``. A number without
``+`` needs a country or calling code; anything unparseable is the recorded 400 INVALID_PHONE_NUMBER. This
is not libphonenumber: lengths are checked loosely (4 to 14 national digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Calling code -> the country libphonenumber reports first for it.
CALLING_TO_COUNTRY = {
    "1": "US", "7": "RU", "20": "EG", "27": "ZA", "30": "GR", "31": "NL", "32": "BE", "33": "FR", "34": "ES",
    "36": "HU", "39": "IT", "40": "RO", "41": "CH", "43": "AT", "44": "GB", "45": "DK", "46": "SE", "47": "NO",
    "48": "PL", "49": "DE", "51": "PE", "52": "MX", "54": "AR", "55": "BR", "56": "CL", "57": "CO", "58": "VE",
    "60": "MY", "61": "AU", "62": "ID", "63": "PH", "64": "NZ", "65": "SG", "66": "TH", "81": "JP", "82": "KR",
    "84": "VN", "86": "CN", "90": "TR", "91": "IN", "92": "PK", "94": "LK", "98": "IR", "212": "MA", "213": "DZ",
    "216": "TN", "221": "SN", "225": "CI", "233": "GH", "234": "NG", "254": "KE", "351": "PT", "352": "LU",
    "353": "IE", "354": "IS", "356": "MT", "357": "CY", "358": "FI", "359": "BG", "370": "LT", "371": "LV",
    "372": "EE", "380": "UA", "381": "RS", "385": "HR", "386": "SI", "420": "CZ", "421": "SK", "852": "HK",
    "886": "TW", "880": "BD", "966": "SA", "971": "AE", "972": "IL", "974": "QA",
}  # fmt: skip
COUNTRY_TO_CALLING = {country: code for code, country in CALLING_TO_COUNTRY.items()}
COUNTRY_TO_CALLING.update({"CA": "1", "PR": "1", "KZ": "7", "VA": "39", "GG": "44", "JE": "44", "IM": "44"})


class PhoneError(Exception):
    def __init__(self, message: str, code: str = "INVALID_PHONE_NUMBER"):
        super().__init__(message)
        self.code = code


@dataclass
class Phone:
    national: str
    country: str
    calling_code: str


def _split_international(digits: str) -> tuple[str, str]:
    for length in (1, 2, 3):
        code = digits[:length]
        if code in CALLING_TO_COUNTRY:
            return code, digits[length:]
    raise PhoneError(f"Provided phone number is invalid +{digits}")


def parse_phone(raw: str, country: str | None = None, calling: str | None = None) -> Phone:
    text = raw.strip()
    if not re.fullmatch(r"\+?[\d\s().\-/]+", text) or not re.search(r"\d", text):
        raise PhoneError(f"Provided phone number is invalid {raw}")
    if country is not None and country != "":
        country = country.upper()
        if country not in COUNTRY_TO_CALLING:
            raise PhoneError(f"Invalid country code {country}", "INVALID_COUNTRY_CODE")
    else:
        country = None
    calling_digits = None
    if calling:
        calling_digits = calling.lstrip("+")
        if calling_digits not in CALLING_TO_COUNTRY:
            raise PhoneError(f"Invalid calling code {calling}", "INVALID_CALLING_CODE")
        if country and COUNTRY_TO_CALLING[country] != calling_digits:
            raise PhoneError(
                "Provided country code and calling code are conflicting",
                "CONFLICTING_PHONE_CALLING_CODE_AND_COUNTRY_CODE",
            )
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        code, national = _split_international(digits)
        if country and COUNTRY_TO_CALLING[country] != code:
            raise PhoneError(
                "Provided country code and calling code are conflicting",
                "CONFLICTING_PHONE_CALLING_CODE_AND_COUNTRY_CODE",
            )
        country = country or CALLING_TO_COUNTRY[code]
    else:
        if not country and not calling_digits:
            raise PhoneError(f"Provided phone number is invalid {raw}")
        code = calling_digits or COUNTRY_TO_CALLING[country]
        country = country or CALLING_TO_COUNTRY[code]
        national = digits
        if code != "39" and national.startswith("0"):
            national = national[1:]  # national trunk prefix
    if not 4 <= len(national) <= 14:
        raise PhoneError(f"Provided phone number is invalid {raw}")
    return Phone(national=national, country=country, calling_code="+" + code)
