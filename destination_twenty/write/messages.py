"""What the writer reads and what it says, in its own words: airbyte/protocol.py turns stdin lines into the
inputs and renders the events as Airbyte messages, so the writer never speaks the protocol itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from destination_twenty.write.streams import stream_key

# --- input -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    stream: str
    data: Any  # should be a JSON object; anything else is rejected by the writer with a reason
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class UnparseableRecord(Record):
    """A RECORD line whose data cannot be used (no parser reads it, or it holds text that is not Unicode): the
    writer rejects it with `reason` and counts it against its stream, like any other bad record."""

    reason: str = ""


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
            return [stream_key(name, namespace)]
        return None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A stdin line that is no Airbyte message we can use: reported, never fatal."""

    reason: str


Message = Record | State | Unreadable

# --- events ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Log:
    level: str  # DEBUG, INFO, WARN, ERROR
    text: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A state to echo: everything before it is stored or rejected; the counts are those since the last one."""

    state: State
    written: int
    rejected: int


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure to report to the user (a rejected record, the reason a sync stopped)."""

    message: str
    failure_type: str  # system_error, config_error, transient_error
    stream: str | None = None
    namespace: str | None = None


Event = Log | Checkpoint | Failure
