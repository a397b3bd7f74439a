"""Telling the user about rejected records, in one place: with partial success an ERROR trace per record (the
sync goes on), a line per record in the rejected-records file (on disk before the state that counts it), and in
a dry run the first reasons per stream, for its summary. The writer decides what a rejection does to the sync;
this says it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from destination_twenty.config import TwentyConfig
from destination_twenty.mapping.transforms import shorten
from destination_twenty.write.items import Rejection
from destination_twenty.write.messages import Failure
from destination_twenty.write.rejected import RejectedFile

DRY_RUN_REASONS_SHOWN = 5  # per stream, in the dry run's summary


class Reporter:
    def __init__(self, config: TwentyConfig):
        self._dry_run = config.dry_run
        self._traces = config.partial_success
        self.reasons: dict[str, list[str]] = {}  # dry run: the first reasons per stream
        self._descriptors: dict[str, tuple[str, str | None]] = {}  # stream key → (name, namespace)
        # Opened first, so a path that cannot be written fails the sync before anything is.
        self._file = RejectedFile(config.rejected_records_path) if config.rejected_records_path else None

    @property
    def keeps_records(self) -> bool:
        """Does a rejection need its record's data (only the rejected-records file writes it)?"""
        return self._file is not None

    def saw(self, stream: str, name: str, namespace: str | None) -> None:
        """The stream's name and namespace as the platform sent them, for traces and the rejected file."""
        self._descriptors.setdefault(stream, (name, namespace))

    def rejected(self, rejection: Rejection) -> Iterator[Failure]:
        """Tell of one rejected record, in input order."""
        if self._dry_run:
            reasons = self.reasons.setdefault(rejection.stream, [])
            if len(reasons) < DRY_RUN_REASONS_SHOWN:
                reasons.append(describe(rejection))
            return
        if self._file is not None:
            self._file.add(self._entry(rejection))
        if self._traces:
            yield self.failure(describe(rejection), rejection.stream, "system_error")

    def stopped_by(self, rejection: Rejection) -> Failure:
        """The trace for the rejection that ended a sync without partial success."""
        message = (
            f"{describe(rejection)}. The sync stopped there, as partial success is off: fix the record in "
            "the source and sync again, or turn partial success on to write the other records and report "
            "the rejected ones."
        )
        # The data will be the same on a retry, so it is a config_error: the platform does not retry it.
        return self.failure(message, rejection.stream, "config_error")

    def failure(self, message: str, stream: str, failure_type: str) -> Failure:
        name, namespace = self._descriptors.get(stream, (stream, None))
        return Failure(message, failure_type, name, namespace)

    def before_state(self) -> None:
        """Before a state's counts are taken: what the file holds is on disk, so a failure keeps it."""
        if self._file is not None:
            self._file.sync()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _entry(self, rejection: Rejection) -> dict[str, Any]:
        name, namespace = self._descriptors.get(rejection.stream, (rejection.stream, None))
        return {
            "stream": name,
            "namespace": namespace,
            "position": rejection.position,
            "data": rejection.data,
            "field": rejection.field,
            "reason": shorten(rejection.reason),
            "twenty_message": shorten(rejection.message) if rejection.message else None,
        }


def describe(rejection: Rejection) -> str:
    field_part = f", field '{rejection.field}'" if rejection.field else ""
    return (
        f"Record {rejection.position} of stream '{rejection.stream}' was rejected{field_part}: "
        f"{shorten(rejection.reason)}"
    )
