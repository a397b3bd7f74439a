"""Where we extend the CDK's messages: reading stdin and writing stdout as plain JSON, with the key masked.

The CDK's dataclasses drop fields they do not know: the `id` the Airbyte platform (≥ 1.7) adds to every STATE,
and `destinationStats.rejectedRecordCount` (protocol 0.18, newer than the CDK's models). A STATE must come back
exactly as it arrived plus our stats, so states stay raw dicts from stdin to stdout and nothing is lost.
Records are read as raw dicts too: a malformed one becomes a rejection of that record, not a crash, and a RECORD
line no parser can read is still a record to reject (and count), never a line dropped.

Nothing here imports the CDK: importing it costs about a second of every start.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from destination_twenty.config import MIN_API_KEY_LENGTH
from destination_twenty.redact import redact_urls
from destination_twenty.write.messages import (
    Checkpoint,
    Event,
    Failure,
    Log,
    Record,
    State,
    UnparseableRecord,
    Unreadable,
)


class _Unparseable(Exception):
    """Neither orjson nor the standard library can read a line; the message says why."""


def read_messages(lines: Iterable[str | bytes]) -> Iterator[Record | State | Unreadable]:
    """Parse stdin lines into records and states; TRACE, LOG and other types the platform may send are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            message, fallback = _loads(line)
        except _Unparseable as exc:
            yield _salvage(line, number, str(exc))
            continue
        if not isinstance(message, dict):
            yield Unreadable(f"input line {number} is not a JSON object; ignored")
            continue
        kind = message.get("type")
        if kind == "RECORD":
            record = message.get("record")
            if not isinstance(record, dict) or not isinstance(record.get("stream"), str):
                yield Unreadable(f"input line {number} is a RECORD without a stream name; ignored")
                continue
            stream, data, namespace = record["stream"], record.get("data"), record.get("namespace")
            bad_text = _lone_surrogate(data) if fallback else None  # orjson refuses lone surrogates itself
            if bad_text is not None:
                # Twenty stores UTF-8, which has no encoding for half a surrogate pair: the value would be
                # replaced or refused over there, so the record is refused here, naming the column.
                yield UnparseableRecord(stream, None, namespace, reason=bad_text)
                continue
            yield Record(stream=stream, data=data, namespace=namespace)
        elif kind == "STATE":
            state = message.get("state")
            if not isinstance(state, dict):
                yield Unreadable(f"input line {number} is a STATE without a state object; ignored")
                continue
            yield State(raw=state)


def _loads(line: str | bytes) -> tuple[Any, bool]:
    """The parsed line, and whether the fallback read it. orjson first (fast); the standard library for valid
    JSON that orjson refuses: a lone surrogate escape such as `\\ud800`, which Python's own json.dumps writes.
    Nesting too deep for either ends in RecursionError there (its recursion guard), caught."""
    try:
        return orjson.loads(line), False
    except orjson.JSONDecodeError as exc:
        first = exc
    try:
        return json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float), True
    except RecursionError:
        raise _Unparseable(
            "it nests values deeper than the JSON parsers accept (orjson: 1,024 levels)"
        ) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and the refusals below
        reason = str(exc) if isinstance(exc, _NotJSON) else str(first)
        raise _Unparseable(f"it is not valid JSON ({_shorten(reason)})") from None


class _NotJSON(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJSON(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotJSON(f"the number {_shorten(text, 40)} is too large for a double")
    return value


# Tokens of JSON text: strings, structural characters, and runs of anything else (numbers, literals, junk).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+', re.DOTALL)
_SALVAGED = ("type", "record.stream", "record.namespace")


def _salvage(line: str | bytes, number: int, why: str) -> Record | Unreadable:
    """For a line no parser reads: if it is a RECORD that names its stream, a record to reject; else a note."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    found = _scan_top_fields(text)
    stream, namespace = found.get("record.stream"), found.get("record.namespace")
    if found.get("type") == "RECORD" and stream is not None:
        reason = f"input line {number} cannot be parsed: {why}"
        return UnparseableRecord(stream, None, namespace, reason=reason)
    if found.get("type") == "RECORD":
        return Unreadable(
            f"input line {number} is a RECORD that cannot be read ({why}) and names no stream; ignored"
        )
    if isinstance(found.get("type"), str):  # a STATE or another message: skipping it loses no data
        return Unreadable(
            f"input line {number} is a {found['type']} message that cannot be parsed ({why}); ignored"
        )
    return Unreadable(f"input line {number} is not JSON; ignored")


def _scan_top_fields(text: str) -> dict[str, str]:
    """The top-level `type` and the record's `stream` and `namespace`, read from JSON text too deep or too broken
    to parse: one pass over its tokens (no recursion), tracking the keys that lead to the current position."""
    kinds: list[str] = []  # one per open container: "{" or "["
    keys: list[str | None] = []  # the key being filled in each open object (None in arrays)
    found: dict[str, str] = {}
    expect_key = False
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("{", "["):
            kinds.append(token)
            keys.append(None)
            expect_key = token == "{"
        elif token in ("}", "]"):
            if kinds:
                kinds.pop()
                keys.pop()
            expect_key = False
            if not kinds:
                break  # the message is over; what follows is not part of it
        elif token == ",":
            expect_key = bool(kinds) and kinds[-1] == "{"
        elif token.startswith('"'):
            value = _string(token)
            if expect_key and kinds:
                keys[-1] = value
                expect_key = False
            elif len(kinds) <= 2 and all(k == "{" for k in kinds) and None not in keys and value is not None:
                where = ".".join(k for k in keys if k is not None)
                if where in _SALVAGED:
                    found.setdefault(where, value)
    return found


def _string(token: str) -> str | None:
    try:
        return json.loads(token)
    except ValueError:
        return None


_SURROGATE = re.compile("[\ud800-\udfff]")  # in a decoded str only lone halves remain: pairs were combined


def _lone_surrogate(data: Any) -> str | None:
    """Why a record's data cannot be written when some text in it holds half a surrogate pair; else None.
    Walks the data without recursion."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                where = f"column '{path}'" if path else "the data"
                return (
                    f"{where} holds half of a UTF-16 surrogate pair ({_escaped(value)}), which is not valid "
                    "Unicode text and cannot be stored in Twenty; fix the value in the source"
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if _SURROGATE.search(child):
                    return f"the column name {_escaped(child)} holds half of a UTF-16 surrogate pair"
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def _escaped(text: str) -> str:
    """Text quoted in a message as JSON escapes, so a lone surrogate stays readable (and encodable)."""
    return _shorten(json.dumps(text), 80)


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def state_with_stats(state: State, written: int, rejected: int) -> dict[str, Any]:
    """The STATE message to echo: the state as received, plus destinationStats counted since the previous one."""
    raw = dict(state.raw)
    stats: dict[str, Any] = {"recordCount": float(written)}
    if rejected:
        stats["rejectedRecordCount"] = float(rejected)
    raw["destinationStats"] = stats
    return {"type": "STATE", "state": raw}


def render(event: Event) -> dict[str, Any]:
    """The Airbyte message for one of the writer's events (write/messages.py)."""
    if isinstance(event, Log):
        return log_message(event.level, event.text)
    if isinstance(event, Checkpoint):
        return state_with_stats(event.state, event.written, event.rejected)
    if isinstance(event, Failure):
        return error_trace(
            event.message, failure_type=event.failure_type, stream=event.stream, namespace=event.namespace
        )
    raise TypeError(f"not a writer event: {event!r}")


def log_message(level: str, message: str) -> dict[str, Any]:
    return {"type": "LOG", "log": {"level": level, "message": message}}


def destination_catalog(operations: list[dict[str, Any]]) -> dict[str, Any]:
    """A DESTINATION_CATALOG message (protocol 0.16+), which the CDK's models lack: the answer to `discover`."""
    return {"type": "DESTINATION_CATALOG", "destination_catalog": {"operations": operations}}


def error_trace(
    message: str,
    *,
    failure_type: str = "system_error",
    internal_message: str | None = None,
    stream: str | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """An ERROR trace. Never carries a Python stack trace: users read these in the Airbyte UI."""
    error: dict[str, Any] = {"message": message, "failure_type": failure_type}
    if internal_message:
        error["internal_message"] = internal_message
    if stream is not None:
        descriptor = {"name": stream}
        if namespace:
            descriptor["namespace"] = namespace
        error["stream_descriptor"] = descriptor
    return {"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": time.time() * 1000, "error": error}}


def connection_status(succeeded: bool, message: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"status": "SUCCEEDED" if succeeded else "FAILED"}
    if message is not None:
        status["message"] = message
    return {"type": "CONNECTION_STATUS", "connectionStatus": status}


# --- masking the key -------------------------------------------------------------------------------------

_secret_pattern: re.Pattern[str] | None = None
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask `value` in every message printed from now on, in any letter case (servers echo keys lower-cased).

    Values shorter than a real key are not registered: config validation refuses them, and masking a short
    string such as `1` would rewrite unrelated text."""
    global _secret_pattern
    for candidate in (value, value.strip()):
        if len(candidate) >= MIN_API_KEY_LENGTH:
            _secrets.add(candidate)
    if _secrets:
        alternatives = sorted(
            _secrets, key=len, reverse=True
        )  # longest first, so no part of one is left over
        _secret_pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)


def mask(text: str) -> str:
    """The key masked, and any password written into a URL (redact.py), in one line of free text."""
    text = redact_urls(text) if text else text
    return _secret_pattern.sub("****", text) if _secret_pattern is not None and text else text


# Only free text can quote the key. STATEs and everything else go out byte for byte: masking them could only
# corrupt the platform's data.
_TEXT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "LOG": (("log",), ("message",)),
    "TRACE": (("trace", "error"), ("message", "internal_message", "stack_trace")),
    "CONNECTION_STATUS": (("connectionStatus",), ("message",)),
}


def masked(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """The message with the key masked in its text fields; copies only the objects it changes."""
    spec = _TEXT_FIELDS.get(message.get("type"))
    if spec is None:
        return message
    path, fields = spec
    parents = [message]
    for key in path:
        child = parents[-1].get(key)
        if not isinstance(child, Mapping):
            return message
        parents.append(child)
    leaf = dict(parents[-1])
    for name in fields:
        if isinstance(leaf.get(name), str):
            leaf[name] = mask(leaf[name])
    for key, parent in zip(reversed(path), reversed(parents[:-1]), strict=True):
        leaf = {**parent, key: leaf}
    return leaf


# --- writing stdout --------------------------------------------------------------------------------------

_write_lock = threading.Lock()  # pool threads log too; one line must never cut into another


def encode(message: Mapping[str, Any]) -> str:
    """One JSON line. orjson refuses what the input may legally carry back out (a lone surrogate in an echoed
    state, integers beyond 64 bits): the standard library writes those as the escapes they arrived as."""
    try:
        return orjson.dumps(message).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(message, ensure_ascii=True, separators=(",", ":"), default=str)


def emit(message: Mapping[str, Any], out=None) -> None:
    """Write one message line, the key masked in its text fields. One write call per line, under a lock."""
    line = encode(masked(message)) + "\n"
    with _write_lock:
        out = out or sys.stdout
        out.write(line)
        out.flush()


class LogHandler(logging.Handler):
    """Python logging as Airbyte LOG messages on stdout (the CDK's formatter does the same, at the cost of
    importing the CDK)."""

    LEVELS = {
        logging.CRITICAL: "FATAL",
        logging.ERROR: "ERROR",
        logging.WARNING: "WARN",
        logging.INFO: "INFO",
        logging.DEBUG: "DEBUG",
    }

    def __init__(self, out=None):
        super().__init__()
        self.out = out
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            emit(log_message(self.LEVELS.get(record.levelno, "INFO"), self.format(record)), self.out)
        except Exception:
            self.handleError(record)
