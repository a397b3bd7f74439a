"""Buffers mapped records into batches, hands each to the batch sender (batch.py) with a few in flight, and echoes
each STATE once everything before it is stored or rejected; keeps the counts.

Order is kept by one queue: batches and states enter in arrival order and leave only from the front, so a state
is emitted after every batch before it has finished, however the requests complete. Memory stays bounded by the
batches in flight.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import orjson

from destination_twenty import protocol
from destination_twenty.batch import BatchResult, BatchSender, Item, Rejection
from destination_twenty.client import TwentyClient
from destination_twenty.config import TwentyConfig
from destination_twenty.errors import ConfigError, RecordRejected
from destination_twenty.mapping import Mapper, unique_keys
from destination_twenty.schema import ObjectSchema
from destination_twenty.transforms import shorten

# Namespace of the client-side ids given to created records (uuid5 of stream and primary key): a retry of a
# create whose answer was lost then meets its own id, and is known to be written already.
CLIENT_ID_NAMESPACE = uuid.UUID("5f6b7c1e-2b1d-4c59-9a51-7e0e4f1f2a10")
MAX_REQUEST_BYTES = 9_000_000  # Twenty (v1.x) refuses JSON bodies over 10 MB; keep a margin
PROGRESS_EVERY_SECONDS = 10.0


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
        self._sender = BatchSender(client, self.plural, schema, config.upsert, config.batch_size, self._log)
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
        if self.primary_keys and stream not in self.primary_keys:
            # The platform only sends configured streams; anything else is a mis-wired pipeline. Settle what
            # came before (its states and counts stay exact), then stop before writing a record nobody asked for.
            yield from self._flush_buffer()
            yield from self._drain(block=True)
            configured = ", ".join(f"'{s}'" for s in sorted(self.primary_keys))
            raise ConfigError(
                f"A record arrived for stream '{stream}', which is not in the configured catalog "
                f"(configured: {configured}); add the stream to the catalog or stop sending it."
            )
        self._descriptors.setdefault(stream, (record.stream, record.namespace))
        self._positions[stream] += 1
        position = self._positions[stream]
        self._seq += 1
        try:
            if isinstance(record, protocol.UnparseableRecord):  # a RECORD line with no usable data
                raise RecordRejected(record.reason)
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
        if len(self._buffer) >= self._sender.limit:
            yield from self._flush_buffer()

    def _make_item(
        self, stream: str, position: int, payload: dict[str, Any], data: Mapping[str, Any]
    ) -> Item:
        update = "id" in payload
        client_id = False
        keys = unique_keys(payload, self.schema)
        if not update and (not self.config.upsert or not keys):
            # Create, or upsert with no unique value to match on: a deterministic id makes retries and re-runs
            # land on the same record instead of creating it twice.
            payload["id"] = self._client_id(stream, data, payload)
            keys.append(("id", payload["id"]))  # uuid5 text is lower-case, as unique_keys gives ids
            client_id = True
        size = len(orjson.dumps(payload)) + 1  # + the comma between records in the array
        partial = self._sender.is_partial(payload)
        return Item(self._seq, stream, position, payload, frozenset(keys), size, update, client_id, partial)

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
        self._queue.append(_Batch(keys, self._pool.submit(self._sender.write, items)))

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
        message = f"{where} was rejected{field_part}: {shorten(rejection.reason)}"
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
            f"pacing {self.client.pacer.requests_per_minute:.0f} requests/min, batch size {self._sender.limit}, "
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


def _dig(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
