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
from destination_twenty.write.batch import BatchResult
from destination_twenty.write.deferred import MAX_WAITING, Credited, Deferred, Mark, Span
from destination_twenty.write.items import MAX_REQUEST_BYTES, Item, Rejection
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
from destination_twenty.write.routes import Routes, Sink, single_target
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
    deps: set = field(default_factory=set)  # (object, path, value) of link targets in flight (deferred.py)

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
        mapper: Mapper | None = None,
        schema: ObjectSchema | None = None,
        primary_keys: Mapping[str, Sequence[Sequence[str]]] | None = None,
        deduped: set[str] | None = None,
        relations: Plan | None = None,
        routes: Routes | None = None,  # each stream's prepared route (routes.py); else every stream to one
    ):
        self.config = config
        self.client = client
        if routes is None:
            routes = Routes.single(
                config, single_target(config, mapper, schema, relations), primary_keys, deduped
            )
        self.routes = routes
        self.primary_keys = routes.primary_keys
        self.tally = Tally()
        self._stop = threading.Event()  # the sync is over: batches in flight stop splitting and retrying
        client.stop_retrying_when(self._stop)
        routes.build_sinks(client, self._stop)
        for sink in routes.sinks():
            sink.buffer = _Buffer()
        # Records whose link target arrives later in this sync wait for it (deferred.py).
        self._deferred = Deferred(routes.resolver, routes.resolver.writes if routes.resolver else ())
        self.tally.waited = self._deferred.count
        self._pipeline = Pipeline(config.max_concurrent_requests)
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
            f"Stream '{stream}': {sink.builder.matching_rule(stream)} (written to {sink.target.plural})"
            for stream in sorted(self.primary_keys)
            if (sink := self.routes.sink(stream)) is not None
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
                    yield from self._retry_waiting(final=True)
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
        sink = self.routes.sink(stream)
        if (self.primary_keys and stream not in self.primary_keys) or sink is None:
            # The platform only sends configured streams; anything else is a mis-wired pipeline. Settle what
            # came before (its states and counts stay exact), then stop before writing a record nobody asked for.
            yield from self._flush()
            yield from self._settle(self._pipeline.ready(block=True))
            configured = ", ".join(f"'{s}'" for s in sorted(self.primary_keys))
            if sink is None:
                raise ConfigError(
                    f"A record arrived for stream '{stream}', which no route of the config covers (no entry of "
                    "streams names it and there is no top-level mode); add a route for it."
                )
            raise ConfigError(
                f"A record arrived for stream '{stream}', which is not in the configured catalog "
                f"(configured: {configured}); add the stream to the catalog or stop sending it."
            )
        self._reporter.saw(stream, record.stream, record.namespace)
        self.tally.saw(stream)
        if isinstance(record, UnparseableRecord):  # a RECORD line with no usable data
            built: Item | Rejection = sink.builder.reject(stream, record.reason, record.data)
        else:
            built = sink.builder.build(stream, record.data)
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
        wait, deps = self._deferred.waits(sink, built, self._on_its_way)
        if wait:
            self._deferred.add(sink, built)
            if self._deferred.waiting > MAX_WAITING:
                yield from self._retry_waiting(final=True, oldest=True)
            return
        if deps:  # its targets are in batches being filled: send those first, and wait for them in order
            for other in self.routes.sinks():
                if any(d[0] == other.target.plural and d[1:] in other.buffer.keys for d in deps):
                    yield from self._flush(other)
            sink.buffer.deps |= deps
        yield from self._add(sink, built)

    def _on_its_way(self, key: tuple) -> bool:
        """Is the record with this (object, path, value) key in a batch being filled or in flight?"""
        plural, rest = key[0], key[1:]
        if any(s.target.plural == plural and rest in s.buffer.keys for s in self.routes.sinks()):
            return True
        return self._pipeline.holds(key)

    def _add(self, sink: Sink, item: Item) -> Iterator[Event]:
        needs = frozenset(
            (lookup.path, key) for lookup, key in item.lookups if lookup.target == sink.target.plural
        )
        if not sink.buffer.takes(item, needs):
            yield from self._flush(sink)
        sink.buffer.add(item, needs)
        if len(sink.buffer.items) >= sink.sender.limit:
            yield from self._flush(sink)

    def _on_state(self, state: State) -> Iterator[Event]:
        for sink in self.routes.sinks():
            sink.builder.state_received(state.streams)
        yield from self._retry_waiting(final=False)
        yield from self._flush()
        # While records before it wait for their targets, the STATE waits too (deferred.py).
        self._pipeline.put(self._deferred.close(state) if self._deferred.holding else state)
        yield from self._settle(self._pipeline.wait_for_room())
        yield from self._settle(self._pipeline.ready(block=False))

    def _flush(self, sink: Sink | None = None) -> Iterator[Event]:
        """Send the batch being filled of one sink (None: of every sink)."""
        for each in [sink] if sink is not None else self.routes.sinks():
            if not each.buffer.items:
                continue
            batch, each.buffer = each.buffer, _Buffer()
            # Keys of different objects never clash: a key is (object, path, value).
            keys = frozenset((each.target.plural, *key) for key in batch.keys)
            # It starts after any batch in flight that writes a record it links to (needs, deps).
            wanted = frozenset((each.target.plural, *key) for key in batch.needs) | batch.deps
            yield from self._settle(self._pipeline.wait_for_slot(keys | wanted))
            if not self._stopping:  # a batch that finished while we waited may have ended the sync
                self._pipeline.start(keys, partial(each.sender.write, batch.items))

    # --- results, in order ---------------------------------------------------------------------------

    def _settle(self, values: Iterable[Any]) -> Iterator[Event]:
        try:
            for value in values:
                if value is TICK:
                    yield from self._maybe_progress()
                elif isinstance(value, (Mark, Credited)):
                    yield from self._on_deferred(value)
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

    # --- records that waited for their link targets (deferred.py) ------------------------------------------

    def _retry_waiting(self, final: bool, oldest: bool = False) -> Iterator[Event]:
        """Send the waiting records that can go now (final: all of them, after everything else has settled,
        so that every target this sync writes is known; a miss then is final)."""
        if not self._deferred.waiting or self._stopping:
            return
        if not final:
            yield from self._send_waiting(self._deferred.ready(final=False))
            return
        # Final: in passes, each after everything sent has settled, so a record goes after those it links to.
        for _pass in range(100):  # bounded: each pass sends at least one record
            yield from self._flush()
            yield from self._settle(self._pipeline.ready(block=True))
            if not self._deferred.waiting or self._stopping:
                return
            ready = self._deferred.oldest() if oldest else self._deferred.ready(final=True)
            ready = ready or self._deferred.ready(final=True, force=True)
            self._deferred.look_up(ready)  # one read per 200 distinct keys for all the batches of this pass
            yield from self._send_waiting(ready)
            if oldest:
                break
        yield from self._settle(self._pipeline.ready(block=True))

    def _send_waiting(self, ready: list) -> Iterator[Event]:
        for span, pairs in ready:
            by_sink: dict[int, tuple[Sink, list[Item]]] = {}
            for sink, item in pairs:
                by_sink.setdefault(id(sink), (sink, []))[1].append(item)
            for sink, items in by_sink.values():
                batch = _Buffer()
                for item in items:
                    needs = frozenset(
                        (lookup.path, key)
                        for lookup, key in item.lookups
                        if lookup.target == sink.target.plural
                    )
                    if batch.items and (
                        not batch.takes(item, needs) or len(batch.items) >= sink.sender.limit
                    ):
                        yield from self._start_credited(sink, span, batch)
                        batch = _Buffer()
                    batch.add(item, needs)
                yield from self._start_credited(sink, span, batch)

    def _start_credited(self, sink: Sink, span: Span, batch: _Buffer) -> Iterator[Event]:
        keys = frozenset((sink.target.plural, *key) for key in batch.keys)
        wanted = frozenset((sink.target.plural, *key) for key in batch.needs)
        yield from self._settle(self._pipeline.wait_for_slot(keys | wanted))
        if self._stopping:
            return  # never sent: the platform sends them again, as no STATE after them is echoed
        items = batch.items
        self._pipeline.start(keys, lambda: Credited(span, sink.sender.write(items), len(items)))

    def _on_deferred(self, value: Mark | Credited) -> Iterator[Event]:
        if isinstance(value, Mark):
            # A held STATE came out of the pipeline: it counts what came before it and is final now.
            span = value.span
            span.emerged = True
            span.written, span.rejected = self.tally.take_since_state(span.state.streams)
        else:
            # A retried batch: its records count in the STATE that covers where they arrived.
            before = self.tally.since_state()
            yield from self._on_result(value.result)
            after = self.tally.since_state()
            for stream in set(after[0]) | set(after[1]):
                written = after[0][stream] - before[0][stream]
                rejected = after[1][stream] - before[1][stream]
                covering = self._deferred.covering(value.span, stream)
                if covering is not None and (written or rejected):
                    self.tally.move_out(stream, written, rejected)
                    covering.written += written
                    covering.rejected += rejected
            value.span.in_flight -= value.size
        for span in self._deferred.echoable():
            if not self._states_closed and not self._dry_run:
                self._reporter.before_state()
                yield Checkpoint(span.state, span.written, span.rejected)

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
        for sink in self.routes.sinks():
            sink.buffer = _Buffer()  # never sent: the platform sends these records again
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
            f"pacing {self.client.pacer.requests_per_minute:.0f} requests/min, batch size {self._batch_size()}, "
            f"{self.client.stats.rate_limited} rate-limited answers so far",
        )

    def _batch_size(self) -> int:
        return min((sink.sender.limit for sink in self.routes.sinks()), default=self.config.batch_size)

    def summary(self) -> str:
        elapsed, calls = time.monotonic() - self._started, self.client.stats.calls
        if not self._dry_run:
            return self.tally.summary(elapsed, calls)
        return self.tally.dry_run_summary(elapsed, calls, self._reporter.reasons)
