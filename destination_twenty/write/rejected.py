"""The rejected-records file: one JSON line per rejected record, on disk before the STATE that counts it, so a
crash never loses a rejection already reported. Fix the lines and replay them (README, "Rejected records")."""

from __future__ import annotations

import os
from typing import IO, Any

import orjson

from destination_twenty.errors import ConfigError, TwentyDestinationError


class RejectedFileError(TwentyDestinationError):
    """The file cannot take a line (a full disk, a lost mount): the sync ends, and no STATE counts a rejection
    whose line is missing."""


class RejectedFile:
    def __init__(self, path: str):
        self.path = path
        try:
            self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 - open for the whole sync, closed by close()
        except OSError as exc:
            raise ConfigError(
                f"rejected_records_path {path!r} cannot be opened for appending ({exc.strerror}); in the Docker "
                "image use a path under /local, which Airbyte mounts."
            ) from None
        self._unsynced = False
        self._broken = False  # a write failed: reported once, the file is not touched again

    def add(self, entry: dict[str, Any]) -> None:
        if self._broken:
            return
        try:
            self._file.write(orjson.dumps(entry, default=str) + b"\n")
            self._file.flush()  # in the OS's hands: a crash of this process loses nothing
        except OSError as exc:
            raise self._failed(exc) from None
        self._unsynced = True

    def sync(self) -> None:
        """Before a STATE goes out: on disk, so even a machine crash keeps every rejection it counts."""
        if self._unsynced and not self._broken:
            try:
                os.fsync(self._file.fileno())
            except OSError as exc:
                raise self._failed(exc) from None
            self._unsynced = False

    def close(self) -> None:
        try:
            self.sync()
        except RejectedFileError:
            pass  # reported when it happened
        try:
            self._file.close()
        except OSError:
            pass  # a broken file's buffered line cannot be flushed either; the failure is already reported

    def _failed(self, exc: OSError) -> RejectedFileError:
        self._broken = True
        return RejectedFileError(
            f"The rejected-records file {self.path!r} cannot be written ({exc.strerror or type(exc).__name__}); "
            "the sync stopped, and no state after it was echoed, so the platform sends those records again."
        )
