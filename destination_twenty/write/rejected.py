"""The rejected-records file: one JSON line per rejected record, on disk before the STATE that counts it, so a
crash never loses a rejection already reported. Fix the lines and replay them (README, "Rejected records")."""

from __future__ import annotations

import os
from typing import IO, Any

import orjson

from destination_twenty.errors import ConfigError


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

    def add(self, entry: dict[str, Any]) -> None:
        self._file.write(orjson.dumps(entry, default=str) + b"\n")
        self._file.flush()  # in the OS's hands: a crash of this process loses nothing
        self._unsynced = True

    def sync(self) -> None:
        """Before a STATE goes out: on disk, so even a machine crash keeps every rejection it counts."""
        if self._unsynced:
            os.fsync(self._file.fileno())
            self._unsynced = False

    def close(self) -> None:
        self.sync()
        self._file.close()
