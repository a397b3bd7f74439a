"""What this sync wrote, by key: for each object and unique field path, the id of the record this sync stored
with that value. A relation to a record the sync itself wrote (a company created by an earlier batch, a
self-relation) resolves from here without a call, however long ago the target was read.

Fed with the rows Twenty answered to a write (`wrote`), by whichever writer stored them: the batch sender of
this stream today, a writer of another stream of the same sync tomorrow (links across streams). Pure and
thread-safe; bounded (the oldest keys are forgotten, and looked up again if needed).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from destination_twenty.mapping.columns import dig
from destination_twenty.mapping.keys import key_form

KEPT = 200_000  # keys remembered per sync (a few tens of MB at most); older ones are looked up again


class WrittenKeys:
    def __init__(self, kept: int = KEPT):
        self._kept = kept
        self._ids: OrderedDict[tuple[str, str, str], str] = OrderedDict()  # (object, path, key) → id
        self._keys: dict[tuple[str, str, str], str] = {}  # (object, path, id) → its key now
        self._watched: set[tuple[str, str]] = set()  # (object, path) some relation looks records up by
        self._lock = threading.Lock()

    def watch(self, plural: str, path: str) -> None:
        """Remember written records of `plural` by `path` from now on (nothing is kept for unwatched keys, so a
        sync without relations to what it writes spends no memory here)."""
        with self._lock:
            self._watched.add((plural, path))

    def wrote(self, plural: str, rows: Iterable[Any], paths: Iterable[str]) -> None:
        """Rows of `plural` as Twenty answered a write; `paths` are the unique field paths to remember them by
        (only unique ones: a value many records share must still be looked up, to find the ambiguity)."""
        with self._lock:
            paths = [p for p in paths if (plural, p) in self._watched and p != "id"]
            if not paths:
                return
            for row in rows:
                if not isinstance(row, Mapping) or not isinstance(row.get("id"), str):
                    continue
                record_id = row["id"]
                for path in paths:
                    value = dig(row, path.split("."))
                    if value is None and not _holds(row, path):
                        continue  # not in this answer (a GraphQL selection): what was known stays
                    key = key_form(path, value) if value is not None else None
                    old = self._keys.pop((plural, path, record_id), None)
                    if old is not None and self._ids.get((plural, path, old)) == record_id:
                        del self._ids[(plural, path, old)]  # the record no longer holds its old value
                    if key is None:
                        continue
                    self._ids[(plural, path, key)] = record_id
                    self._ids.move_to_end((plural, path, key))
                    self._keys[(plural, path, record_id)] = key
            while len(self._ids) > self._kept:
                (plural_, path_, _key), record_id = self._ids.popitem(last=False)
                self._keys.pop((plural_, path_, record_id), None)

    def get(self, plural: str, path: str, key: str) -> str | None:
        """The id of the record this sync wrote to `plural` with `path` equal to `key`, if it remembers one."""
        with self._lock:
            return self._ids.get((plural, path, key))

    def __len__(self) -> int:
        return len(self._ids)


def _holds(row: Mapping[str, Any], path: str) -> bool:
    """Does the row carry the field at all (explicitly null), rather than leave it out?"""
    head, _, sub = path.partition(".")
    if head not in row:
        return False
    return not sub or (isinstance(row[head], Mapping) and sub in row[head])
