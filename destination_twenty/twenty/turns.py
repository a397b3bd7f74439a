"""Turns on one workspace's bucket, shared with other connections that cannot talk to us.

Twenty's throttler refills lossily (throttler.service.ts): with its bucket empty, a call is let through only when
a whole token's time has passed since the last call it let through, whoever sent it, and a refused call changes
nothing. So connections that each pace on their own clock meet within one token's time again and again: one goes
through, the others get 429s, and the one pacing at the full limit is always first once the token is back, so it
never hears of the others. Sharing needs a clock every connection reads without talking to the others: the wall
clock (one machine, or NTP-synchronised nodes, which keep within a few milliseconds). It is cut into slots a little
longer than a token's time, numbered from the epoch; `slots` consecutive slots make a cycle, and a connection sends
only at the start of the slots it holds. Holders of different slots are then a whole token apart whatever their
answer times, and none of them loses the rest of a token.

A connection picks its slot at random. Meeting another there (a 429 on a slot it has not held for long) it gives
the slot up and picks another; a slot it has held for a while it keeps through a few 429s, so the newcomer moves.
It tests slots it does not hold (a probe, late in the slot, so a holder sending at the start is not disturbed):
two calls at once there, the second of which only a spare token lets through. Both through means tokens pile up
unspent, as when a connection has finished: the slot becomes ours as well, and the next probe follows at once. A
single free slot can be in use by two connections that picked the same one (its token carries the second), so one
call there proves nothing. The first probe comes a few calls after the turns start, so a 429 that only looked like
sharing (a bucket that a sync just before had left part-empty, a 429 from elsewhere) costs seconds; a miss makes
the probes rarer.
"""

from __future__ import annotations

import math
import random

TURN, PROBE, SECOND = "turn", "probe", "second"


class Turns:
    SETTLED = 5  # successes on a slot after which one 429 there no longer makes us give it up ...
    PATIENCE = 3  # ... only this many in a row (a newcomer gives up at its first)
    FIRST_PROBE = 3  # successes before the first probe: a 429 that only looked like sharing is found out soon
    PROBE_AFTER = 100  # successes without a 429 before a probe after a miss; doubles with each further miss
    NEXT_PROBE = 1  # after a slot taken, the next probe comes at once (a finished connection frees all its)

    def __init__(self, slots: int, width: float, tolerance: float, rng: random.Random):
        self.slots = slots
        self.width = width  # seconds
        self.tolerance = tolerance  # how late into its slot a call may still go without crowding the next one
        self._rng = rng
        self.held: dict[int, int] = {rng.randrange(slots): 0}  # slot index → successes since taken or met
        self._met: dict[int, int] = {}  # slot index → 429s in a row on a slot we had settled in
        self._last = -1  # the number of the slot we last sent in
        self._quiet = 0  # successes since our last 429
        self._probe_after = self.FIRST_PROBE
        self._probe: str | None = (
            None  # None; PROBE (the first call out); SECOND (its through: send the next)
        )
        self._probed = -1  # the slot index under test

    @property
    def alone(self) -> bool:
        return len(self.held) == self.slots

    def next(self, now: float, not_before: float) -> tuple[float, int, str]:
        """The wall time of our next call at or after `not_before` (`now` when it may go now), the number of its
        slot, and what it is: a TURN in a slot we hold, a PROBE, or the SECOND call of a probe."""
        if self._probe == SECOND:
            return max(now, not_before), self._last, SECOND
        probing = self._probe is None and self._quiet >= self._probe_after and not self.alone
        start = max(now, not_before)
        number = math.floor(start / self.width)
        if start - number * self.width > self.tolerance or number <= self._last:
            number = max(number + 1, self._last + 1)
        for _ in range(self.slots):
            if (number % self.slots in self.held) != probing:
                break
            number += 1
        late = self.tolerance / 2 if probing else 0.0
        return max(number * self.width + late, now), number, PROBE if probing else TURN

    def sent(self, number: int, kind: str) -> tuple[int, str]:
        """A call went in slot `number`; what to hand back with its answer."""
        if kind == PROBE:
            self._probe, self._probed = PROBE, number % self.slots
        elif kind == SECOND:
            self._probe = SECOND + "-out"
        self._last = max(self._last, number)
        return number % self.slots, kind

    def through(self, index: int, kind: str) -> None:
        if kind == PROBE:
            self._probe = SECOND
            return
        if kind == SECOND:  # a spare token besides the slot's own: nobody spends this slot
            self._probe = None
            self.held[self._probed] = 0
            self._probe_after = self.NEXT_PROBE
            self._quiet = 0
            return
        if index in self.held:
            self.held[index] += 1
            self._met.pop(index, None)
        self._quiet += 1

    def refused(self, index: int, kind: str) -> None:
        self._quiet = 0
        if kind != TURN:
            self._probe = None
            self._probe_after = max(self.PROBE_AFTER, self._probe_after * 2)
            return
        if index not in self.held:
            return
        if self.held[index] >= self.SETTLED or index in self._met:
            # Ours for a while: the other one moves; still met after a few cycles, and we do.
            self._met[index] = self._met.get(index, 0) + 1
            if self._met[index] < self.PATIENCE:
                return
        self._met.pop(index, None)
        del self.held[index]
        if not self.held:
            free = [i for i in range(self.slots) if i != index] or [index]
            self.held[self._rng.choice(free)] = 0
