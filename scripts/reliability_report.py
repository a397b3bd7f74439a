"""Run the reliability scenarios against the emulator and write docs/reliability.md from what happened.

Usage: .venv/bin/python scripts/reliability_report.py  (about a minute; `make reliability` does the same)
"""

from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reliability import failure_classes, scenarios  # noqa: E402

OUTPUT = ROOT / "docs" / "reliability.md"


def main() -> int:
    outcomes = [scenarios.fault_matrix(mode, count=5000) for mode in ("create", "upsert", "update")]
    outcomes += [scenarios.crash_resume(mode, count=2000) for mode in ("upsert", "create")]
    rows = []
    for o in outcomes:
        injected = ", ".join(f"{kind} ×{n}" for kind, n in sorted(o.faults.items()))
        share = f" ({sum(o.faults.values()) / o.requests:.0%} of {o.requests} requests)" if o.requests else ""
        counts = f"{o.state_written:.0f} + {o.state_rejected:.0f}"
        verdict = "exact" if o.exact and o.stored == o.records else "MISMATCH"
        rows.append(
            f"| {o.scenario} | {o.records:,} | {injected}{share} | {o.stored:,} | {o.duplicates} | {o.lost} "
            f"| {o.wrong} | {counts} | {', '.join(map(str, o.exit_codes))} | {verdict} |"
        )
        print(rows[-1], flush=True)
    classes = failure_classes.measure()
    class_rows = failure_classes.table(classes)
    print("\n".join(class_rows), flush=True)
    text = "\n".join(
        [
            "# Reliability: what survives faults and crashes",
            "",
            f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `scripts/reliability_report.py` from one "
            f"run on {platform.machine()} / Python {platform.python_version()}; do not edit by hand. The same "
            "scenarios, with fewer records, are asserted by `integration_tests/test_reliability.py` on every CI run.",
            "",
            "Each scenario writes people (create: `upsert` off, client-side ids from the primary key; upsert: half of "
            "the people exist beforehand) or updates companies by Twenty id, through the real console script, "
            "against the emulator with fault injection. Afterwards the stored records are compared with the input "
            "exactly: *duplicates* are extra records, *lost* are input records missing, *wrong* are records stored "
            "with other values than the last ones sent. *States* is the sum of `destinationStats.recordCount` + "
            "`rejectedRecordCount` over every echoed state. The crash scenarios kill the connector with SIGKILL "
            "after its fifth state, then run it again from the last state it echoed, as the Airbyte platform does.",
            "",
            "| scenario | records | faults injected | stored | duplicates | lost | wrong | states (written + rejected) "
            "| exit codes | result |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Fault kinds: `500`, `502`, `503` and `429` are answered instead of the request; `reset` drops the "
            "connection before anything is done; `commit-reset` performs the write and then drops the connection "
            "unanswered (the ambiguous case: the connector cannot know the write happened). In the crash scenarios, "
            "the state counts of the killed run and the resumed run add up to more than the records: the records "
            "after the last echoed state are sent again, and land on the same Twenty records (upsert on email, or "
            "the same client-side id), so nothing is duplicated.",
            "",
            "## Every failure class, and what the connector does",
            "",
            f"One run of {failure_classes.RECORDS} people per class, through the console script against the emulator "
            "(`reliability/failure_classes.py`). *Stored* is what the emulator holds afterwards; *counted written* "
            "is created + updated + already stored in the connector's own summary; they must be equal on every exit "
            "path. A config_error is not retried by the platform (the data or the config must change); a "
            "transient_error is.",
            "",
            *class_rows,
            "",
        ]
    )
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    exact = all(o.exact and o.stored == o.records for o in outcomes) and all(c.exact for c in classes)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
