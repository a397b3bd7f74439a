"""Every count of a sync in one place: what each stream created, updated, found already stored and rejected,
in total (the summary) and since the last STATE (its destinationStats).

Counts are taken only from results the pipeline hands back in order, on the main thread, so the stats of a
STATE cover exactly the records before it, and the summary equals what Twenty holds on every exit path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Counts:
    """One batch's (or one sync's) outcome, per stream."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    # Sent again and found stored with the same values (a resumed or repeated sync in create mode): written,
    # so counted in a STATE's recordCount, but not created twice.
    unchanged: Counter = field(default_factory=Counter)
    # Deletes (a delete route, or a source delete): soft-deleted, matching nothing, or ignored by the route.
    # Each is done with, so it counts in a STATE's recordCount: the platform checks records sent against
    # records committed plus rejected.
    deleted: Counter = field(default_factory=Counter)
    not_found: Counter = field(default_factory=Counter)
    ignored: Counter = field(default_factory=Counter)
    # Links by lookup, per (stream, "written" | "unresolved"); not records, so not in `written`.
    links: Counter = field(default_factory=Counter)

    def written(self, stream: str) -> int:
        return sum(c[stream] for c in self.counters())

    def counters(self) -> tuple[Counter, ...]:
        return (self.created, self.updated, self.unchanged, self.deleted, self.not_found, self.ignored)


class Tally:
    def __init__(self) -> None:
        self.totals = Counts()
        self.rejected: Counter = Counter()
        self.links = 0  # note/task target rows written
        self.link_counts: Counter = Counter()  # (stream, "written" | "unresolved") → links by lookup
        self.waited: Counter = Counter()  # records that waited for a target written later (deferred.py)
        self._streams: dict[str, None] = {}  # every stream seen, in order of arrival
        self._written_since_state: Counter = Counter()
        self._rejected_since_state: Counter = Counter()

    def saw(self, stream: str) -> None:
        self._streams.setdefault(stream, None)

    def add(self, counts: Counts) -> None:
        self.link_counts.update(counts.links)
        for mine, theirs in zip(self.totals.counters(), counts.counters(), strict=True):
            for stream, n in theirs.items():
                mine[stream] += n
                self._written_since_state[stream] += n
                self.saw(stream)

    def reject(self, stream: str) -> None:
        self.rejected[stream] += 1
        self._rejected_since_state[stream] += 1
        self.saw(stream)

    def since_state(self) -> tuple[Counter, Counter]:
        """What the next STATEs will count, per stream (a copy)."""
        return Counter(self._written_since_state), Counter(self._rejected_since_state)

    def move_out(self, stream: str, written: int, rejected: int) -> None:
        """Records a held STATE counts (deferred.py) leave what the next STATEs will count."""
        self._written_since_state[stream] -= written
        self._rejected_since_state[stream] -= rejected

    def take_since_state(self, streams: Iterable[str] | None) -> tuple[int, int]:
        """(written, rejected) since the previous STATE of these streams (None: every stream), and restart."""
        if streams is None:
            written, rejected = (
                sum(self._written_since_state.values()),
                sum(self._rejected_since_state.values()),
            )
            self._written_since_state.clear()
            self._rejected_since_state.clear()
            return written, rejected
        streams = list(streams)
        return (
            sum(self._written_since_state.pop(s, 0) for s in streams),
            sum(self._rejected_since_state.pop(s, 0) for s in streams),
        )

    @property
    def written(self) -> int:
        return sum(self.totals.written(s) for s in self._streams)

    @property
    def written_since_last_state(self) -> int:
        return sum(self._written_since_state.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def summary(self, elapsed: float, calls: int) -> str:
        parts = []
        for stream in sorted(self._streams):
            part = f"stream '{stream}': created {self.totals.created[stream]}, updated {self.totals.updated[stream]}"
            if self.totals.unchanged[stream]:
                part += f", already stored {self.totals.unchanged[stream]}"
            for words, counter in (
                ("deleted", self.totals.deleted),
                ("to delete but not found", self.totals.not_found),
                ("source deletes ignored", self.totals.ignored),
            ):
                if counter[stream]:
                    part += f", {words} {counter[stream]}"
            part += f", rejected {self.rejected[stream]}"
            written, unresolved = (
                self.link_counts[(stream, "written")],
                self.link_counts[(stream, "unresolved")],
            )
            if written or unresolved or self.waited[stream]:
                part += (
                    f" (links: {written} written, {self.waited[stream]} records waited for their target, "
                    f"{unresolved} unresolved)"
                )
            parts.append(part)
        links = f"; {self.links} note/task targets linked" if self.links else ""
        return (
            f"Sync summary ({elapsed:.1f} s, {calls} API calls): "
            + ("; ".join(parts) or "no records")
            + links
        )

    def dry_run_summary(self, elapsed: float, calls: int, reasons: dict[str, list[str]]) -> str:
        parts = []
        for stream in sorted(self._streams):
            part = (
                f"stream '{stream}': would create {self.totals.created[stream]}, would update "
                f"{self.totals.updated[stream] + self.totals.unchanged[stream]}, would reject {self.rejected[stream]}"
            )
            if self.totals.deleted[stream] or self.totals.not_found[stream]:
                part += f", would delete {self.totals.deleted[stream]} (not found {self.totals.not_found[stream]})"
            if reasons.get(stream):
                part += " (first: " + " | ".join(reasons[stream]) + ")"
            parts.append(part)
        return f"Dry run summary ({elapsed:.1f} s, {calls} API calls, nothing written): " + (
            "; ".join(parts) or "no records"
        )
