"""Typed configuration, read from the dict that the spec validated."""

from __future__ import annotations

import pkgutil
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any
from urllib.parse import urlsplit

import orjson
import phonenumbers

from destination_twenty.errors import ConfigError
from destination_twenty.redact import redact_url

# mode → REST path segment (plural) of the standard object it writes.
STANDARD_OBJECTS = {
    "people": "people",
    "companies": "companies",
    "opportunities": "opportunities",
    "notes": "notes",
    "tasks": "tasks",
}
MODES = (*STANDARD_OBJECTS, "custom")
# Matched with fullmatch: `$` alone would let a trailing newline through (`people\n` → /rest/people%0A).
CUSTOM_OBJECT_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9]*")
# One source for every default and bound: the spec the user sees (spec.json, shipped in the package).
_SPEC: dict[str, Any] = orjson.loads(pkgutil.get_data(__name__.rpartition(".")[0], "spec.json") or b"{}")
_PROPERTIES: dict[str, dict[str, Any]] = _SPEC["connectionSpecification"]["properties"]
DEFAULTS: dict[str, Any] = {k: v["default"] for k, v in _PROPERTIES.items() if "default" in v}
DEFAULT_API_URL: str = DEFAULTS["api_url"]
# Twenty's API keys are JWTs (header.payload.signature, a few hundred characters). Anything much shorter is a
# paste gone wrong, and a key that short could not be masked in the output without rewriting unrelated text.
MIN_API_KEY_LENGTH = 16
# Far above any Twenty plan, low enough that the pacer's arithmetic stays meaningful: one bound for check and write.
MAX_REQUESTS_PER_MINUTE: int = _PROPERTIES["requests_per_minute"]["maximum"]


IF_NOT_FOUND = ("reject", "leave_unset")
# The keys a mapping entry may hold: the spec refuses any other (additionalProperties: false), and so does write.
MAPPING_KEYS: tuple[str, ...] = tuple(_PROPERTIES["column_mapping"]["items"]["properties"])
# Read but kept out of the spec: knobs the tests turn (commands.py).
UNDOCUMENTED_KEYS = ("check_retry_seconds", "request_timeout_seconds")


def _object(raw: Mapping[str, Any], where: str) -> tuple[str, Any]:
    """(mode, custom_object) of the top level or of a route (`where` is its prefix in messages), validated once
    for both; the spec's pattern holds custom_object whatever the mode, and "" means not set."""
    mode = raw.get("mode")
    if mode not in MODES:
        raise ConfigError(f"{where}mode must be one of {', '.join(MODES)}; got {mode!r}.")
    custom_object = raw.get("custom_object")
    custom_object = None if custom_object == "" else custom_object
    if (mode == "custom" or custom_object is not None) and (
        not isinstance(custom_object, str) or not CUSTOM_OBJECT_RE.fullmatch(custom_object)
    ):
        raise ConfigError(
            f"{where}custom_object must be the REST path segment of the custom object, letters and digits "
            f"starting with a letter (e.g. myCustomObjects); got {custom_object!r}."
        )
    return mode, custom_object


def spec() -> dict[str, Any]:
    """The connector specification, as shipped in the package (spec.json), read once with the defaults."""
    # connectionSpecification first, as the CDK's serializer prints it.
    return {"connectionSpecification": _SPEC.get("connectionSpecification"), **_SPEC}


@dataclass(frozen=True)
class ColumnMap:
    column: str
    field: str
    transforms: tuple[str, ...] = ()
    if_not_found: str = "reject"  # a relation key that matches nothing: "reject" the record, or "leave_unset"


@dataclass(frozen=True)
class TwentyConfig:
    api_key: str = field(repr=False)  # never in a repr, so never in a log line
    mode: str
    api_url: str = DEFAULT_API_URL
    custom_object: str | None = None
    upsert: bool = DEFAULTS["upsert"]
    partial_success: bool = DEFAULTS["partial_success"]
    column_mapping: tuple[ColumnMap, ...] = ()
    batch_size: int = DEFAULTS["batch_size"]
    requests_per_minute: int = DEFAULTS["requests_per_minute"]
    max_concurrent_requests: int = DEFAULTS["max_concurrent_requests"]
    max_retry_seconds: float = float(DEFAULTS["max_retry_seconds"])
    dry_run: bool = DEFAULTS["dry_run"]  # map, validate and look up; write nothing and echo no STATE
    rejected_records_path: str | None = None  # JSON lines, one per rejected record
    default_phone_country: str | None = None  # ISO 3166 alpha-2; reads phone numbers written without +
    identity_scope: str = ""  # in every derived id: two connections' streams of one name keep apart
    warnings: tuple[str, ...] = field(default=(), compare=False)  # for the log: keys that look misspelled
    streams: tuple[Route, ...] = ()  # a route per stream (see "Routes" below); the top level is the default

    @property
    def object_path(self) -> str:
        """REST path segment of the object written: /rest/{object_path}."""
        return self.custom_object if self.mode == "custom" else STANDARD_OBJECTS.get(self.mode, "")

    @property
    def rest_url(self) -> str:
        return f"{self.api_url}/rest"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> TwentyConfig:
        """Build the config, raising ConfigError with a sentence naming the key at fault.

        The one validation of a config: check and write both call it and give its answer word for word, and it
        refuses what the spec's JSON schema refuses (unit_tests/test_config_spec.py holds the two together)."""
        if not isinstance(raw, Mapping):
            raise ConfigError("The configuration must be a JSON object.")
        api_key = raw.get("api_key")
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigError("api_key is required: a Twenty API key (Settings → APIs & Webhooks).")
        if len(api_key.strip()) < MIN_API_KEY_LENGTH:
            # The message must not quote the key: too short to be masked, it would be printed as is.
            raise ConfigError(
                f"api_key is {len(api_key.strip())} characters long; a Twenty API key is a token of a few hundred "
                f"characters (at least {MIN_API_KEY_LENGTH}). Copy the whole key from Settings → APIs & Webhooks."
            )
        routes = _routes(raw)
        # mode is required as the spec says: the route of every stream `streams` does not name.
        mode, custom_object = _object(raw, "")
        return cls(
            api_key=api_key.strip(),
            mode=mode,
            api_url=normalize_api_url(raw.get("api_url", DEFAULT_API_URL)),
            custom_object=custom_object if mode == "custom" else None,
            upsert=_bool(raw, "upsert", DEFAULTS["upsert"]),
            partial_success=_bool(raw, "partial_success", DEFAULTS["partial_success"]),
            column_mapping=_column_mapping(
                [] if raw.get("column_mapping") is None else raw["column_mapping"]
            ),
            batch_size=_spec_int(raw, "batch_size"),
            requests_per_minute=_spec_int(raw, "requests_per_minute"),
            max_concurrent_requests=_spec_int(raw, "max_concurrent_requests"),
            max_retry_seconds=float(_spec_int(raw, "max_retry_seconds")),
            dry_run=_bool(raw, "dry_run", DEFAULTS["dry_run"]),
            rejected_records_path=_path(raw, "rejected_records_path"),
            default_phone_country=_phone_country(raw.get("default_phone_country")),
            identity_scope=_identity_scope(raw.get("identity_scope")),
            warnings=_unknown_top_level_keys(raw),
            streams=routes,
        )


def _closest(key: str, known: Sequence[str], cutoff: float = 0.6) -> str | None:
    close = get_close_matches(key, known, n=1, cutoff=cutoff)
    return close[0] if close else None


def _unknown_top_level_keys(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """A WARN for each top-level key one slip away from a real one. Not an error: the top level is open
    (additionalProperties: true) and the platform may add keys of its own, which must not fail a sync."""
    known = [*_PROPERTIES, *UNDOCUMENTED_KEYS]
    warnings = []
    for key in raw:
        if key in known or not isinstance(key, str):
            continue
        close = _closest(key, known, cutoff=0.8)
        if close is not None:
            warnings.append(
                f"Config key '{key}' is not a setting of this connector and is ignored; did you mean '{close}'?"
            )
    return tuple(warnings)


def normalize_api_url(value: Any) -> str:
    """`https://x.example/`, `https://x.example/rest` and `https://x.example/rest/` all mean `https://x.example`."""
    if value is None or value == "":
        return DEFAULT_API_URL
    if not isinstance(value, str):
        raise ConfigError(f"api_url must be a URL string; got {type(value).__name__}.")
    url = value.strip().rstrip("/")
    if url.endswith("/rest"):
        url = url[: -len("/rest")]
    shown = redact_url(value)  # the value as quoted back: never with a password in it
    try:
        parts = urlsplit(url)
    except ValueError:  # a broken IPv6 host such as https://[::1
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(
            f"api_url must look like https://api.twenty.com (scheme and host, no query); got {shown!r}."
        )
    if parts.username is not None or parts.password is not None:
        # requests would send these as Basic auth instead of our Bearer key, and the 403 would blame the key.
        raise ConfigError(
            "api_url must not contain a user name or password (user:pass@host); the API key is the only "
            "credential Twenty needs. Remove them from the URL."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"api_url has an invalid port: {shown!r}.") from exc
    return url


def _path(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "\x00" in value or value != value.strip():
        raise ConfigError(f"{key} must be a file path (in the Docker image, under /local); got {value!r}.")
    return value


def _spec_int(raw: Mapping[str, Any], key: str) -> int:
    """An integer key with the spec's own default and bounds."""
    prop = _PROPERTIES[key]
    return _int(raw, key, prop["default"], prop.get("minimum"), prop.get("maximum"))


def _bool(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false; got {value!r}.")
    return value


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int | None) -> int:
    value = raw.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be a whole number; got {value!r}.")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{key} must be {bounds}; got {value}.")
    return value


def _phone_country(value: Any) -> str | None:
    if value is None or value == "":
        return None
    code = value.strip().upper() if isinstance(value, str) else None
    if code is None or not re.fullmatch(r"[A-Z]{2}", code) or code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"default_phone_country must be an ISO 3166 alpha-2 country code such as US or FR; got {value!r}."
        )
    return code


def _identity_scope(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or value != value.strip() or any(ord(c) < 32 for c in value):
        # " crm" and "crm" would scope two different sets of ids: refuse what cannot be told apart by eye.
        raise ConfigError(
            "identity_scope must be a plain string without surrounding spaces or control characters (e.g. the "
            f"connection's name); got {value!r}."
        )
    return value


def _column_mapping(items: Any) -> tuple[ColumnMap, ...]:
    if not isinstance(items, list):
        raise ConfigError("column_mapping must be a list of {column, field, transforms} objects.")
    result = []
    for i, item in enumerate(items):
        where = f"column_mapping[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where} must be an object with column and field.")
        for key in item:
            if key not in MAPPING_KEYS:
                close = _closest(str(key), MAPPING_KEYS)
                hint = f"did you mean '{close}'? " if close else ""
                raise ConfigError(
                    f"{where} has an unknown key '{key}'; {hint}A mapping entry holds {', '.join(MAPPING_KEYS)}."
                )
        column, target = item.get("column"), item.get("field")
        if not isinstance(column, str) or not column:
            raise ConfigError(f"{where}.column must be a non-empty string.")
        if not isinstance(target, str) or not target or target.startswith(".") or target.endswith("."):
            raise ConfigError(
                f"{where}.field must be a Twenty field name such as jobTitle or name.firstName."
            )
        transforms = [] if item.get("transforms") is None else item["transforms"]
        if not isinstance(transforms, list) or not all(isinstance(t, str) for t in transforms):
            raise ConfigError(f"{where}.transforms must be a list of transform names.")
        if_not_found = item.get("if_not_found", "reject")
        if if_not_found not in IF_NOT_FOUND:
            raise ConfigError(
                f"{where}.if_not_found must be one of {', '.join(IF_NOT_FOUND)} (what a relation key that matches "
                f"no record does); got {if_not_found!r}."
            )
        result.append(
            ColumnMap(column=column, field=target, transforms=tuple(transforms), if_not_found=if_not_found)
        )
    return tuple(result)


# --- Routes: what each stream writes (key `streams`) ----------------------------------------------------------

OPERATIONS = ("upsert", "create", "update", "delete")
ON_SOURCE_DELETE = ("ignore", "delete")
_ROUTE_KEYS = (
    "stream",
    "namespace",
    "mode",
    "custom_object",
    "column_mapping",
    "operation",
    "on_source_delete",
)


@dataclass(frozen=True)
class Route:
    """Where one stream's records go and what is done with them. The top-level mode, custom_object,
    column_mapping and upsert make the default route, used for every stream no entry of `streams` names."""

    stream: str | None  # None: the default route
    namespace: str | None
    mode: str
    custom_object: str | None = None
    column_mapping: tuple[ColumnMap, ...] = ()
    operation: str = "upsert"  # upsert | create | update | delete
    on_source_delete: str = (
        "ignore"  # a record with _ab_cdc_deleted_at set: "ignore" it, or "delete" its match
    )
    # Set by a data-activation catalog: the matching key as Twenty field names (top-level, maybe several), and
    # records that arrive already renamed to those names.
    matching_key: tuple[str, ...] = ()
    renamed: bool = False

    @property
    def object_path(self) -> str:
        return self.custom_object if self.mode == "custom" else STANDARD_OBJECTS.get(self.mode, self.mode)

    @property
    def upsert(self) -> bool:
        """Match records to stored ones (upsert, update, delete) rather than create them."""
        return self.operation != "create"

    @property
    def name(self) -> str:
        """How the stream is named in messages: namespace.stream, or "the default route"."""
        if self.stream is None:
            return "the default route"
        return f"{self.namespace}.{self.stream}" if self.namespace else self.stream


def default_route(config: TwentyConfig) -> Route | None:
    """The top-level settings as a route, or None when the config has only `streams` (and no mode)."""
    if not config.mode:
        return None
    return Route(
        stream=None,
        namespace=None,
        mode=config.mode,
        custom_object=config.custom_object,
        column_mapping=config.column_mapping,
        operation="upsert" if config.upsert else "create",
    )


def route_for(config: TwentyConfig, name: str, namespace: str | None) -> Route | None:
    """The route of a stream: the entry naming its namespace and name, else the entry naming its name alone,
    else the default route; None when nothing covers it."""
    loose = None
    for route in config.streams:
        if route.stream != name:
            continue
        if route.namespace is not None and route.namespace == namespace:
            return route
        if route.namespace is None:
            loose = route
    return loose or default_route(config)


def _routes(raw: Mapping[str, Any]) -> tuple[Route, ...]:
    items = raw.get("streams")
    if items is None or items == []:
        return ()
    if not isinstance(items, list):
        raise ConfigError(
            "streams must be a list of routes, each {stream, mode, column_mapping, operation, ...}."
        )
    upsert = _bool(raw, "upsert", DEFAULTS["upsert"])
    routes: list[Route] = []
    seen: dict[tuple[str, str | None], int] = {}
    for i, item in enumerate(items):
        where = f"streams[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(f"{where} must be an object with at least stream and mode.")
        unknown = [k for k in item if k not in _ROUTE_KEYS]
        if unknown:
            close = get_close_matches(str(unknown[0]), _ROUTE_KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f"; a route takes {', '.join(_ROUTE_KEYS)}"
            raise ConfigError(f"{where} has an unknown key {unknown[0]!r}{hint}.")
        stream = item.get("stream")
        if not isinstance(stream, str) or not stream:
            raise ConfigError(f"{where}.stream must be the name of a stream in the catalog.")
        namespace = item.get("namespace")
        namespace = None if namespace == "" else namespace
        if namespace is not None and not isinstance(namespace, str):
            raise ConfigError(f"{where}.namespace must be a string; got {namespace!r}.")
        named = f"{where} (stream '{stream}')"
        if (stream, namespace) in seen:
            raise ConfigError(
                f"{named} repeats streams[{seen[(stream, namespace)]}]: each stream has one route."
            )
        seen[(stream, namespace)] = i
        mode, custom_object = _object(item, f"{named}.")
        operation = item.get("operation", "upsert" if upsert else "create")
        if operation not in OPERATIONS:
            raise ConfigError(f"{named}.operation must be one of {', '.join(OPERATIONS)}; got {operation!r}.")
        on_delete = item.get("on_source_delete", "ignore")
        if on_delete not in ON_SOURCE_DELETE:
            raise ConfigError(
                f"{named}.on_source_delete must be one of {', '.join(ON_SOURCE_DELETE)} (what a record the "
                f"source marks deleted, _ab_cdc_deleted_at, does); got {on_delete!r}."
            )
        try:
            mapping = _column_mapping(item.get("column_mapping") or [])
        except ConfigError as exc:
            raise ConfigError(f"{named}: {exc}") from None
        routes.append(
            Route(
                stream=stream,
                namespace=namespace,
                mode=mode,
                custom_object=custom_object if mode == "custom" else None,
                column_mapping=mapping,
                operation=operation,
                on_source_delete=on_delete,
            )
        )
    return tuple(routes)
