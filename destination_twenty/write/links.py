"""Finding the ids of link targets by key, for a whole batch at once (the lookups planned in
mapping/relations.py): what this sync wrote is known without a call, a small target object is read whole once,
every other key is looked up, and hits are cached for the rest of the sync. Then each item gets its join
columns set and its note/task targets listed, and the junction rows of what was written are built.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from destination_twenty.mapping.columns import dig
from destination_twenty.mapping.relations import (
    Junction,
    Lookup,
    describe_ambiguous,
    describe_missing,
    target_row_id,
)
from destination_twenty.twenty.filters import by_keys
from destination_twenty.write.items import Item
from destination_twenty.write.written import WrittenKeys

CACHE_KEYS = 100_000  # target keys remembered per sync (a few MB); older ones are looked up again
PREFETCH_AT_MOST = 2_000  # a target object this small is read whole once (≤ 10 calls), not key by key
PAGE = 200  # Twenty's page maximum on the recorded server


class Resolver:
    """Target ids by key, a batch at a time: what this sync wrote is known without a call (WrittenKeys), a small
    target object is read whole once, and every other key is looked up with one `GET` and an `[in]` filter per
    200 distinct keys; hits are cached (bounded). A miss is never final while the workspace may have changed
    since a read: a key found nowhere is looked up before its record is rejected. Shared by the pool threads."""

    def __init__(self, client: Any, written: WrittenKeys | None = None, writes: Iterable[str] = ()):
        self.client = client
        self.written = written if written is not None else WrittenKeys()
        # Objects this sync writes (routes.py): what it writes there is known from the write answers (written),
        # so they are never read whole up front, and a key not known yet is looked up only when a miss is final.
        self.writes = frozenset(writes)
        self._cache: OrderedDict[tuple[str, str, str], tuple[str, ...]] = OrderedDict()
        self._sized: set[str] = set()
        self._whole: dict[str, list[dict[str, Any]]] = {}  # small targets, read whole
        self._prefetched: set[tuple[str, str]] = set()  # (target, path) whose whole read is in the cache
        self._lock = threading.Lock()
        self._sizing = threading.Lock()  # held while a target is counted and maybe read whole

    def ids(self, wanted: Iterable[tuple[Lookup, str]]) -> dict[tuple[str, str, str], tuple[str, ...]]:
        by_field: dict[tuple[str, str], set[str]] = {}
        lookups: dict[tuple[str, str], Lookup] = {}
        for lookup, key in wanted:
            by_field.setdefault((lookup.target, lookup.path), set()).add(key)
            lookups[(lookup.target, lookup.path)] = lookup
        found: dict[tuple[str, str, str], tuple[str, ...]] = {}
        for (target, path), keys in by_field.items():
            self._maybe_prefetch(lookups[(target, path)])
            missing = []
            with self._lock:
                for key in keys:
                    cached = self._cache.get((target, path, key))
                    if cached is not None:
                        self._cache.move_to_end((target, path, key))
                        found[(target, path, key)] = cached
                        continue
                    mine = self.written.get(target, path, key)
                    if mine is not None:
                        found[(target, path, key)] = (mine,)
                    else:
                        missing.append(key)  # even when the target was read whole: it may be new since
            if missing:
                found.update(self._read(lookups[(target, path)], missing))
        return found

    def prepare(self, lookups: Iterable[Lookup]) -> None:
        """Read small targets whole now (once per sync), so known_ids knows their keys."""
        for lookup in set(lookups):
            self._maybe_prefetch(lookup)

    def known_ids(self, wanted: Iterable[tuple[Lookup, str]]) -> dict[tuple[str, str, str], tuple[str, ...]]:
        """The ids of these keys known without a call (cached, or written by this sync); the others left out."""
        found: dict[tuple[str, str, str], tuple[str, ...]] = {}
        with self._lock:
            for lookup, key in wanted:
                cache_key = (lookup.target, lookup.path, key)
                ids = self._cache.get(cache_key)
                if ids is None and (mine := self.written.get(lookup.target, lookup.path, key)) is not None:
                    ids = (mine,)
                if ids is not None:
                    found[cache_key] = ids
        return found

    def known(self, lookup: Lookup, key: str) -> bool:
        """Is the target of this key known without a call (written by this sync, read, or cached)?"""
        with self._lock:
            if (lookup.target, lookup.path, key) in self._cache:
                return True
        return self.written.get(lookup.target, lookup.path, key) is not None

    def _maybe_prefetch(self, lookup: Lookup) -> None:
        if lookup.target in self.writes:
            return  # written by this sync: known from its writes, not read whole before they happen
        # One thread sizes (and maybe reads) a target while the others wait: four batches starting together
        # must not each look the same keys up.
        with self._sizing:
            if lookup.target not in self._sized:
                self._sized.add(lookup.target)
                rows = self.client.find_all_if_at_most(lookup.target, PREFETCH_AT_MOST)
                if rows is not None:
                    self._whole[lookup.target] = rows  # ≤ 2,000 rows, kept
            rows = self._whole.get(lookup.target)
            if rows is not None and (lookup.target, lookup.path) not in self._prefetched:
                self._prefetched.add((lookup.target, lookup.path))
                self._remember(lookup, rows, keys=None)

    def _read(self, lookup: Lookup, keys: list[str]) -> dict[tuple[str, str, str], tuple[str, ...]]:
        rows: list[dict[str, Any]] = []
        for expression in by_keys(lookup.path, sorted(keys), PAGE):
            rows.extend(self.client.find(lookup.target, expression))
        return self._remember(lookup, rows, keys)

    def _remember(
        self, lookup: Lookup, rows: list[dict[str, Any]], keys: Iterable[str] | None
    ) -> dict[tuple[str, str, str], tuple[str, ...]]:
        grouped: dict[str, list[str]] = {}
        for row in rows:
            value = dig(row, lookup.path.split("."))
            key = lookup.normalise(value) if value is not None else None
            if key is not None and isinstance(row.get("id"), str):
                grouped.setdefault(key, []).append(row["id"])
        found = {(lookup.target, lookup.path, key): tuple(sorted(set(ids))) for key, ids in grouped.items()}
        for key in keys or ():
            found.setdefault((lookup.target, lookup.path, key), ())
        with self._lock:
            for cache_key, ids in found.items():
                if ids:  # a key that matched nothing now may exist by the next batch: never cache a miss
                    self._cache[cache_key] = ids
                    self._cache.move_to_end(cache_key)
            while len(self._cache) > CACHE_KEYS:
                self._cache.popitem(last=False)
        return found


def attach(
    items: list[Item],
    found: dict[tuple[str, str, str], tuple[str, ...]],
    reject: Callable[[Item, str, str | None], None],
    warnings: list[str],
) -> list[Item]:
    """Set each item's links from the ids found for its keys: the items kept. A key matching nothing (or two
    records) rejects its record, unless the mapping asks to leave that link unset."""
    kept: list[Item] = []
    unset: list[tuple[Item, str]] = []
    for item in items:
        reason = field = None
        targets = []
        for lookup, key in item.lookups:
            ids = found.get((lookup.target, lookup.path, key), ())
            if len(ids) == 1:
                if lookup.is_target:
                    targets.append((lookup, ids[0]))
                else:
                    item.payload[lookup.join_column] = ids[0]
            elif not ids and lookup.leave_unset:
                unset.append((item, describe_missing(lookup, key)))
            elif reason is None:
                reason = describe_missing(lookup, key) if not ids else describe_ambiguous(lookup, key, ids)
                field = lookup.field
        if reason is not None:
            reject(item, reason, field)
        else:
            item.targets = targets
            kept.append(item)
    if unset:
        item, why = unset[0]
        warnings.append(
            f"{len(unset)} records of stream '{item.stream}' were written without a link, as their mapping "
            f"asks (if_not_found: leave_unset); first: record {item.position}, {why}."
        )
    return kept


def target_rows(junction: Junction, linked: Iterable[tuple[str, Item]]) -> list[dict[str, Any]]:
    """Junction rows (noteTargets / taskTargets) for the notes and tasks just written (stored id, item), with ids
    derived from what they link, so a re-sync or a resumed sync upserts the same rows instead of adding more."""
    return [
        {
            "id": target_row_id(owner_id, lookup, target_id),
            junction.owner_column: owner_id,
            lookup.join_column: target_id,
        }
        for owner_id, item in linked
        for lookup, target_id in item.targets
    ]
