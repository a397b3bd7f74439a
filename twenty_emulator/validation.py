"""Type checks and normalisation of record input, with the real server's messages.

``validate_record`` turns one request body into a *patch*: output key -> value, where a composite value holds
only the sub-fields the write changes (FULL_NAME/ADDRESS merge, LINKS is replaced whole, EMAILS always
rewrites primaryEmail: see real-server-notes.md). The record layer merges the patch onto defaults (insert)
or onto the stored record (update).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import datetime, timezone

from .errors import ApiError, bad_request, internal_error
from .phones import PhoneError, parse_phone
from .richtext import blocknote_to_markdown, markdown_to_blocknote
from .schema import COMPOSITE_SUBFIELDS, Field, ObjectMeta, default_record_value

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
NUMERIC_RE = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
COMPOSITE_WORDS = {
    "FULL_NAME": "full name",
    "EMAILS": "emails",
    "LINKS": "links",
    "PHONES": "phones",
    "CURRENCY": "currency",
    "ADDRESS": "address",
    "ACTOR": "actor",
    "RICH_TEXT_V2": "rich text v2",
}
ACTOR_SOURCES = {
    "EMAIL",
    "CALENDAR",
    "WORKFLOW",
    "AGENT",
    "API",
    "IMPORT",
    "MANUAL",
    "SYSTEM",
    "WEBHOOK",
    "APPLICATION",
}


def js_number(value) -> str:
    """A number as JavaScript prints it (10, 10.5, 1e+21)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", repr(value))


def inspect(value) -> str:
    """Approximation of Node's util.inspect, which the real messages use to show the bad value."""
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return js_number(value)
    if isinstance(value, str):
        if "'" in value and '"' not in value:
            return '"' + value + '"'
        return "'" + value.replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[ " + ", ".join(inspect(v) for v in value) + " ]" if value else "[]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = []
        for k, v in value.items():
            key = k if re.match(r"^[A-Za-z_$][\w$]*$", k) else inspect(k)
            parts.append(f"{key}: {inspect(v)}")
        return "{ " + ", ".join(parts) + " }"
    return str(value)


# ----------------------------------------------------------------------------- dates
_DATE_PATTERNS = [
    # (regex, groups order) — the shapes the real validators accept; ranges are checked after matching.
    re.compile(
        r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
        r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
        r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?$"
    ),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
    re.compile(r"^(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})$"),
    re.compile(r"^(?P<m>\d{2})/(?P<d>\d{2})/(?P<y>\d{4})$"),
]
# Dates written with an English month name: JavaScript's Date parses them (the validator of January 2026 only
# asks `new Date(value)` for a valid time, then hands the string to Postgres, which parses it too, in UTC:
# engine/api/common/common-args-processors/data-arg-processor/validator-utils/
# validate-date-and-date-time-field-or-throw.util.ts). "Jan 15, 2026" is stored as 2026-01-15T00:00:00.000Z,
# as the v2 line recorded (probe_date_month_name).
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_MONTH_NAMES = r"(?P<mon>[A-Za-z]{3,9})\.?"
_TIME = r"(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?(?:\s*(?:GMT|UTC|Z))?"
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
_NAMED_DATE_PATTERNS = [
    re.compile(rf"^{_WEEKDAY}{_MONTH_NAMES}\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}}){_TIME}$", re.I),
    re.compile(rf"^{_WEEKDAY}(?P<d>\d{{1,2}})\s+{_MONTH_NAMES},?\s+(?P<y>\d{{4}}){_TIME}$", re.I),
]
_FULL_MONTHS = "january february march april may june july august september october november december".split()


def _named_date(text: str) -> dict | None:
    """The parts of a date written with a month name ("Jan 15, 2026", "15 January 2026 10:30"), or None."""
    for pattern in _NAMED_DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            name = m.group("mon").lower()
            month = _MONTHS.get(name[:3])
            if month and (len(name) == 3 or name == _FULL_MONTHS[month - 1] or name == "sept"):
                parts = m.groupdict()
                return {**parts, "m": str(month)}
    return None


def parse_date_value(raw, field_name: str, *, date_only: bool) -> str:
    """Validate a DATE / DATE_TIME input and return the stored form.

    Shape errors are 400s; a well-shaped but impossible date (2026-02-30) and epoch numbers pass the
    validator and are rejected by Postgres upstream, which the real server reports as a 500.
    """
    message = f'Invalid value {inspect(raw)} for date or date-time field "{field_name}"'
    if isinstance(raw, bool) or raw is None or isinstance(raw, (dict, list)):
        raise bad_request(message)
    if isinstance(raw, (int, float)):
        raise internal_error(f'date/time field value out of range: "{js_number(raw)}"')
    text = raw.strip()
    parts = None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            parts = m.groupdict()
            break
    else:
        parts = _named_date(text)
    if parts is None:
        raise bad_request(message)
    y, mo, d = int(parts["y"]), int(parts["m"]), int(parts["d"])
    hh, mm, ss = int(parts.get("H") or 0), int(parts.get("M") or 0), int(parts.get("S") or 0)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and hh <= 23 and mm <= 59 and ss <= 59):
        raise bad_request(message)
    frac = (parts.get("f") or "").ljust(6, "0")[:6]
    try:
        dt = datetime(y, mo, d, hh, mm, ss, int(frac or 0))
    except ValueError:
        raise internal_error(f'date/time field value out of range: "{raw}"') from None
    if date_only:
        return f"{dt.year:04d}-" + dt.strftime(
            "%m-%d"
        )  # Postgres writes four-digit years; strftime drops zeros
    tz = parts.get("tz")
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset_min = int(digits[:2]) * 60 + int(digits[2:4] or 0)
        dt = datetime.fromtimestamp(
            dt.replace(tzinfo=timezone.utc).timestamp() - sign * offset_min * 60, tz=timezone.utc
        ).replace(tzinfo=None)
    return f"{dt.year:04d}-" + dt.strftime("%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# ----------------------------------------------------------------------------- links
def normalise_url(url: str) -> str:
    """Lower-case the origin and drop a trailing slash, as upstream lowercaseUrlOriginAndRemoveTrailingSlash.

    A string that is not an absolute URL (a bare domain) is kept as sent: no scheme is added.
    """
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)(.*)$", url)
    if not m:
        return url
    scheme, host, rest = m.groups()
    if not host:
        return url
    result = scheme.lower() + host.lower() + rest
    if result.endswith("/"):
        result = result[:-1]
    return result


# ----------------------------------------------------------------------------- validator
class ConnectByKey:
    """A relation to connect by the target's unique field(s), in place of the join column's value."""

    def __init__(self, field: Field, where: dict):
        self.field, self.where = field, where


class RecordValidator:
    """Validates request bodies for one object. ``api_key_name`` fills the API actor."""

    def __init__(
        self,
        obj: ObjectMeta,
        api_key_name: str,
        *,
        lenient_numbers: bool = False,
        connect_by_key: bool = False,
    ):
        self.obj = obj
        self.connect_by_key = connect_by_key  # connect by a unique field (versions.py relation_connect)
        self.lenient_numbers = lenient_numbers  # v1.3: NUMBER is not type-checked (see versions.py)
        self.actor = {"source": "API", "workspaceMemberId": None, "name": api_key_name, "context": {}}

    def unknown(self, key: str) -> ApiError:
        return bad_request(f'Object {self.obj.nameSingular} doesn\'t have any "{key}" field.')

    def validate(self, body, *, is_update: bool = False) -> dict:
        """Return the patch for one record; raise ApiError (400/500) like the real server."""
        if isinstance(body, list) or body is None:
            body = {}  # a single create with [] or no body creates a blank record (recorded)
        if not isinstance(body, dict):
            raise bad_request(f"Invalid input {inspect(body)}")
        obj = self.obj
        patch: dict = {}
        for key, value in body.items():
            f = obj.fields.get(key)
            if f is None:
                rel = obj.join_columns.get(key)
                if rel is None:
                    raise self.unknown(key)
                patch[key] = self._uuid(value, key, nullable=True)
                continue
            ftype = f.type
            if ftype == "RELATION" or (ftype == "MORPH_RELATION" and f.relation):
                if f.relation and f.relation["type"] == "ONE_TO_MANY":
                    raise bad_request(f"One-to-many relation {key} field does not support write operations.")
                patch[f.join_column] = self._connect(f, value)
                continue
            if ftype in ("MORPH_RELATION", "TS_VECTOR"):
                raise self.unknown(key)
            if value is None:
                patch[key] = self._null_value(f)
                continue
            patch[key] = self._value(f, value)
        if obj.has_actor:
            patch.pop("updatedBy", None)
            if is_update:
                patch.pop("createdBy", None)
        return patch

    # -- helpers -------------------------------------------------------------------
    def _null_value(self, f: Field):
        if not f.isNullable:
            if f.defaultValue is None and f.type not in ("ACTOR", "POSITION"):
                raise bad_request(f"Field {f.name} is not nullable and has no default value.")
            # The validator lets it through and Postgres refuses it (real-server-notes: a 500).
            raise internal_error(
                f'null value in column "{f.name}" of relation "{self.obj.nameSingular}" violates not-null constraint'
            )
        if f.type in ("TEXT",) or f.type in COMPOSITE_SUBFIELDS:
            return copy_default(f.type)
        return None

    def _uuid(self, value, name: str, *, nullable: bool):
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not UUID_RE.match(value):
            raise bad_request(f'Invalid UUID value {inspect(value)} for field "{name}"')
        return value.lower()

    def _connect(self, f: Field, value):
        """Nested relation write: {"connect": {"where": {"id": ...}}} or {"disconnect": true}."""
        if isinstance(value, dict) and "disconnect" in value and value["disconnect"] is True:
            return None
        if isinstance(value, dict) and isinstance(value.get("connect"), dict):
            where = value["connect"].get("where")
            if isinstance(where, dict) and "id" in where:
                return self._uuid(where["id"], f.join_column, nullable=False)
            if self.connect_by_key and isinstance(where, dict) and where:
                return ConnectByKey(f, where)  # resolved against the store by records.py
        raise bad_request(f'Relation "{f.name}" requires connect or disconnect operation')

    def _value(self, f: Field, value):
        t = f.type
        name = f.name
        if t == "TEXT":
            if not isinstance(value, str):
                raise bad_request(f'Invalid string value {inspect(value)} for text field "{name}"')
            return value
        if t == "NUMBER":
            if self.lenient_numbers and (isinstance(value, bool) or not isinstance(value, (int, float))):
                return _postgres_number(value)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad_request(f'Invalid number value {inspect(value)} for field "{name}"')
            return value
        if t == "NUMERIC":
            return self._numeric(value, name)
        if t == "BOOLEAN":
            if not isinstance(value, bool):
                raise bad_request(f'Invalid boolean value {inspect(value)} for field "{name}"')
            return value
        if t in ("SELECT", "RATING"):
            if not isinstance(value, str) or value not in f.option_values:
                raise bad_request(f'Invalid value {inspect(value)} for field "{name}"')
            return value
        if t == "MULTI_SELECT":
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list):
                raise bad_request(f'Invalid value {inspect(value)} for multi select field "{name}"')
            for item in items:
                if not isinstance(item, str):
                    raise bad_request(
                        f'Invalid value {inspect(item)} for field "{name} - Array values need to be string"'
                    )
                if item not in f.option_values:
                    raise bad_request(f'Invalid value {inspect(item)} for multi select field "{name}"')
            return items
        if t == "UUID":
            return self._uuid(value, name, nullable=True)
        if t in ("DATE", "DATE_TIME"):
            return parse_date_value(value, name, date_only=(t == "DATE"))
        if t == "POSITION":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad_request(f'Invalid number value {inspect(value)} for field "{name}"')
            return value
        if t == "RAW_JSON":
            if isinstance(value, str):
                try:
                    return json.loads(value)
                except ValueError:
                    raise bad_request(f'Invalid value {inspect(value)} for raw json field "{name}"') from None
            return value
        if t == "ARRAY":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad_request(f'Invalid value {inspect(value)} for array field "{name}"')
            return value
        if t in COMPOSITE_SUBFIELDS:
            return self._composite(f, value)
        raise bad_request(f"Field {name} of type {t} is not writable in the emulator")

    def _numeric(self, value, name: str):
        """NUMERIC is a Postgres numeric: numbers and numeric strings, read back as a string."""
        if value == "" or value is None:
            return None
        if isinstance(value, bool):
            raise bad_request(f'Invalid number value NaN for field "{name}"')
        if isinstance(value, (int, float)):
            return js_number(value)
        if isinstance(value, str) and NUMERIC_RE.match(value):
            return value.strip()
        raise bad_request(f'Invalid number value NaN for field "{name}"')

    def _composite(self, f: Field, value) -> dict:
        t, name = f.type, f.name
        if not isinstance(value, dict):
            if t == "RICH_TEXT_V2":
                raise bad_request(
                    f'Invalid rich text v2 value {inspect(value)} for field "{name}" - Should be an object'
                )
            raise bad_request(f'Invalid object value {inspect(value)} for field "{name}"')
        allowed = COMPOSITE_SUBFIELDS[t]
        for sub in value:
            if sub not in allowed or (t == "ACTOR" and sub == "workspaceMemberId"):
                raise bad_request(f'Invalid subfield {sub} for {COMPOSITE_WORDS[t]} field "{name}"')
        if t in ("FULL_NAME", "ADDRESS"):
            out = {}
            for sub, v in value.items():
                if sub in ("addressLat", "addressLng"):
                    out[sub] = self._numeric(v, f"{name}.{sub}")
                else:
                    out[sub] = self._text(v, f"{name}.{sub}")
            return out
        if t == "EMAILS":
            # primaryEmail is always rewritten (absent -> ""); additionalEmails only when sent.
            out = {"primaryEmail": self._text(value.get("primaryEmail"), f"{name}.primaryEmail").lower()}
            if "additionalEmails" in value:
                extra = value["additionalEmails"]
                if extra is None:
                    out["additionalEmails"] = []
                elif isinstance(extra, list) and all(isinstance(e, str) for e in extra):
                    out["additionalEmails"] = [e.lower() for e in extra]
                else:
                    raise bad_request(f'Invalid value {inspect(extra)} for field "{name}.additionalEmails"')
            return out
        if t == "LINKS":
            # Not merged upstream: without primaryLinkUrl the whole link is cleared (patch_links_partial_wipes_link).
            url = value.get("primaryLinkUrl")
            if url is None:
                return default_record_value("LINKS")
            url = normalise_url(self._text(url, f"{name}.primaryLinkUrl"))
            secondary = value.get("secondaryLinks")
            if secondary is None:
                secondary = []
            if not isinstance(secondary, list) or not all(isinstance(s, dict) for s in secondary):
                raise bad_request(f'Invalid value {inspect(secondary)} for field "{name}.secondaryLinks"')
            secondary = [
                {**s, "url": normalise_url(s["url"])} if isinstance(s.get("url"), str) else s
                for s in secondary
            ]
            label = self._text(value.get("primaryLinkLabel"), f"{name}.primaryLinkLabel")
            return {"primaryLinkLabel": label, "primaryLinkUrl": url, "secondaryLinks": secondary}
        if t == "PHONES":
            return self._phones(f, value)
        if t == "CURRENCY":
            out = {}
            if "amountMicros" in value:
                # The sub-field is named in the message: validateCurrencyFieldOrThrow passes
                # `${fieldName}.${subField}` to validateNumericFieldOrThrow (engine/api/common/
                # common-args-processors/data-arg-processor/validator-utils/validate-currency-field-or-throw.util.ts).
                out["amountMicros"] = self._amount(value["amountMicros"], f"{name}.amountMicros")
            if "currencyCode" in value:
                code = value["currencyCode"]
                if code is not None and not isinstance(code, str):
                    raise bad_request(
                        f'Invalid string value {inspect(code)} for text field "{name}.currencyCode"'
                    )
                out["currencyCode"] = code
            return out
        if t == "RICH_TEXT_V2":
            if not value:
                return default_record_value("RICH_TEXT_V2")
            markdown, blocknote = value.get("markdown"), value.get("blocknote")
            if markdown is not None and not isinstance(markdown, str):
                raise bad_request(
                    f'Invalid rich text v2 value {inspect(value)} for field "{name}" - Should be an object'
                )
            if blocknote is not None and not isinstance(blocknote, str):
                raise bad_request(
                    f'Invalid rich text v2 value {inspect(value)} for field "{name}" - Should be an object'
                )
            if blocknote is None and markdown is not None:
                blocknote = markdown_to_blocknote(markdown) if markdown else None
            elif markdown is None and blocknote is not None:
                markdown = blocknote_to_markdown(blocknote)
            return {"blocknote": blocknote, "markdown": markdown or ""}
        if t == "ACTOR":
            out = dict(self.actor)
            if "source" in value:
                if value["source"] not in ACTOR_SOURCES:
                    raise bad_request(f'Invalid value {inspect(value["source"])} for field "{name}.source"')
                out["source"] = value["source"]
            if isinstance(value.get("name"), str):
                out["name"] = value["name"]
            if isinstance(value.get("context"), dict):
                out["context"] = value["context"]
            return out
        raise bad_request(f"Field {name} of type {t} is not writable in the emulator")

    @staticmethod
    def _text(value, name: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise bad_request(f'Invalid string value {inspect(value)} for text field "{name}"')
        return value

    @staticmethod
    def _amount(value, name: str):
        """amountMicros: number or numeric string, the fraction is dropped (recorded)."""
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f'Invalid number value NaN for field "{name}"')
        if isinstance(value, str):
            if not NUMERIC_RE.match(value):
                raise bad_request(f'Invalid number value NaN for field "{name}"')
            value = float(value)
        if not isinstance(value, (int, float)) or math.isinf(value):
            raise bad_request(f'Invalid number value NaN for field "{name}"')
        return int(value)

    def _phones(self, f: Field, value: dict) -> dict:
        name = f.name
        number = value.get("primaryPhoneNumber")
        country = value.get("primaryPhoneCountryCode")
        calling = value.get("primaryPhoneCallingCode")
        for sub, v in (
            ("primaryPhoneNumber", number),
            ("primaryPhoneCountryCode", country),
            ("primaryPhoneCallingCode", calling),
        ):
            self._text(v, f"{name}.{sub}")
        out = {}
        try:
            # Upstream keeps what was sent (`countryCode ?? inferred`); a sub-field not sent is stored empty.
            parsed = parse_phone(number, country, calling)
            out.update(
                primaryPhoneNumber=parsed.national or "",
                primaryPhoneCountryCode=parsed.country or "",
                primaryPhoneCallingCode=parsed.calling_code or "",
            )
            if "additionalPhones" in value:
                extra = value["additionalPhones"] or []
                if not isinstance(extra, list):
                    raise bad_request(f'Invalid value {inspect(extra)} for field "{name}.additionalPhones"')
                phones = []
                for item in extra:
                    if not isinstance(item, dict):
                        raise bad_request(
                            f'Invalid value {inspect(item)} for field "{name}.additionalPhones"'
                        )
                    p = parse_phone(
                        str(item.get("number") or ""), item.get("countryCode"), item.get("callingCode")
                    )
                    phones.append(
                        {
                            "number": p.national or "",
                            "countryCode": p.country or "",
                            "callingCode": p.calling_code or "",
                        }
                    )
                out["additionalPhones"] = phones
        except PhoneError as exc:
            raise ApiError(400, "Error", str(exc), extra={"code": exc.code}) from None
        return out


def _postgres_number(value):
    """What Postgres makes of a non-number written to a NUMBER column when nothing checked it first: a numeric
    string is cast (an assumption), anything else was observed stored as null."""
    if isinstance(value, str) and NUMERIC_RE.match(value):
        number = float(value)
        return int(number) if number.is_integer() else number
    return None


def copy_default(ftype: str):
    return default_record_value(ftype)


def new_uuid() -> str:
    return str(uuid.uuid4())
