"""Client-side pacing shared by every thread of the connector, and what a 429 tells us about the server's limit.

Twenty's throttler is a bucket that starts full and refills lossily (a token is earned only by a gap of a whole
window/limit since the previous accepted call). So the fastest pace spends the full bucket at once, then spaces
calls evenly with a small margin: the pacer keeps a model of that bucket (`BURST` calls at most, within the server's
short 100-per-second bucket), and a 429 empties it. A 429 pauses everyone (for `Retry-After` when the server says it) and widens the spacing; each success
after it narrows the spacing back, so a burst of 429s costs a few slow calls, not the rest of the sync.

Concurrent calls sent at the same pace all meet the same empty bucket: their 429s are one signal, not several.
A pacing generation tells them apart: only a 429 on a call sent under the current generation widens the spacing
(and starts a new generation); later 429s of calls sent before it only extend the pause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimitHint:
    """What a 429 said about the server's limit. Every part is optional (the recorded E3 server sends none)."""

    retry_after: float | None = None  # seconds until the server accepts calls again
    per_minute: float | None = None  # the limit itself, when the body names it


class Pacer:
    MARGIN = 1.02  # 2 % (12 ms at 100/min) slower than the limit: thread wake-ups on a loaded machine vary by more than 1 %
    WIDEN = 1.25  # spacing × this on a fresh 429
    MAX_WIDENING = 8.0  # never slower than 1/8 of the configured pace (nor than one call a minute)
    MAX_PAUSE = 300.0  # a Retry-After beyond this is not believed
    MIN_PAUSE = 0.5  # after a 429 without Retry-After, nobody sends for at least this long
    BURST = 100  # Twenty's buckets start full: 100 calls per 60 s by default, and 100 per second at most

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ):
        """`sleep` returns something true when the wait was cut short (the client is stopping)."""
        self.base = 60.0 / per_minute * self.MARGIN
        self.interval = self.base
        self._clock = clock
        self._sleep = sleep
        self._last_sent = float("-inf")
        # The server's bucket as we believe it: calls we may still send at once (it starts full).
        self._credit = float(min(self.BURST, max(1.0, per_minute)))
        self._paused_until = float("-inf")  # nobody sends before this (a 429's pause)
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def requests_per_minute(self) -> float:
        return 60.0 / self.interval

    def wait(self, deadline: float | None = None) -> int | None:
        """Block until the caller may send; return the pacing generation it sends under.

        None when the caller's turn would come after `deadline`, or the wait was cut short. Turns are not booked
        ahead: a waiter wakes when the next call may go, takes it if nobody did, and otherwise waits again. So a
        pause or a recovered pace applies at once to everyone waiting, not after the turns booked before it.
        """
        for _ in range(10_000):  # each round sleeps until a call may go; bounded, and never reached
            with self._lock:
                now = self._clock()
                spaced = self._last_sent if self._credit >= 1 else self._last_sent + self.interval
                turn = max(spaced, self._paused_until)
                if deadline is not None and turn > deadline:
                    return None
                if turn <= now:
                    # Spacing counts from the real send: a waiter that woke late does not earn a quick second call.
                    # Lossy, as Twenty's refill: a whole interval since the last call earns one token, no more.
                    if self._credit < 1:
                        self._credit = 1.0
                    self._credit -= 1
                    self._last_sent = now
                    return self._generation
                delay = turn - now
            if self._sleep(delay):
                return None
        return None

    def rate_limited(self, generation: int | None, hint: RateLimitHint) -> None:
        """A call sent under `generation` got a 429."""
        with self._lock:
            if hint.per_minute:
                # The server named its limit: never plan to go faster than it.
                self.base = max(self.base, 60.0 / hint.per_minute * self.MARGIN)
                self.interval = max(self.interval, self.base)
            if generation == self._generation:
                slowest = max(self.base, min(self.base * self.MAX_WIDENING, 60.0))
                self.interval = min(self.interval * self.WIDEN, slowest)
                self._generation += 1
            # Without Retry-After, wait one token's worth: Twenty's bucket gives the next token one base interval
            # after the last call it accepted (the widened spacing then guards against a pace that is too fast).
            # Never less than MIN_PAUSE, so a requests_per_minute far above the server's cannot hammer it.
            quiet = max(self.base, self.MIN_PAUSE)
            pause = quiet if hint.retry_after is None else min(hint.retry_after, self.MAX_PAUSE)
            self._paused_until = max(self._paused_until, self._clock() + pause)  # never shortens a pause
            self._credit = 0.0  # the server's bucket is empty
            # The pause is the wait after a 429: the next call goes when it ends, the widened spacing after that.
            self._last_sent = self._paused_until - self.interval

    def succeeded(self, generation: int | None) -> None:
        """A call sent under `generation` was answered (not with a 429)."""
        with self._lock:
            if generation == self._generation:  # sent at the current, slowed pace, and it went through
                # Halve the slow-down: a burst of 429s costs a few slow calls, while a pace that really is too
                # fast for the server meets a 429 again soon and settles a little slower than configured.
                excess = (self.interval - self.base) / 2
                self.interval = self.base + (excess if excess > self.base * 0.01 else 0.0)
