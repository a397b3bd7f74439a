"""The sink: reads the platform's messages, has each record built into an item (items.py), buffers items into
batches for the batch sender (batch.py), runs them through the ordered pipeline (pipeline.py) and echoes each
STATE once everything before it is stored or rejected, with the counts the tally (tally.py) owns.

It runs on the main thread and alone emits messages; whatever a pool thread has to say travels in its batch's
result. When the sync cannot go on (a rejection without partial success, an outage past the retry budget, a bug)
it stops at once: nothing new is sent, what is in flight finishes without splitting or retrying, what landed is
counted, and no STATE after the failure is echoed, so the platform sends the rest again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from destination_twenty.config import TwentyConfig
from destination_twenty.errors import ConfigError, RequestCancelled
from destination_twenty.mapping.mapper import Mapper
from destination_twenty.mapping.relations import Plan
from destination_twenty.mapping.schema import ObjectSchema
from destination_twenty.twenty.client import TwentyClient
from destination_twenty.write.batch import BatchResult, BatchSender
from destination_twenty.write.items import MAX_REQUEST_BYTES, Item, ItemBuilder, Rejection
from destination_twenty.write.messages import (
    Checkpoint,
    Event,
    Log,
    Message,
    Record,
    State,
    UnparseableRecord,
)
from destination_twenty.write.pipeline import TICK, Pipeline
from destination_twenty.write.reporter import Reporter
from destination_twenty.write.streams import stream_key
from destination_twenty.write.tally import Tally

PROGRESS_EVERY_SECONDS = 10.0


class SyncFailed(Exception):
    """Ends the sync after its ERROR trace has been emitted (exit code 1)."""


@dataclass
class _Buffer:
    """The batch being filled: Twenty fails a whole batch that repeats a unique key, and refuses bodies over
    10 MB, so an item that would do either starts the next one."""

    items: list[Item] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)
    # Keys of the written object that these records link to (a self-relation): the batch waits for any batch
    # in flight that writes one, and a record never shares a batch with the record it links to, whose id
    # cannot be known before that batch is answered.
    needs: set[tuple[str, str]] = field(default_factory=set)
    size: int = 0

    def takes(self, item: Item, needs: frozenset[tuple[str, str]]) -> bool:
        return (
            not (item.keys & self.keys)
            and not (needs & self.keys)
            and not (item.keys & self.needs)
            and self.size + item.size <= MAX_REQUEST_BYTES
        )

    def add(self, item: Item, needs: frozenset[tuple[str, str]]) -> None:
        self.items.append(item)
        self.keys |= item.keys
        self.needs |= needs
        self.size += item.size


@dataclass
class _Failure:
    rejection: Rejection | None = None  # a record refused without partial success
    error: Exception | None = None  # anything else that ended the sync


class Writer:
    def __init__(
        self,
        config: TwentyConfig,
        client: TwentyClient,
        mapper: Mapper,
        schema: ObjectSchema | None,
        primary_keys: Mapping[str, Sequence[Sequence[str]]] | None = None,
        deduped: set[str] | None = None,
        relations: Plan | None = None,
    ):
        self.config = config
        self.client = client
        self.primary_keys = primary_keys or {}
        self.tally = Tally()
        self._stop = threading.Event()  # the sync is over: batches in flight stop splitting and retrying
        client.stop_retrying_when(self._stop)
        self._sender = BatchSender(
            client,
            config.object_path,
            schema,
            config.upsert,
            config.batch_size,
            self._stop,
            fail_fast=not config.partial_success,
            dry_run=config.dry_run,
            relations=relations,
        )
        self._builder = ItemBuilder(
            config,
            mapper,
            schema,
            self.primary_keys,
            self._sender.is_partial,
            deduped=deduped or set(),
            lookups=relations.lookups if relations else (),
        )
        self._pipeline = Pipeline(config.max_concurrent_requests)
        self._buffer = _Buffer()
        self._failure: _Failure | None = None  # the first failure, in input order
        self._cancelled: RequestCancelled | None = None  # a batch our own stop cut short: not a cause
        self._stopping = False  # a failure is known (or queued in order): read no more input
        self._states_closed = False  # a result before the next STATE is incomplete or failed: echo no more
        self._started = time.monotonic()
        self._last_progress = self._started
        self._dry_run = config.dry_run
        self._reporter = Reporter(config)  # rejected records: traces, the rejected file, dry-run reasons

    def matching_rules(self) -> list[str]:
        """One LOG line per stream: which key a record is matched on in Twenty."""
        return [
            f"Stream '{stream}': {self._builder.matching_rule(stream)}"
            for stream in sorted(self.primary_keys)
        ]

    def run(self, messages: Iterable[Message]) -> Iterator[Event]:
        try:
            if self._dry_run:
                yield Log(
                    "INFO",
                    "Dry run: records are mapped, validated and looked up, nothing is written to Twenty, and no "
                    "state is echoed, so the next real sync still sends every record.",
                )
            try:
                for message in messages:
                    if isinstance(message, Record):
                        yield from self._on_record(message)
                    elif isinstance(message, State):
                        yield from self._on_state(message)
                    else:
                        yield Log("WARN", message.reason)
                    if self._stopping:
                        break
                    yield from self._maybe_progress()
                if not self._stopping:
                    yield from self._flush()
                    yield from self._settle(self._pipeline.ready(block=True))
            except Exception as exc:  # a config problem found mid-way, a bug: in order, after what is queued
                self._pipeline.put(BatchResult(error=exc))
                self._stopping = True
            if self._stopping:
                yield from self._end_failed()
            yield Log("INFO", self.summary())
        finally:
            self._stop.set()
            self._pipeline.close()
            self._reporter.close()

    # --- input ---------------------------------------------------------------------------------------

    def _on_record(self, record: Record) -> Iterator[Event]:
        # Streams are told apart by namespace too, as their STATEs are.
        stream = stream_key(record.stream, record.namespace)
        if self.primary_keys and stream not in self.primary_keys:
            # The platform only sends configured streams; anything else is a mis-wired pipeline. Settle what
            # came before (its states and counts stay exact), then stop before writing a record nobody asked for.
            yield from self._flush()
            yield from self._settle(self._pipeline.ready(block=True))
            configured = ", ".join(f"'{s}'" for s in sorted(self.primary_keys))
            raise ConfigError(
                f"A record arrived for stream '{stream}', which is not in the configured catalog "
                f"(configured: {configured}); add the stream to the catalog or stop sending it."
            )
        self._reporter.saw(stream, record.stream, record.namespace)
        self.tally.saw(stream)
        if isinstance(record, UnparseableRecord):  # a RECORD line with no usable data
            built: Item | Rejection = self._builder.reject(stream, record.reason, record.data)
        else:
            built = self._builder.build(stream, record.data)
        if isinstance(built, Rejection):
            if not self._reporter.keeps_records:
                built.data = None  # only the rejected-records file needs the record itself
            # Queued like a finished batch, so it is counted against the right state; without partial success
            # it ends the sync once what came before has settled.
            self._pipeline.put(BatchResult(rejections=[built]))
            if not self.config.partial_success and not self._dry_run:
                self._stop_soon()
                return
            yield from self._settle(self._pipeline.wait_for_room())
            yield from self._settle(self._pipeline.ready(block=False))
            return
        needs = frozenset(
            (lookup.path, key) for lookup, key in built.lookups if lookup.target == self.config.object_path
        )
        if not self._buffer.takes(built, needs):
            yield from self._flush()
        self._buffer.add(built, needs)
        if len(self._buffer.items) >= self._sender.limit:
            yield from self._flush()

    def _on_state(self, state: State) -> Iterator[Event]:
        self._builder.state_received(state.streams)
        yield from self._flush()
        self._pipeline.put(state)
        yield from self._settle(self._pipeline.wait_for_room())
        yield from self._settle(self._pipeline.ready(block=False))

    def _flush(self) -> Iterator[Event]:
        if not self._buffer.items:
            return
        batch, self._buffer = self._buffer, _Buffer()
        keys = frozenset(batch.keys)
        yield from self._settle(self._pipeline.wait_for_slot(keys | batch.needs))
        if not self._stopping:  # a batch that finished while we waited may have ended the sync
            self._pipeline.start(keys, partial(self._sender.write, batch.items))

    # --- results, in order ---------------------------------------------------------------------------

    def _settle(self, values: Iterable[Any]) -> Iterator[Event]:
        try:
            for value in values:
                if value is TICK:
                    yield from self._maybe_progress()
                elif isinstance(value, State):
                    # After a failure the platform resends from the last state echoed; a dry run echoes none.
                    if not self._states_closed and not self._dry_run:
                        self._reporter.before_state()  # the rejected file on disk: a failure keeps it
                        written, rejected = self.tally.take_since_state(value.streams)
                        yield Checkpoint(value, written, rejected)
                else:
                    yield from self._on_result(value)
        except Exception as exc:
            # Handling a result failed (the rejected file met a full disk, a bug): this is the failure at this
            # point of the input, and no STATE queued behind it may leave.
            self._states_closed = True
            if self._failure is None:
                self._failure = _Failure(error=exc)
            self._stop_soon()
            raise

    def _on_result(self, result: BatchResult) -> Iterator[Event]:
        for note in result.notes:
            yield Log("INFO", note)
        for warning in result.warnings:
            yield Log("WARN", warning)
        self.tally.add(result.counts)
        self.tally.links += result.links
        for rejection in sorted(result.rejections, key=lambda r: r.seq):
            self.tally.reject(rejection.stream)
            yield from self._reporter.rejected(rejection)
            if not self._dry_run and not self.config.partial_success and self._failure is None:
                self._failure = _Failure(rejection=rejection)  # the first rejection ends the sync
        error = result.error
        if isinstance(error, RequestCancelled):
            # The sync's own stop cut this batch short (a 429 not retried): the cause of the stop is elsewhere
            # in the queue, and the first real cause is the one reported. What the batch wrote is counted.
            self._cancelled = self._cancelled or error
            error, result.complete = None, False
        if error is not None and self._failure is None:
            self._failure = _Failure(error=error)
        if self._failure is not None or not result.complete:
            self._states_closed = True
            self._stop_soon()

    def _stop_soon(self) -> None:
        """Read no more input and tell batches in flight to stop splitting and retrying."""
        self._stopping = True
        self._stop.set()

    def _end_failed(self) -> Iterator[Event]:
        """Let what is in flight finish (no splitting, no retries), count it, then report the failure."""
        self._stop_soon()
        self._buffer = _Buffer()  # never sent: the platform sends these records again
        for _ in range(len(self._pipeline) + 1):  # each round takes at least one value off the queue
            try:
                yield from self._settle(self._pipeline.ready(block=True))
                break
            except Exception:  # noqa: BLE001 - recorded by _settle; the first cause in order is reported
                continue
        failure = self._failure or _Failure(
            error=self._cancelled or RuntimeError("the sync stopped without a recorded reason")
        )
        unacknowledged = self.tally.written_since_last_state
        if unacknowledged:
            yield Log(
                "INFO",
                f"{unacknowledged} records were written after the last state echoed; the next sync sends them "
                "again and matches them to what is stored.",
            )
        if failure.rejection is None:
            yield Log("INFO", self.summary())
            raise failure.error  # type: ignore[misc]  # the CDK glue turns it into the right ERROR trace
        trace = self._reporter.stopped_by(failure.rejection)
        yield trace
        yield Log("INFO", self.summary())
        raise SyncFailed(trace.message)

    # --- progress and summary ------------------------------------------------------------------------

    def _maybe_progress(self) -> Iterator[Event]:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY_SECONDS:
            return
        self._last_progress = now
        written = self.tally.written
        rate = written / max(now - self._started, 1e-9)
        yield Log(
            "INFO",
            f"Progress: {written} records written, {self.tally.rejected_total} rejected, {rate:.0f} records/s; "
            f"pacing {self.client.pacer.requests_per_minute:.0f} requests/min, batch size {self._sender.limit}, "
            f"{self.client.stats.rate_limited} rate-limited answers so far",
        )

    def summary(self) -> str:
        elapsed, calls = time.monotonic() - self._started, self.client.stats.calls
        if not self._dry_run:
            return self.tally.summary(elapsed, calls)
        return self.tally.dry_run_summary(elapsed, calls, self._reporter.reasons)
