"""How many identical rows came before this one since the stream's last STATE, in little memory: a sync that
never checkpoints sees every distinct row once, so each costs one 64-bit digest in a flat table (8 to 16 bytes,
no Python object per row) rather than a 36-character id in a Counter (about 150 bytes); only rows actually
repeated get a count of their own.

Two different rows whose 64-bit digests collide (about 1 in 10^7 for 10^9 row pairs) only make the second one
counted as a copy, which gives it a different, still deterministic id: never two records one id.
"""

from __future__ import annotations

import uuid
from array import array

_START = 1 << 10  # slots; a power of two, doubled when more than 70 % are used


class _Digests:
    """A set of non-zero 64-bit numbers in one flat array (open addressing, linear probing): the digests are
    uniform (from SHA-1), so their low bits place them well."""

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * _START))
        self._used = 0

    def add(self, digest: int) -> bool:
        """Add `digest`; False if it was there already."""
        slots = self._slots
        mask = len(slots) - 1
        i = digest & mask
        while True:
            held = slots[i]
            if held == 0:
                break
            if held == digest:
                return False
            i = (i + 1) & mask
        slots[i] = digest
        self._used += 1
        if self._used * 10 > len(slots) * 7:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._used = 0
        for digest in old:
            if digest:
                self.add(digest)

    def __len__(self) -> int:
        return self._used


class Occurrences:
    def __init__(self) -> None:
        self._seen = _Digests()  # every digest seen since the last STATE
        self._more: dict[int, int] = {}  # digest → rows seen, for those seen twice or more

    def count(self, first_id: str) -> int:
        """Rows with this first id seen before this one (0 for the first), and count this one."""
        # The low 64 bits: uniform in a uuid5 (its version and variant bits sit higher up), so their low bits
        # place a digest well in the table. 0 marks an empty slot.
        digest = (uuid.UUID(first_id).int & 0xFFFF_FFFF_FFFF_FFFF) or 1
        if self._seen.add(digest):
            return 0
        seen = self._more.get(digest, 1)
        self._more[digest] = seen + 1
        return seen

    def clear(self) -> None:
        self._seen = _Digests()
        self._more.clear()

    def __len__(self) -> int:
        return len(self._seen)
