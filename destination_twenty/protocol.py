"""Where we extend the CDK's messages: reading stdin and writing stdout as plain JSON.

The CDK's dataclasses drop fields they do not know: the `id` the Airbyte platform (≥ 1.7) adds to every STATE,
and `destinationStats.rejectedRecordCount` (protocol 0.18, newer than the CDK's models). A STATE must come back
exactly as it arrived plus our stats, so states stay raw dicts from stdin to stdout and nothing is lost.
Records are read as raw dicts too: a malformed one becomes a rejection of that record, not a crash.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets


@dataclass(frozen=True, slots=True)
class Record:
    stream: str
    data: Any  # should be a JSON object; anything else is rejected by the writer with a reason
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class State:
    raw: dict[str, Any]  # the `state` object exactly as received (keeps the platform's `id`)

    @property
    def streams(self) -> list[str] | None:
        """Streams this state checkpoints; None for GLOBAL and LEGACY states, which cover them all."""
        if self.raw.get("type") == "STREAM":
            descriptor = (self.raw.get("stream") or {}).get("stream_descriptor") or {}
            name, namespace = descriptor.get("name"), descriptor.get("namespace")
            if not isinstance(name, str):
                return None
            return [f"{namespace}.{name}" if namespace else name]
        return None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A stdin line that is no Airbyte message we can use: reported, never fatal."""

    reason: str


def read_messages(lines: Iterable[str | bytes]) -> Iterator[Record | State | Unreadable]:
    """Parse stdin lines into records and states; TRACE, LOG and other types the platform may send are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            yield Unreadable(f"input line {number} is not JSON; ignored")
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
            yield Record(stream=record["stream"], data=record.get("data"), namespace=record.get("namespace"))
        elif kind == "STATE":
            state = message.get("state")
            if not isinstance(state, dict):
                yield Unreadable(f"input line {number} is a STATE without a state object; ignored")
                continue
            yield State(raw=state)


def state_with_stats(state: State, written: int, rejected: int) -> dict[str, Any]:
    """The STATE message to echo: the state as received, plus destinationStats counted since the previous one."""
    raw = dict(state.raw)
    stats: dict[str, Any] = {"recordCount": float(written)}
    if rejected:
        stats["rejectedRecordCount"] = float(rejected)
    raw["destinationStats"] = stats
    return {"type": "STATE", "state": raw}


def log_message(level: str, message: str) -> dict[str, Any]:
    return {"type": "LOG", "log": {"level": level, "message": message}}


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


def emit(message: Mapping[str, Any], out=None) -> None:
    """Write one message line. One write call per line, so lines from the logger never interleave with ours;
    every line passes the CDK's secret filter as a last line of defence."""
    out = out or sys.stdout
    out.write(filter_secrets(orjson.dumps(message).decode()) + "\n")
    out.flush()
