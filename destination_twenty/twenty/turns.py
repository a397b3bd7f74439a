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
the slot up and picks another, one where it has not met anyone since it last settled (when four pick at once,
picking again at random had one of them try four taken slots, take a grid twice as fine, and leave half a slot
unspent for the rest of the sync); a slot it has held for a while it keeps through a few 429s, so the newcomer
moves.
It tests slots it does not hold (a probe, late in the slot, so a holder sending at the start is not disturbed):
two calls at once there, the second of which only a spare token lets through. Both through means tokens pile up
unspent, as when a connection has finished: the slot becomes ours as well, and the next probe follows at once. A
single free slot can be in use by two connections that picked the same one (its token carries the second), so one
call there proves nothing. The first probe comes a few calls after the turns start, so a 429 that only looked like
sharing (a bucket that a sync just before had left part-empty, a 429 from elsewhere) costs seconds; a miss makes
the probes rarer.

Connections count each other only roughly (from how the first bucket was spent, or not at all), so their grids
differ: every grid is a power of two, so that they nest (slot i of 2 is slots i and i + 2 of 4), and a wrong count
is mended in the turns. A connection that gives up slot after slot without settling in any is one of more than its
grid has slots: it takes a grid twice as fine, each slot of ours one of its halves there. One that holds several
slots gives up the one where it meets another at once (it still has the others). A probe that finds spare tokens
adds the slot it tested, and holding both halves of every slot of a grid twice as coarse is holding that grid's
slots; the next probe follows at once, so a connection left with one slot of 8 once the others finished takes the
other seven back probe after probe. A share still under a quarter with the probed slot grows by halves (the grid
twice as coarse, ours where either half was): one slot of 16 is all of them after 4 probes. Doubling every share
on a probe let four connections whose probes came due together on a pile of spare tokens (half a slot unspent for
two minutes) all take twice their part, and meet for minutes once the pile was spent. Slots taken on a pile may
still be someone's, which shows only once the pile is spent: a connection leaves the turns only when every slot
has been its own for DONE_AFTER calls.
"""

from __future__ import annotations

import math
import random

TURN, PROBE, SECOND = "turn", "probe", "second"


class Turns:
    SETTLED = 3  # successes on a slot after which one 429 there no longer makes us give it up ...
    PATIENCE = 3  # ... only this many in a row (a newcomer gives up at its first)
    FIRST_PROBE = 2  # successes before the first probe: a 429 that only looked like sharing is found out soon
    PROBE_AFTER = 50  # successes without a 429 before a probe after a miss; doubles with each further miss
    NEXT_PROBE = 1  # after a slot taken, the next probe comes at once (a finished connection frees all its)
    CROWDED = 6  # slots given up in a row, none settled between: more of us than slots, so twice the slots
    # (4 was too few: four connections picking at once can each try four slots before they settle)
    DONE_AFTER = 10  # successes on every slot of ours before we leave the turns
    THIN = 4  # still holding fewer than 1 slot in this many with the probed one, a probe doubles our share
    QUIET = 4  # holding 1 slot of more than this, a call through counts slots ÷ QUIET towards a probe

    def __init__(self, slots: int, width: float, tolerance: float, rng: random.Random, max_slots: int = 32):
        self.slots = (
            slots  # a power of two, so grids of different sizes nest: slot i of 2 is slots i, i+2 of 4
        )
        self.max_slots = max_slots
        self._moves = 0  # slots given up since one of ours last settled
        self._met_there: set[int] = set()  # slot indices where we met another since one of ours last settled
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
        self._tested = -1  # the slot index the last probe tested

    @property
    def alone(self) -> bool:
        return len(self.held) == self.slots

    @property
    def done(self) -> bool:
        """Every slot ours, each for a while: the others are done (slots just taken on a pile of spare tokens
        may still be someone else's, which its 429s would only show once the pile is spent)."""
        return self.alone and min(self.held.values()) >= self.DONE_AFTER

    def next(self, now: float, not_before: float) -> tuple[float, int, str]:
        """The wall time of our next call at or after `not_before` (`now` when it may go now), the number of its
        slot, and what it is: a TURN in a slot we hold, a PROBE, or the SECOND call of a probe."""
        if self._probe == SECOND:
            return max(now, not_before), self._last, SECOND
        probing = self._probe is None and self._quiet >= self._probe_after and not self.alone
        start = max(now, not_before)
        number = math.floor(start / self.width)
        # Too late into the slot, a slot we sent in already, or one that starts before a pause ends (Retry-After).
        if (
            start - number * self.width > self.tolerance
            or number <= self._last
            or (not_before > now and number * self.width < not_before)
        ):
            number = max(number + 1, self._last + 1)
        if probing:
            # The slots not ours in turn, probe after probe: always the one after ours would test the same
            # neighbour again and again, while a free slot elsewhere carries two connections sharing one.
            others = [i for i in range(self.slots) if i not in self.held]
            target = next((i for i in others if i > self._tested), others[0])
        for _ in range(self.slots):
            if (number % self.slots == target) if probing else (number % self.slots in self.held):
                break
            number += 1
        late = self.tolerance / 2 if probing else 0.0
        return max(number * self.width + late, now), number, PROBE if probing else TURN

    def sent(self, number: int, kind: str) -> tuple[int, str]:
        """A call went in slot `number`; what to hand back with its answer."""
        if kind == PROBE:
            self._probe, self._probed = PROBE, number % self.slots
            self._tested = self._probed
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
            self.held[self._probed % self.slots] = 0
            if len(self.held) * self.THIN < self.slots:  # still thin with it: the share grows by halves
                self._coarsen()
            self._normalise()
            self._probe_after = self.NEXT_PROBE
            self._quiet = 0
            return
        if index in self.held:
            self.held[index] += 1
            self._met.pop(index, None)
            if self.held[index] >= self.SETTLED:
                self._moves = 0
                self._met_there = set()
        # Counted in cycles' worth of slots: holding one slot of many, a call through stands for many slots' quiet.
        self._quiet += max(1.0, self.slots / (self.QUIET * len(self.held)))

    def _coarsen(self) -> None:
        """The grid twice as coarse, ours where either half of a slot was."""
        half = self.slots // 2
        merged: dict[int, int] = {}
        for i, n in self.held.items():
            merged[i % half] = max(merged.get(i % half, 0), n)
        self.slots, self.held, self._met = half, merged, {}

    def _normalise(self) -> None:
        """Holding both halves of every slot of the grid twice as coarse is holding that grid's slots."""
        while self.slots > 2 and not self.alone:
            if any((i + self.slots // 2) % self.slots not in self.held for i in self.held):
                return
            self._coarsen()

    def refused(self, index: int, kind: str) -> None:
        self._quiet = 0
        if kind != TURN:
            self._probe = None
            self._probe_after = max(self.PROBE_AFTER, self._probe_after * 2)
            return
        if index not in self.held:
            return
        if len(self.held) == 1 and (self.held[index] >= self.SETTLED or index in self._met):
            # Our only slot, ours for a while: the other one moves; still met after a few cycles, and we do.
            self._met[index] = self._met.get(index, 0) + 1
            if self._met[index] < self.PATIENCE:
                return
        self._met.pop(index, None)
        del self.held[index]
        self._moves += 1
        self._met_there.add(index)
        left = {index}
        if self._moves >= self.CROWDED and self.slots * 2 <= self.max_slots:
            # Every slot we tried is someone's: there are more of us than slots. Each slot we keep becomes one of
            # its two halves in the finer grid, which still fits the others' grids, coarse or fine.
            half, self.slots, self._moves = self.slots, self.slots * 2, 0
            self.held = {i + half * self._rng.randrange(2): n for i, n in self.held.items()}
            self._met = {}
            self._met_there = {i + half * k for i in self._met_there for k in (0, 1)}
            left = {index, index + half}
        if not self.held:
            # Another slot, where we have not met anyone lately if there is one.
            free = [i for i in range(self.slots) if i not in self._met_there] or [
                i for i in range(self.slots) if i not in left
            ]
            self.held[self._rng.choice(free)] = 0
