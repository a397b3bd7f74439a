"""Client-side pacing shared by every thread of the connector, and what a 429 tells us about the server's limit.

Twenty's throttler is a bucket that starts full (100 calls) and refills lossily: each accepted call earns
floor(gap × limit / window) tokens for the gap since the previous accepted call and throws the fraction away
(throttler.service.ts). So a call sent between two whole intervals costs the refill of the time since the last
call, and the first bucket spent all at once costs the whole time the server takes to answer it (seconds at 200
records a call), which no token is earned for. The pacer therefore spends the bucket in waves: a call goes when a
whole interval (with a small margin) has passed since the last one, earning a token, and calls that are ready
within a moment of it join that call on the bucket's credit. The sync's length is then the number of calls beyond
the bucket × the interval, whatever the server's answer time. A 429 empties the bucket. It pauses everyone (for
`Retry-After` when the server says it) and widens the spacing; each success after it narrows the spacing back, so
a burst of 429s costs a few slow calls, not the rest of the sync.

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
    JOIN = 0.025  # calls ready within this share of an interval after an earned call join it on credit

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
        self._last_earned = float("-inf")  # when the last call that earned its token went
        self._ceiling = float(min(self.BURST, max(1.0, per_minute)))
        self._credit = self._ceiling  # the server's bucket as we believe it: it starts full
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
                earned_at = max(self._last_sent + self.interval, self._paused_until)
                joins = (
                    self._credit >= 1
                    and now >= self._paused_until
                    and now - self._last_earned <= self.interval * self.JOIN
                )
                if joins:  # ready together with the call that earned a token: the bucket's credit pays
                    self._credit -= 1
                    self._last_sent = now
                    return self._generation
                if deadline is not None and earned_at > deadline:
                    return None
                if earned_at <= now:
                    # Spacing counts from the real send: a waiter that woke late does not earn a quick second call.
                    # Lossy, as Twenty's refill: whole intervals since the last call earn tokens, the rest is lost.
                    gap = now - self._last_sent
                    earned = self._ceiling if gap == float("inf") else int(gap / self.interval + 1e-9)
                    self._credit = min(self._ceiling, self._credit + earned) - 1
                    self._last_sent = self._last_earned = now
                    return self._generation
                delay = earned_at - now
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
