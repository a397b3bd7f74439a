"""An ordered pipeline: work enters in arrival order, runs a few at a time on a thread pool, and leaves at the
front only, so whatever follows a batch (the STATE after it) comes out after that batch has finished,
however the requests complete. It knows nothing of HTTP or records: the writer hands it callables and marks.

Rules for starting a batch: at most `limit` run at once; one that shares a key with a running batch waits for
it (a later version of a record never overtakes an earlier one); and at most 2 × `limit` wait behind a slow
head. Values put behind a slow head (STATEs, rejections found before sending) are bounded too: past
`MAX_QUEUED`, the caller waits for the head (`wait_for_room`), so a sync that never checkpoints keeps its memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

WAKE_SECONDS = 10.0  # while waiting, hand back a TICK this often so the caller can report progress
MAX_QUEUED = 1_000  # entries waiting behind the head before the caller must wait for it


class _Tick:
    def __repr__(self) -> str:
        return "TICK"


TICK: Any = _Tick()  # yielded during long waits; not a result


@dataclass
class _Entry:
    future: Future
    keys: frozenset
    batch: bool  # submitted work (not a value put in final)


class Pipeline:
    def __init__(self, limit: int, thread_name: str = "twenty-write"):
        self.limit = limit
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix=thread_name)
        self._queue: deque[_Entry] = deque()

    def put(self, value: Any) -> None:
        """Queue a value that is already final (a STATE mark, a rejection found before sending)."""
        done: Future = Future()
        done.set_result(value)
        self._queue.append(_Entry(done, frozenset(), batch=False))

    def wait_for_room(self) -> Iterator[Any]:
        """While more than MAX_QUEUED entries wait, wait for the head; yields what finishes meanwhile (and
        TICKs). Ends when the head finishes: a batch always does, within its retry budget."""
        while len(self._queue) > MAX_QUEUED:
            head = self._queue[0]
            if not head.future.done():
                finished, _ = wait([head.future], timeout=WAKE_SECONDS)
                if not finished:
                    yield TICK
                    continue
            yield from self.ready(block=False)

    def wait_for_slot(self, keys: frozenset) -> Iterator[Any]:
        """Wait until a batch writing `keys` may start; yields what finishes at the front meanwhile (and TICKs).

        A batch that raised (a bug: the writer's work returns its failures) re-raises here, in order."""
        while True:
            entries = list(self._queue)
            batches = [e for e in entries if e.batch]
            running = [e.future for e in batches if not e.future.done()]
            if any(e.future.done() and e.future.exception() is not None for e in batches):
                yield from self.ready(block=True)
                continue
            clashing = [e.future for e in batches if e.keys & keys and not e.future.done()]
            if clashing:
                waiting = clashing
            elif len(running) >= self.limit:
                waiting = running
            elif len(batches) >= 2 * self.limit:
                waiting = [batches[0].future]
            else:
                return
            finished, _ = wait(waiting, timeout=WAKE_SECONDS, return_when=FIRST_COMPLETED)
            if not finished:
                yield TICK
            yield from self.ready(block=False)

    def start(self, keys: frozenset, work: Callable[[], Any]) -> None:
        """Run `work` on the pool; its value comes out of `ready` in the order it was started."""
        self._queue.append(_Entry(self._pool.submit(work), keys, batch=True))

    def ready(self, block: bool) -> Iterator[Any]:
        """Hand back finished values from the front, in order; with block=True, everything queued.

        A failed batch raises its exception when it reaches the front; what is behind it stays queued."""
        while self._queue:
            head = self._queue[0]
            if not head.future.done():
                if not block:
                    return
                finished, _ = wait([head.future], timeout=WAKE_SECONDS)
                if not finished:
                    yield TICK
                    continue
            self._queue.popleft()
            yield head.future.result()

    def holds(self, key: Any) -> bool:
        """Is a batch writing this key still running?"""
        return any(e.batch and not e.future.done() and key in e.keys for e in self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
