"""One batch's fate, on a pool thread: check that updated ids exist, keep what a partial LINKS/EMAILS write would
wipe, send, and when Twenty refuses, find out why: shrink to the server's maximum, recognise records an earlier
attempt already stored, or split the batch until each bad record stands alone. It only calls Twenty and returns a
result; the writer does the bookkeeping.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from destination_twenty.client import TwentyClient
from destination_twenty.errors import DataError
from destination_twenty.keys import unique_keys
from destination_twenty.schema import ObjectSchema

_MAX_RECORDS = re.compile(r"Maximum number of records to upsert is (\d+)")
_DUPLICATE = "duplicate entry"


@dataclass(slots=True)
class Item:
    """One record on its way: where it came from, what will be sent, and how."""

    seq: int  # arrival order across streams
    stream: str
    position: int  # 1-based position of the record in its stream
    payload: dict[str, Any]
    keys: frozenset[tuple[str, str]]
    size: int  # bytes of the encoded payload: a request body stays under Twenty's limit
    update: bool = False  # the mapping gave an `id`: update that existing record
    client_id: bool = False  # we chose the id (create path): a duplicate on it means "already written"
    partial: bool = False  # sends part of a LINKS/EMAILS field, which Twenty would wipe: merge what is stored


@dataclass(slots=True)
class Rejection:
    seq: int
    item_stream: str
    position: int
    reason: str
    field: str | None = None


@dataclass
class BatchResult:
    created: Counter = field(default_factory=Counter)  # per stream
    updated: Counter = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)


class BatchSender:
    def __init__(
        self,
        client: TwentyClient,
        plural: str,
        schema: ObjectSchema | None,
        upsert: bool,
        batch_size: int,
        log: Callable[[str], None],
    ):
        self.client = client
        self.plural = plural
        self.schema = schema
        self.upsert = upsert
        self.limit = batch_size  # shrinks when the server says its maximum is lower; read by the writer too
        self._limit_lock = threading.Lock()
        self._log = log
        # LINKS and EMAILS fields are replaced whole by Twenty (a link's label and secondary links vanish when only
        # its URL is sent), so a partial write of one is completed from the stored record first.
        self._wiped_whole = {
            name: f.type
            for name, f in (schema.fields.items() if schema else ())
            if f.type in ("LINKS", "EMAILS")
        }

    def is_partial(self, payload: Mapping[str, Any]) -> bool:
        """Does this payload send part of a field that Twenty replaces whole?"""
        return any(
            isinstance(value, dict) and _is_partial(self._wiped_whole[top], value)
            for top, value in payload.items()
            if top in self._wiped_whole
        )

    def write(self, items: list[Item]) -> BatchResult:
        result = BatchResult()
        stored: dict[str, dict[str, Any]] = {}
        updates = [i for i in items if i.update]
        if updates:
            stored = self.client.records_by_id(self.plural, [i.payload["id"] for i in updates])
            for item in updates:
                if item.payload["id"] not in stored:
                    reason = f"no record with id {item.payload['id']} exists in {self.plural} to update"
                    result.rejections.append(Rejection(item.seq, item.stream, item.position, reason, "id"))
            items = [i for i in items if not i.update or i.payload["id"] in stored]
        if self.upsert:
            self._complete_partial_composites([i for i in items if i.partial], stored)
            self._send(items, True, result)
        else:
            updates = [i for i in items if i.update]
            self._complete_partial_composites([i for i in updates if i.partial], stored)
            self._send(updates, True, result)  # an update by id is an upsert keyed on an id known to exist
            self._send([i for i in items if not i.update], False, result)
        return result

    def _complete_partial_composites(self, items: list[Item], stored: dict[str, dict[str, Any]]) -> None:
        """Fill the sub-fields a partial LINKS/EMAILS write would wipe with the values Twenty holds now.

        Costs one read for the records not already read (update by id reads them anyway)."""
        if not items:
            return
        rows = list(stored.values())
        unknown = [i for i in items if i.payload.get("id") not in stored]
        for expression in _lookup_filters(unknown):
            rows.extend(self.client.find(self.plural, expression))
        by_id = {row.get("id"): row for row in rows}
        by_key = {key: row for row in rows for key in unique_keys(row, self.schema) if key[0] != "id"}
        for item in items:
            row = by_id.get(item.payload.get("id")) or next(
                (by_key[k] for k in item.keys if k in by_key), None
            )
            if row is None:
                continue  # a new record: nothing stored to keep
            for top, value in item.payload.items():
                old = row.get(top)
                if top in self._wiped_whole and isinstance(value, dict) and isinstance(old, dict):
                    for sub, kept in old.items():
                        if sub not in value and kept not in (None, "", [], {}):
                            value[sub] = kept

    def _send(self, items: list[Item], upsert: bool, result: BatchResult) -> None:
        start = 0
        while start < len(items):
            limit = self.limit
            self._send_chunk(items[start : start + limit], upsert, result)
            start += limit

    def _send_chunk(
        self, items: list[Item], upsert: bool, result: BatchResult, resolved: bool = False
    ) -> None:
        if not items:
            return
        try:
            rows = self.client.create_many(self.plural, [i.payload for i in items], upsert)
        except DataError as exc:
            maximum = _MAX_RECORDS.search(exc.message)
            if maximum and len(items) > 1:
                self._shrink(int(maximum.group(1)), len(items))
                self._send(items, upsert, result)
                return
            if not resolved and _DUPLICATE in exc.message.lower() and any(i.client_id for i in items):
                # Maybe an earlier attempt was stored and its answer lost: records whose own id exists are
                # written already; send the rest again.
                ids = [i.payload["id"] for i in items if i.client_id]
                stored = self.client.records_by_id(self.plural, ids)
                for item in items:
                    if item.client_id and item.payload["id"] in stored:
                        result.created[item.stream] += 1
                remaining = [i for i in items if not (i.client_id and i.payload["id"] in stored)]
                self._send_chunk(remaining, upsert, result, resolved=True)
                return
            if len(items) == 1:
                item = items[0]
                result.rejections.append(Rejection(item.seq, item.stream, item.position, _explain(exc, item)))
                return
            # One bad record fails the whole batch: split it until the bad ones stand alone.
            middle = len(items) // 2
            self._send_chunk(items[:middle], upsert, result, resolved)
            self._send_chunk(items[middle:], upsert, result, resolved)
            return
        self._tally(items, rows, upsert, result)

    def _tally(
        self, items: list[Item], rows: list[dict[str, Any]], upsert: bool, result: BatchResult
    ) -> None:
        # Twenty answers updates first, then inserts, whatever the input order: rows are matched to records by id
        # (records matched on a unique field carry none: any unclaimed row is theirs), and an update is told from
        # an insert by createdAt differing from updatedAt.
        stream_of = {i.payload["id"]: i.stream for i in items if "id" in i.payload}
        keyed = [i.stream for i in items if "id" not in i.payload]
        for row in rows:
            if not isinstance(row, dict):
                continue
            stream = stream_of.pop(row.get("id"), None) or (keyed.pop() if keyed else None)
            if stream is not None:
                changed = upsert and row.get("createdAt") != row.get("updatedAt")
                (result.updated if changed else result.created)[stream] += 1
        for stream in [*stream_of.values(), *keyed]:  # accepted, though the answer did not list them
            result.created[stream] += 1

    def _shrink(self, server_max: int, tried: int) -> None:
        with self._limit_lock:
            # A maximum at or above what was refused contradicts the refusal: halve, to make progress anyway.
            new = max(1, server_max if server_max < tried else tried // 2)
            if new < self.limit:
                self.limit = new
                self._log(f"Twenty accepts at most {server_max} records per call; batch size is now {new}.")


def _is_partial(kind: str, value: Mapping[str, Any]) -> bool:
    """Would Twenty wipe stored sub-fields? LINKS lose whatever is not sent; EMAILS lose primaryEmail when only
    additionalEmails is sent (additionalEmails survive a write of primaryEmail alone, as recorded)."""
    if kind == "LINKS":
        return len(value) < 3  # primaryLinkUrl, primaryLinkLabel, secondaryLinks
    return "primaryEmail" not in value


_SAFE_IN_VALUE = re.compile(r"^[^,\[\]()\"' ]+$")
MAX_FILTER_CHARS = 6000  # keeps lookup URLs well under common 8 KB limits


def _lookup_filters(items: Sequence[Item]) -> list[str]:
    """REST filters finding the stored records of `items` by id or unique key, split to keep URLs short."""
    values: dict[str, list[str]] = {}
    for item in items:
        if "id" in item.payload:
            values.setdefault("id", []).append(str(item.payload["id"]))
        for path, value in item.keys:
            if path != "id":
                values.setdefault(path, []).append(value)
    predicates = []
    for path, found in values.items():
        plain = [v for v in found if _SAFE_IN_VALUE.match(v)]
        for start in range(0, len(plain), 50):  # a few `in` lists rather than one very long one
            predicates.append(f"{path}[in]:[{','.join(plain[start : start + 50])}]")
        safe = set(plain)
        for value in dict.fromkeys(v for v in found if v not in safe):  # in order, once each
            quote = '"' if '"' not in value else "'"
            if quote not in value:  # a value holding both quotes cannot be looked up; it is written as sent
                predicates.append(f"{path}[eq]:{quote}{value}{quote}")
    filters, current = [], []
    for predicate in predicates:
        if current and len(",".join(current)) + len(predicate) > MAX_FILTER_CHARS:
            filters.append(current)
            current = []
        current.append(predicate)
    if current:
        filters.append(current)
    return [group[0] if len(group) == 1 else f"or({','.join(group)})" for group in filters]


def _explain(exc: DataError, item: Item) -> str:
    """Twenty's reason, made specific where Twenty's own words are vague."""
    message = exc.message
    if _DUPLICATE in message.lower():
        keys = ", ".join(f"{k}={v}" for k, v in sorted(item.keys) if k != "id") or "its id"
        action = "already exists" if not item.update else "conflicts with another record"
        return f"a record with the same unique value ({keys}) {action} in Twenty ({message})"
    if "foreign key constraint" in message:
        return f"a relation id points to no existing record ({message})"
    return message
