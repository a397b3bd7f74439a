"""Records that link to a record this sync has not written yet (a person whose company arrives later in the same
sync): held back, whole, until their targets are known, then written once, with their links.

The guarantee, in the README's words: a link to a record of an object this sync writes is never rejected for
arriving too early. Such a record is not sent while its target is unknown; it waits (with every later version of
the same record, so versions never overtake each other), and is retried
- at each STATE, if everything it links to has been written since (known from the write answers: no call), and
- at the end of the input, after everything else has settled, when a target still unknown is looked up (one read
  per 200 distinct keys) and a miss is final: the record is rejected, or written without that link, as its
  mapping says (if_not_found).
A STATE is echoed only when every record before it is final: while records wait, the STATEs after them wait too,
each with the counts of what it covers, and are echoed in order once those records are written or rejected. At
most MAX_WAITING records wait; beyond that the oldest are retried as at the end (a miss then is final).

Runs on the main thread, beside the writer, which asks `waits`, hands STATEs to `hold` and retried results to
`credit`. It never calls Twenty itself.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from destination_twenty.write.items import Item
from destination_twenty.write.links import Resolver

MAX_WAITING = 20_000  # records held back at once (their data included), a few tens of MB at most


@dataclass
class Span:
    """The records waiting before one STATE, and that STATE once it has come out of the pipeline."""

    waiting: list[tuple[Any, Item]] = field(default_factory=list)  # (sink, item), in arrival order
    state: Any = None  # the STATE closing this span (None: still open)
    emerged: bool = False  # the STATE came out of the pipeline: what is before it, but waiting, is counted
    in_flight: int = 0  # retried records whose batch has not come back
    written: int = 0  # what the STATE counts: taken when it came out, plus its records that waited
    rejected: int = 0

    @property
    def final(self) -> bool:
        return not self.waiting and not self.in_flight


@dataclass
class Credited:
    """A retried batch's result, counted against the span its records came from."""

    span: Span
    result: Any
    size: int


@dataclass
class Mark:
    """Stands in the pipeline for a STATE held while records before it wait."""

    span: Span


class Deferred:
    def __init__(self, resolver: Resolver | None, written: Iterable[str]):
        self.resolver = resolver
        self.writes = frozenset(written)  # objects this sync writes: a link to them may wait
        self.spans: deque[Span] = deque([Span()])
        self._keys: Counter = Counter()  # (object, path, value) of waiting records
        self.count: Counter = Counter()  # records that waited, per stream (for the summary)

    @property
    def waiting(self) -> int:
        return sum(len(span.waiting) for span in self.spans)

    @property
    def holding(self) -> bool:
        """Must a STATE arriving now wait? Yes while any record before it is not final."""
        return any(not span.final for span in self.spans) or len(self.spans) > 1

    def waits(self, sink: Any, item: Item, in_flight: Callable[[tuple], bool]) -> tuple[bool, set]:
        """Should this record wait? It does when it links to a record of an object this sync writes that is
        neither known nor on its way (in a batch being filled or in flight), or when an earlier version of it
        waits. Else: the keys of targets on their way, which its batch must wait for (the pipeline orders it
        after them, and the answer of theirs teaches the resolver the ids)."""
        if self.resolver is None or item.action not in ("write", "update"):
            return False, set()
        plural = sink.target.plural
        if any((plural, *key) in self._keys for key in item.keys):
            return True, set()
        deps = self._unknown(item)
        if any(not in_flight(dep) for dep in deps):
            return True, set()
        return False, deps

    def _unknown(self, item: Item) -> set:
        return {
            (lookup.target, lookup.path, key)
            for lookup, key in item.lookups
            if lookup.target in self.writes and not self.resolver.known(lookup, key)
        }

    def add(self, sink: Any, item: Item) -> None:
        self.spans[-1].waiting.append((sink, item))
        for key in item.keys:
            self._keys[(sink.target.plural, *key)] += 1
        self.count[item.stream] += 1

    def close(self, state: Any) -> Mark:
        """A STATE arrived while records wait: it closes the open span and waits in the pipeline as a Mark."""
        span = self.spans[-1]
        span.state = state
        self.spans.append(Span())
        return Mark(span)

    def ready(self, final: bool, force: bool = False) -> list[tuple[Span, list[tuple[Any, Item]]]]:
        """The waiting records to send now, per span, in order, never one behind a record that still waits with
        the same key. Not final (at a STATE): those whose targets are all known. Final (at the end, once
        everything sent has settled): those whose unknown targets no waiting record will write (they are
        looked up, and a miss is final); the others go in a later pass, after the records they link to. With
        force, every one (a cycle of links)."""
        out = []
        blocked: set = set()
        waiting_keys = set(self._keys)
        for span in self.spans:
            take, keep = [], []
            for sink, item in span.waiting:
                keys = {(sink.target.plural, *key) for key in item.keys}
                unknown = self._unknown(item)
                if final:
                    free = force or not unknown & waiting_keys
                else:
                    free = not unknown
                if free and not keys & blocked:
                    take.append((sink, item))
                    for key in keys:
                        self._keys[key] -= 1
                        if self._keys[key] <= 0:
                            del self._keys[key]
                else:
                    keep.append((sink, item))
                    blocked |= keys
            span.waiting = keep
            span.in_flight += len(take)
            if take:
                out.append((span, take))
        return out

    def oldest(self) -> list[tuple[Span, list[tuple[Any, Item]]]]:
        """Over MAX_WAITING: the oldest span's records, retried as at the end."""
        span = next((s for s in self.spans if s.waiting), None)
        if span is None:
            return []
        take, span.waiting = span.waiting, []
        for sink, item in take:
            for key in item.keys:
                k = (sink.target.plural, *key)
                self._keys[k] -= 1
                if self._keys[k] <= 0:
                    del self._keys[k]
        span.in_flight += len(take)
        return [(span, take)]

    def look_up(self, ready: list[tuple[Span, list[tuple[Any, Item]]]]) -> None:
        """Read, at once, the targets still unknown of the records about to be sent at the end: their batches
        then find them cached instead of reading them batch by batch (a key still missing is read again by its
        batch, which then rejects the record or leaves the link unset)."""
        if self.resolver is None:
            return
        wanted = [
            (lookup, key)
            for _span, pairs in ready
            for _sink, item in pairs
            for lookup, key in item.lookups
            if lookup.target in self.writes and not self.resolver.known(lookup, key)
        ]
        if wanted:
            self.resolver.ids(wanted)

    def covering(self, span: Span, stream: str) -> Span | None:
        """The span whose STATE counts a record of `stream` that waited in `span`: the first STATE at or after it
        that covers the stream and has come out of the pipeline (None: a later STATE will take it)."""
        seen = False
        for other in self.spans:
            seen = seen or other is span
            if not seen or other.state is None:
                continue
            streams = other.state.streams
            if streams is None or stream in streams:
                return other if other.emerged else None
        return None

    def echoable(self) -> list[Span]:
        """The spans at the front whose STATE may leave now, in order."""
        out = []
        while len(self.spans) > 1 and self.spans[0].emerged and self.spans[0].final:
            out.append(self.spans.popleft())
        return out
