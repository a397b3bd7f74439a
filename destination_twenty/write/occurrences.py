"""How many identical rows came before this one since the stream's last STATE, in little memory: a sync that
never checkpoints sees every distinct row once, so each costs one 64-bit number in a set (about 60 bytes)
rather than a 36-character id in a Counter (about 150); only rows actually repeated get a count of their own.

Two different rows whose 64-bit digests collide (about 1 in 10^7 for 10^9 row pairs) only make the second one
counted as a copy, which gives it a different, still deterministic id: never two records one id.
"""

from __future__ import annotations

import uuid


class Occurrences:
    def __init__(self) -> None:
        self._once: set[int] = set()  # digests seen exactly once
        self._more: dict[int, int] = {}  # digest → rows seen, for those seen twice or more

    def count(self, first_id: str) -> int:
        """Rows with this first id seen before this one (0 for the first), and count this one."""
        digest = uuid.UUID(first_id).int >> 64
        seen = self._more.get(digest)
        if seen is not None:
            self._more[digest] = seen + 1
            return seen
        if digest in self._once:
            self._once.discard(digest)
            self._more[digest] = 2
            return 1
        self._once.add(digest)
        return 0

    def clear(self) -> None:
        self._once.clear()
        self._more.clear()

    def __len__(self) -> int:
        return len(self._once) + len(self._more)
