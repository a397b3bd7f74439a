"""Fault injection for reliability tests, on /rest/ requests only.

Spec: a comma list of ``KIND:PROBABILITY`` (random, repeatable with --fault-seed) or ``KIND@N;M;...``
(exact /rest/ request numbers, 1-based). KIND is 500, 502, 503, 429, timeout, reset, commit-reset, truncate,
crash (the emulator raises inside its handler, as a bug of its own would) or ``latency=MS`` (a delay that combines with any other fault). The first matching non-latency rule wins.

``truncate`` performs the request (a write is committed), then sends the status line and headers with the
full Content-Length but only the first half of the body, and closes the connection: the answer a client gets
when a proxy or the network cuts a response short.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass

KINDS = ("500", "502", "503", "429", "timeout", "reset", "commit-reset", "truncate", "crash")


@dataclass
class Rule:
    kind: str  # one of KINDS, or "latency"
    probability: float | None = None
    numbers: frozenset[int] = frozenset()
    latency_ms: int = 0

    def fires(self, n: int, rng: random.Random) -> bool:
        if self.numbers:
            return n in self.numbers
        return rng.random() < (self.probability or 0.0)


@dataclass
class Decision:
    number: int
    kind: str | None = None
    latency_ms: int = 0


def parse_faults(spec: str | None) -> list[Rule]:
    rules: list[Rule] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(latency=(\d+)|[\w-]+)(?::([0-9.]+)|@([\d;]+))", part)
        if not m:
            raise ValueError(f"bad fault rule {part!r}: use KIND:PROBABILITY or KIND@N;M")
        kind, latency, prob, numbers = m.groups()
        rule = Rule(kind="latency" if latency else kind)
        if latency:
            rule.latency_ms = int(latency)
        elif kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)} or latency=MS")
        if prob is not None:
            rule.probability = float(prob)
            if not 0.0 <= rule.probability <= 1.0:
                raise ValueError(f"probability out of range in {part!r}")
        else:
            rule.numbers = frozenset(int(x) for x in numbers.split(";") if x)
        rules.append(rule)
    return rules


class FaultInjector:
    def __init__(self, spec: str | None, seed: int | None):
        self.rules = parse_faults(spec)
        self._seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self._rng = random.Random(self._seed)
        self._count = 0

    def next(self) -> Decision:
        """Number the /rest/ request and decide its fault (thread-safe, so numbering is exact)."""
        with self._lock:
            self._count += 1
            decision = Decision(self._count)
            for rule in self.rules:
                if not rule.fires(self._count, self._rng):
                    continue
                if rule.kind == "latency":
                    decision.latency_ms += rule.latency_ms
                elif decision.kind is None:
                    decision.kind = rule.kind
            return decision
