"""Ids known to exist in Twenty, read or written by this sync: a record updated twice in a sync is read once.
Bounded (the oldest are forgotten and read again if needed); shared by the pool threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

KEPT = 200_000  # ids remembered (~20 MB at most)


class KnownIds:
    def __init__(self, kept: int = KEPT):
        self._kept = kept
        self._ids: OrderedDict[str, None] = OrderedDict()  # oldest first
        self._lock = threading.Lock()

    def __contains__(self, record_id: object) -> bool:
        with self._lock:
            return record_id in self._ids

    def add(self, ids: Iterable[Any]) -> None:
        with self._lock:
            for record_id in ids:
                if isinstance(record_id, str):
                    self._ids[record_id] = None
                    self._ids.move_to_end(record_id)
            while len(self._ids) > self._kept:
                self._ids.popitem(last=False)
