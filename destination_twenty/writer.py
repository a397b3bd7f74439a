"""Buffers mapped records into batches, writes them with a few requests in flight, and echoes each STATE once
everything before it is stored or rejected.

Order is kept by one queue: batches and states enter in arrival order and leave only from the front, so a state
is emitted after every batch before it has finished, however the requests complete. Memory stays bounded by the
batches in flight.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import orjson

from destination_twenty import protocol
from destination_twenty.client import TwentyClient
from destination_twenty.config import TwentyConfig
from destination_twenty.errors import DataError, RecordRejected
from destination_twenty.mapping import Mapper, unique_keys
from destination_twenty.schema import ObjectSchema

# Namespace of the client-side ids given to created records (uuid5 of stream and primary key): a retry of a
# create whose answer was lost then meets its own id, and is known to be written already.
CLIENT_ID_NAMESPACE = uuid.UUID("5f6b7c1e-2b1d-4c59-9a51-7e0e4f1f2a10")
_MAX_RECORDS = re.compile(r"Maximum number of records to upsert is (\d+)")
_DUPLICATE = "duplicate entry"
MAX_REQUEST_BYTES = 9_000_000  # Twenty (v1.x) refuses JSON bodies over 10 MB; keep a margin
PROGRESS_EVERY_SECONDS = 10.0


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


@dataclass
class _Batch:
    keys: frozenset[tuple[str, str]]  # the unique keys it writes, so a later batch never overtakes it
    future: Future


@dataclass
class _StateMark:
    state: protocol.State


class SyncFailed(Exception):
    """Ends the sync after its ERROR trace has been emitted (exit code 1)."""


class Writer:
    def __init__(
        self,
        config: TwentyConfig,
        client: TwentyClient,
        mapper: Mapper,
        schema: ObjectSchema | None,
        primary_keys: Mapping[str, Sequence[Sequence[str]]] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.config = config
        self.client = client
        self.mapper = mapper
        self.schema = schema
        self.plural = config.object_path
        self.primary_keys = primary_keys or {}
        self._log = log or (lambda message: None)
        self._batch_limit = config.batch_size  # shrinks when the server says its maximum is lower
        self._limit_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(config.max_concurrent_requests, thread_name_prefix="twenty-write")
        self._queue: deque[_Batch | _StateMark] = deque()
        self._buffer: list[Item] = []
        self._buffer_keys: set[tuple[str, str]] = set()
        self._buffer_bytes = 0
        self._positions: Counter = Counter()
        self._descriptors: dict[str, tuple[str, str | None]] = {}  # stream key → (name, namespace)
        self._since_state_written: Counter = Counter()
        self._since_state_rejected: Counter = Counter()
        self.created: Counter = Counter()
        self.updated: Counter = Counter()
        self.rejected: Counter = Counter()
        # LINKS and EMAILS fields are replaced whole by Twenty (a link's label and secondary links vanish when only
        # its URL is sent), so a partial write of one is completed from the stored record first.
        self._wiped_whole = {
            name: f.type
            for name, f in (schema.fields.items() if schema else ())
            if f.type in ("LINKS", "EMAILS")
        }
        self._seq = 0
        self._started = time.monotonic()
        self._last_progress = self._started

    # --- the main loop (runs on the main thread; it alone emits messages) ------------------------------

    def run(
        self, messages: Iterable[protocol.Record | protocol.State | protocol.Unreadable]
    ) -> Iterator[dict]:
        try:
            for message in messages:
                if isinstance(message, protocol.Record):
                    yield from self._on_record(message)
                elif isinstance(message, protocol.State):
                    yield from self._flush_buffer()
                    self._queue.append(_StateMark(message))
                    yield from self._drain(block=False)
                else:
                    yield protocol.log_message("WARN", message.reason)
                yield from self._maybe_progress()
            yield from self._flush_buffer()
            yield from self._drain(block=True)
            yield protocol.log_message("INFO", self.summary())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _on_record(self, record: protocol.Record) -> Iterator[dict]:
        # Streams are told apart by namespace too, as their STATEs are.
        stream = f"{record.namespace}.{record.stream}" if record.namespace else record.stream
        self._descriptors.setdefault(stream, (record.stream, record.namespace))
        self._positions[stream] += 1
        position = self._positions[stream]
        self._seq += 1
        try:
            if not isinstance(record.data, dict):
                raise RecordRejected(f"the record's data is {type(record.data).__name__}, not a JSON object")
            payload = self.mapper.map(record.data)
            if not payload:
                raise RecordRejected("every mapped value is empty, so there is nothing to write")
            item = self._make_item(stream, position, payload, record.data)
            if item.size > MAX_REQUEST_BYTES:
                raise RecordRejected(
                    f"the record is {item.size / 1e6:.1f} MB once encoded; Twenty accepts request bodies up to "
                    f"10 MB, so it cannot be sent"
                )
        except RecordRejected as exc:
            rejection = Rejection(self._seq, stream, position, exc.reason, exc.field)
            if self.config.partial_success:
                # Queued like a finished batch, so it is counted against the right state.
                done: Future = Future()
                done.set_result(BatchResult(rejections=[rejection]))
                self._queue.append(_Batch(frozenset(), done))
                yield from self._drain(block=False)
            else:
                # Everything before this record is written (and its states emitted) before the sync ends.
                yield from self._flush_buffer()
                yield from self._drain(block=True)
                yield from self._reject_now(rejection)
            return
        if item.keys & self._buffer_keys or self._buffer_bytes + item.size > MAX_REQUEST_BYTES:
            # Twenty fails a whole batch that repeats a unique key (close this batch, so the later record lands
            # in the next one and wins), and refuses bodies over 10 MB.
            yield from self._flush_buffer()
        self._buffer.append(item)
        self._buffer_keys |= item.keys
        self._buffer_bytes += item.size
        if len(self._buffer) >= self._batch_limit:
            yield from self._flush_buffer()

    def _make_item(
        self, stream: str, position: int, payload: dict[str, Any], data: Mapping[str, Any]
    ) -> Item:
        update = "id" in payload
        client_id = False
        if not update:
            keys = unique_keys(payload, self.schema)
            if not self.config.upsert or not keys:
                # Create, or upsert with no unique value to match on: a deterministic id makes retries and
                # re-runs land on the same record instead of creating it twice.
                payload["id"] = self._client_id(stream, data, payload)
                client_id = True
        keys = frozenset(unique_keys(payload, self.schema))
        size = len(orjson.dumps(payload)) + 1  # + the comma between records in the array
        partial = any(
            isinstance(value, dict) and _is_partial(self._wiped_whole[top], value)
            for top, value in payload.items()
            if top in self._wiped_whole
        )
        return Item(self._seq, stream, position, payload, keys, size, update, client_id, partial)

    def _client_id(self, stream: str, data: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
        """uuid5 of the stream and the record's primary key; without one, of what is sent (not the raw record,
        whose Airbyte metadata columns change on every sync)."""
        pk = self.primary_keys.get(stream)
        if pk:
            values = [_dig(data, path) for path in pk]
            if all(v is not None for v in values):
                return str(
                    uuid.uuid5(CLIENT_ID_NAMESPACE, f"{stream}\x1fpk\x1f{orjson.dumps(values).decode()}")
                )
        content = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str).decode()
        return str(uuid.uuid5(CLIENT_ID_NAMESPACE, f"{stream}\x1fcontent\x1f{content}"))

    # --- batches in flight ---------------------------------------------------------------------------

    def _flush_buffer(self) -> Iterator[dict]:
        if not self._buffer:
            return
        items, keys = self._buffer, frozenset(self._buffer_keys)
        self._buffer, self._buffer_keys, self._buffer_bytes = [], set(), 0
        # Keep what is in flight (and what waits behind a slow batch) bounded, never race an earlier batch that
        # touches the same record, and stop sending once an earlier batch has failed the sync.
        limit = self.config.max_concurrent_requests
        while True:
            batches = [e for e in self._queue if isinstance(e, _Batch)]
            running = [e.future for e in batches if not e.future.done()]
            if any(e.future.done() and e.future.exception() is not None for e in batches):
                yield from self._drain(block=True)  # raises that failure, in order
                continue
            clashing = [e.future for e in batches if e.keys & keys and not e.future.done()]
            if clashing:
                wait(clashing)
            elif len(running) >= limit:
                wait(running, return_when=FIRST_COMPLETED)
            elif len(batches) >= 2 * limit:
                wait([batches[0].future])
            else:
                break
            yield from self._drain(block=False)
        self._queue.append(_Batch(keys, self._pool.submit(self._write_batch, items)))

    def _drain(self, block: bool) -> Iterator[dict]:
        """Settle finished work at the front of the queue, in order; with block=True, all of it."""
        while self._queue:
            head = self._queue[0]
            if isinstance(head, _StateMark):
                self._queue.popleft()
                yield self._emit_state(head.state)
                continue
            if not head.future.done():
                if not block:
                    return
                while True:
                    done, _ = wait([head.future], timeout=PROGRESS_EVERY_SECONDS)
                    if done:
                        break
                    yield from self._maybe_progress()
            self._queue.popleft()
            result = head.future.result()  # errors other than rejections end the sync here
            for stream, n in result.created.items():
                self.created[stream] += n
                self._since_state_written[stream] += n
            for stream, n in result.updated.items():
                self.updated[stream] += n
                self._since_state_written[stream] += n
            for rejection in sorted(result.rejections, key=lambda r: r.seq):
                yield from self._reject_now(rejection)

    def _emit_state(self, state: protocol.State) -> dict:
        streams = state.streams
        if streams is None:  # GLOBAL / LEGACY: counts of every stream since the previous state
            written, rejected = (
                sum(self._since_state_written.values()),
                sum(self._since_state_rejected.values()),
            )
            self._since_state_written.clear()
            self._since_state_rejected.clear()
        else:
            written = sum(self._since_state_written.pop(s, 0) for s in streams)
            rejected = sum(self._since_state_rejected.pop(s, 0) for s in streams)
        return protocol.state_with_stats(state, written, rejected)

    def _reject_now(self, rejection: Rejection) -> Iterator[dict]:
        self.rejected[rejection.item_stream] += 1
        self._since_state_rejected[rejection.item_stream] += 1
        where = f"Record {rejection.position} of stream '{rejection.item_stream}'"
        field_part = f", field '{rejection.field}'" if rejection.field else ""
        message = f"{where} was rejected{field_part}: {rejection.reason}"
        name, namespace = self._descriptors.get(rejection.item_stream, (rejection.item_stream, None))
        trace = protocol.error_trace(message, failure_type="system_error", stream=name, namespace=namespace)
        if self.config.partial_success:
            yield trace
            return
        # Without partial success the first rejection ends the sync. Batches still in flight are waited for
        # (never cut mid-request), but no later state is emitted: the platform resends from the last one.
        self._buffer, self._buffer_keys, self._buffer_bytes = [], set(), 0
        for entry in self._queue:
            if isinstance(entry, _Batch):
                wait([entry.future])
        self._queue.clear()
        yield trace
        yield protocol.log_message("INFO", self.summary())
        raise SyncFailed(message)

    # --- progress and summary ------------------------------------------------------------------------

    def _maybe_progress(self) -> Iterator[dict]:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_SECONDS:
            return
        self._last_progress = now
        written = sum(self.created.values()) + sum(self.updated.values())
        rate = written / max(now - self._started, 1e-9)
        yield protocol.log_message(
            "INFO",
            f"Progress: {written} records written, {sum(self.rejected.values())} rejected, {rate:.0f} records/s; "
            f"pacing {self.client.pacer.requests_per_minute:.0f} requests/min, batch size {self._batch_limit}, "
            f"{self.client.stats.rate_limited} rate-limited answers so far",
        )

    def summary(self) -> str:
        streams = sorted(set(self._positions) | set(self.created) | set(self.updated) | set(self.rejected))
        parts = [
            f"stream '{s}': created {self.created[s]}, updated {self.updated[s]}, rejected {self.rejected[s]}"
            for s in streams
        ]
        elapsed = time.monotonic() - self._started
        return f"Sync summary ({elapsed:.1f} s, {self.client.stats.calls} API calls): " + (
            "; ".join(parts) or "no records"
        )

    # --- one batch (runs on a pool thread; only calls Twenty and returns a result) ----------------------

    def _write_batch(self, items: list[Item]) -> BatchResult:
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
        if self.config.upsert:
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
            limit = self._batch_limit
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
        # Twenty answers updates first, then inserts, whatever the input order: match rows by id, and tell an
        # update from an insert by comparing createdAt with updatedAt.
        by_id = {row.get("id"): row for row in rows if isinstance(row, dict)}
        unmatched = Counter()
        for item in items:
            row = by_id.get(item.payload.get("id")) if "id" in item.payload else None
            if row is None:
                unmatched[item.stream] += 1
                continue
            if upsert and row.get("createdAt") != row.get("updatedAt"):
                result.updated[item.stream] += 1
            else:
                result.created[item.stream] += 1
        if unmatched:
            # Records matched on a unique field carry no id of ours: count them from the rows that are not ours.
            ours = _ids(items)
            updated = (
                sum(
                    1
                    for r in rows
                    if isinstance(r, dict)
                    and r.get("id") not in ours
                    and r.get("createdAt") != r.get("updatedAt")
                )
                if upsert
                else 0
            )
            for stream, n in unmatched.items():
                take = min(updated, n)
                updated -= take
                result.updated[stream] += take
                result.created[stream] += n - take

    def _shrink(self, server_max: int, tried: int) -> None:
        with self._limit_lock:
            new = max(1, min(server_max, tried // 2 if server_max >= tried else server_max))
            if new < self._batch_limit:
                self._batch_limit = new
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
        for value in set(found) - set(plain):
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


def _ids(items: Sequence[Item]) -> set[Any]:
    return {i.payload.get("id") for i in items if "id" in i.payload}


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


def _dig(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
