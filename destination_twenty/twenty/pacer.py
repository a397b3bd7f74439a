"""Client-side pacing shared by every thread of the connector, and what a 429 tells us about the server's limit.

Twenty's throttler is a bucket that starts full (100 calls) and refills lossily: each accepted call earns
floor(gap × limit / window) tokens for the gap since the previous accepted call and throws the fraction away
(throttler.service.ts). So a call sent between two whole intervals costs the refill of the time since the last
call, and the first bucket spent all at once costs the whole time the server takes to answer it (seconds at 200
records a call), which no token is earned for. The pacer therefore spends the bucket in waves: a call goes when a
whole interval (with a small margin) has passed since the last one, earning a token, and calls that are ready
within a moment of it join that call on the bucket's credit (while the first bucket is spent, one by one, each
HOLD after the last: if other connections emptied the bucket, a 429 is back by then and the rest stay back).
Calls sent together reach the throttler in any order, tens of ms apart, and the token's time counts from the last
one it let through: so the call after a wave waits SETTLE longer (without it, the emulator's log of a
60,000-person run shows 27 waves earning 8 tokens; with it, 34 waves earned 33). The sync's length is then the
number of calls beyond the bucket × the interval, whatever the server's answer time. A 429 empties the bucket. It pauses everyone (for `Retry-After` when the server says it)
and widens the spacing; each success after it narrows the spacing back, so a burst of 429s costs a few slow calls,
not the rest of the sync.

Concurrent calls sent at the same pace all meet the same empty bucket: their 429s are one signal, not several.
A pacing generation tells them apart: only a 429 on a call sent under the current generation widens the spacing
(and starts a new generation); later 429s of calls sent before it only extend the pause.

Other connections may draw on the same workspace's bucket (Airbyte runs connections in parallel). Twenty says
nothing about it before a 429 (no X-RateLimit-* header on a success in any version; v1.20's usage-limit answer
puts them on the 429 only, usage-limit-rest-api-exception.filter.ts), so the first 429 tells: when it comes before
we spent the bucket ourselves, the others spent the rest, and we are one of about (bucket + what refilled since
our first call) ÷ (our calls through) connections (too few calls of ours to count, and refused again after one
went through: two). From then on the connections take turns on a grid of the wall clock (turns.py) instead of
each pacing on its own, until the turns show the others are done.

A connection that got most of the first bucket, or came after it, counts itself alone, and one pacing alone is
first whenever a token is back, so the others' calls are refused and it hears nothing. So a connection pacing
alone on a spent bucket listens (past its first LISTEN_AFTER calls, or at once after a 429): every LISTEN calls
it lets two tokens' time pass and then sends two calls at once, which costs it nothing (the bucket keeps the
first token for the second call). Another connection's turn that falls in that gap takes a token, and one of the
two calls is refused: proof that someone else spends the bucket (alone, after two tokens' time, no call is
refused), and it joins the turns.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from destination_twenty.twenty.turns import Turns


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
    # Spending the first bucket, each call on credit goes this long after the call before it in its wave: a 429
    # is answered in milliseconds (the throttler refuses before any work: 2.3-2.7 ms on the emulator, measured
    # from the client), so when other connections have emptied the bucket the 429 is back before the rest of the
    # wave goes, and one call of it is refused, not four.
    HOLD = 0.010  # seconds
    WAVE = 3  # holds after its earned call within which a wave's calls on credit go (then the next wave)
    JOIN = 0.025  # calls ready within this share of an interval after an earned call join it on credit
    # Sharing one workspace's bucket with other connections (turns.py).
    EVIDENCE = 4  # our successes before the first 429 needed to read from it how many connections share
    MAX_SLOTS = 32
    SLOT = 1.04  # a slot is this much longer than a token's time (room for late wake-ups)
    GUARD = 0.003  # seconds: a call going late into its slot still leaves this to the next slot's holder
    MIN_ROOM = 0.010  # seconds a call may be late into its slot, whatever the pace
    LISTEN = 2  # pacing alone on a spent bucket, every this many calls one waits two tokens, then two go
    LISTEN_AFTER = 20  # ... from this many calls after the bucket on
    # Calls sent a few ms apart reach the server's throttler in any order, up to tens of ms apart (threads and the
    # server's own parsing of 200-record bodies): the call that earns the next token waits this much longer
    # after a call sent on credit, whose arrival may be the later one the server counts the token's time from.
    SETTLE = 0.03  # seconds, at most a twentieth of the spacing

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ):
        """`sleep` returns something true when the wait was cut short (the client is stopping); `wall` is the
        clock other connections read too (shared turns are cut from it)."""
        self.base = 60.0 / per_minute * self.MARGIN
        self.interval = self.base
        self._clock = clock
        self._sleep = sleep
        self._last_sent = float("-inf")
        self._last_earned = float("-inf")  # when the last call that earned its token went
        self._on_credit = False  # the last call went on the bucket's credit, not on a token it earned
        self._ceiling = float(min(self.BURST, max(1.0, per_minute)))
        self._credit = self._ceiling  # the server's bucket as we believe it: it starts full
        self._paused_until = float("-inf")  # nobody sends before this (a 429's pause)
        self._generation = 0
        self._wall = wall
        self._rng = rng or random.Random()
        self.turns: Turns | None = None  # while other connections draw on the same bucket
        self._successes = 0
        self._first_sent = float("inf")
        self._refused_once = False
        self._tickets: dict[int, tuple[int, str]] = {}  # a shared call's ticket → its slot index, kind
        self._next_ticket = 1 << 40  # tickets never equal a generation
        self._since_gap = 0  # calls earned since our last listening gap
        self._paced = 0  # calls earned on a spent bucket
        self._through_since_429 = 0
        self._gap_generation = -1  # the generation the calls after our last gap went under
        self._grid = 2  # where our last turns ended: one that left them too soon finds it again
        self._lock = threading.Lock()

    @property
    def requests_per_minute(self) -> float:
        if self.turns is not None:
            return 60.0 * len(self.turns.held) / (self.turns.width * self.turns.slots)
        return 60.0 / self.interval

    def wait(self, deadline: float | None = None) -> int | None:
        """Block until the caller may send; return the pacing generation it sends under.

        None when the caller's turn would come after `deadline`, or the wait was cut short. Turns are not booked
        ahead: a waiter wakes when the next call may go, takes it if nobody did, and otherwise waits again. So a
        pause or a recovered pace applies at once to everyone waiting, not after the turns booked before it.
        """
        for _ in range(10_000):  # each round sleeps until a call may go; bounded, and never reached
            go, value = self.turn(deadline)
            if go:
                return value
            if value is None or self._sleep(value):
                return None
        return None

    def turn(self, deadline: float | None = None) -> tuple[bool, float | int | None]:
        """One look at the clock, without sleeping: (True, generation) when a call may go now; (False, seconds)
        until it may; (False, None) when that would be after `deadline`. What `wait` loops on; a simulation of
        several connections drives it on a virtual clock (bench/shared_bucket.py)."""
        with self._lock:
            now = self._clock()
            if self.turns is not None:
                return self._shared_turn(self.turns, now, deadline)
            # Listening: on a spent bucket, once past the first calls after it (at once after a 429).
            gap = (
                self._credit < 1
                and self._since_gap >= self.LISTEN
                and (self._paced >= self.LISTEN_AFTER or self._refused_once)
            )
            settle = min(self.SETTLE, self.base / 20) if self._on_credit else 0.0
            earned_at = max(self._last_sent + self.interval * (2 if gap else 1) + settle, self._paused_until)
            hold = self.HOLD if self._paced == 0 else 0.0  # only while spending the first bucket
            # Holding, each call on credit goes HOLD after the one before it in its wave (the earned call or
            # the last one on credit), so one 429 keeps the rest back.
            since = now - (self._last_sent if hold else self._last_earned)
            joins = (
                self._credit >= 1
                and now >= self._paused_until
                and since <= hold + self.interval * self.JOIN
                # the wave ends a few holds after its earned call: calls answered in milliseconds (the emulator
                # answers 60 people in 5-20 ms) would otherwise chain on and spend the whole bucket at once
                and now - self._last_earned <= self.WAVE * hold + self.interval * self.JOIN
            )
            if joins and since < hold - 1e-6:  # (a clock's rounding must not hold a call for ever)
                return False, hold - since
            if joins:  # ready together with the call that earned a token: the bucket's credit pays
                self._credit -= 1
                self._last_sent = now
                self._on_credit = True
                return True, self._generation
            if deadline is not None and earned_at > deadline:
                return False, None
            if earned_at <= now:
                # Spacing counts from the real send: a waiter that woke late does not earn a quick second call.
                # Lossy, as Twenty's refill: whole intervals since the last call earn tokens, the rest is lost.
                since = now - self._last_sent
                earned = self._ceiling if since == float("inf") else int(since / self.interval + 1e-9)
                self._credit = min(self._ceiling, self._credit + earned) - 1
                self._last_sent = self._last_earned = now
                self._on_credit = False
                self._first_sent = min(self._first_sent, now)
                self._since_gap += 1
                self._paced += self._credit < 1
                if (
                    self._generation == self._gap_generation
                ):  # the calls after a gap are told apart from the rest
                    self._generation += 1
                if gap:
                    self._since_gap = 0
                    self._generation += 1
                    self._gap_generation = self._generation
                return True, self._generation
            return False, earned_at - now

    def _shared_turn(
        self, turns: Turns, now: float, deadline: float | None
    ) -> tuple[bool, float | int | None]:
        wall = self._wall()
        at, number, kind = turns.next(wall, wall + max(0.0, self._paused_until - now))
        if deadline is not None and now + (at - wall) > deadline:
            return False, None
        if at > wall:
            return False, at - wall
        ticket = self._next_ticket
        self._next_ticket += 1
        self._tickets[ticket] = turns.sent(number, kind)
        if len(self._tickets) > 1000:  # calls that never got an answer (a dropped connection) hold no slot
            for old in sorted(self._tickets)[:500]:
                del self._tickets[old]
        self._last_sent = now
        return True, ticket

    def rate_limited(self, generation: int | None, hint: RateLimitHint) -> None:
        """A call sent under `generation` got a 429."""
        with self._lock:
            if hint.per_minute:
                # The server named its limit: never plan to go faster than it.
                self.base = max(self.base, 60.0 / hint.per_minute * self.MARGIN)
                self.interval = max(self.interval, self.base)
            if self.turns is not None:
                self.turns.width, self.turns.tolerance = (
                    self._slot_shape()
                )  # the limit the server named, if so
                ticket = self._tickets.pop(generation, None) if generation is not None else None
                if ticket is not None:
                    self.turns.refused(*ticket)
                if hint.retry_after:
                    self._paused_until = max(
                        self._paused_until, self._clock() + min(hint.retry_after, self.MAX_PAUSE)
                    )
                return
            again = (  # refused again, having had a call through, all before we spent the bucket ourselves
                generation == self._generation and self._refused_once and 1 <= self._successes < self._ceiling
            )
            if again or (generation == self._gap_generation and self._through_since_429 >= self.LISTEN):
                # Two tokens' time passed with no call of ours, and the call after it was refused: someone else
                # spent those tokens (refused on every call, a gap tells nothing new). Or we came after the
                # bucket was spent: our calls go through only now and then. We share the bucket.
                self._share(self._grid)
                if hint.retry_after:
                    self._paused_until = max(
                        self._paused_until, self._clock() + min(hint.retry_after, self.MAX_PAUSE)
                    )
                return
            self._through_since_429 = self._since_gap = 0
            if generation == self._generation and self._count_connections():
                if hint.retry_after:  # the server's word still holds: nobody sends before it
                    self._paused_until = max(
                        self._paused_until, self._clock() + min(hint.retry_after, self.MAX_PAUSE)
                    )
                return
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

    def _count_connections(self) -> bool:
        """On our first 429: when the bucket ran dry before we spent it, the others spent the rest (and what
        refilled meanwhile), so we are one of about spent ÷ ours connections. True when we now take turns."""
        first, self._refused_once = not self._refused_once, True
        if not first or not self.EVIDENCE <= self._successes < self._ceiling:
            return False
        spent = self._ceiling + max(0.0, self._clock() - self._first_sent) / self.base
        count = spent / self._successes
        if count < 1.5:
            return False
        # The nearest power of two (in ratio): grids of different sizes nest, and a wrong count is mended by
        # the turns themselves (a grid too coarse is refined where we meet, a grid too fine grows by probes).
        self._share(1 << round(math.log2(count)))
        return True

    def _share(self, slots: int) -> None:
        self.turns = Turns(
            min(self.MAX_SLOTS, slots), *self._slot_shape(), self._rng, max_slots=self.MAX_SLOTS
        )
        self._credit = 0.0

    def _slot_shape(self) -> tuple[float, float]:
        """A slot's length, and how late into it a call may go: the next slot's call is still a token after it.
        At a fast pace the room is at least MIN_ROOM, longer than a thread takes to wake."""
        token = self.base / self.MARGIN
        room = max(self.base * self.SLOT - token - self.GUARD, self.MIN_ROOM)
        return token + self.GUARD + room, room

    def succeeded(self, generation: int | None) -> None:
        """A call sent under `generation` was answered (not with a 429)."""
        with self._lock:
            if self.turns is not None:
                ticket = self._tickets.pop(generation, None) if generation is not None else None
                if ticket is not None:
                    self.turns.through(*ticket)
                    if self.turns.done:  # every slot is ours: the others are done
                        self._grid, self.turns = self.turns.slots, None
                        self._credit = 0.0
                        self._last_sent = self._clock()
                return
            self._successes += 1
            self._through_since_429 += 1
            if generation == self._generation:  # sent at the current, slowed pace, and it went through
                # Halve the slow-down: a burst of 429s costs a few slow calls, while a pace that really is too
                # fast for the server meets a 429 again soon and settles a little slower than configured.
                excess = (self.interval - self.base) / 2
                self.interval = self.base + (excess if excess > self.base * 0.01 else 0.0)
