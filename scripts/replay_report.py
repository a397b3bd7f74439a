"""Replay one recording against an emulator mode and print each case that differs, with its first difference.

    .venv/bin/python scripts/replay_report.py v2            # conformance/recorded/v2.jsonl against --twenty-version v2
    .venv/bin/python scripts/replay_report.py v1.3 --mode v1.3

This is how emulator_tests/known_differences.py is filled: run it after changing a mode (or once a new mode is
merged), then list each printed case there under a reason that says what the real server does. The comparison is
the tests' own (emulator_tests/replay.py); the emulator runs on 127.0.0.1 and stops at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "emulator_tests")]

from replay import API_KEY, API_KEY_NAME, Replay  # noqa: E402
from test_recordings import LINES, _probe_limiter  # noqa: E402

from conformance.recording import RECORDED, read_recording  # noqa: E402
from twenty_emulator.testing import run_emulator  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("line", choices=sorted(LINES))
    parser.add_argument("--mode", help="emulator mode (default: the line's)")
    args = parser.parse_args(argv)
    mode = args.mode or LINES[args.line][0]
    _header, cases = read_recording(RECORDED / f"{args.line}.jsonl")
    differ = 0
    with run_emulator(
        "--rate-limit", "off", "--api-key-name", API_KEY_NAME, api_key=API_KEY, twenty_version=mode
    ) as emu:
        replay = Replay(emu.url)
        for case in cases:
            try:
                if "not_run" in case:
                    raise AssertionError(f"not run on the server: {case['not_run']}")
                replay.setup(case)
                if case.get("repeat"):
                    _probe_limiter(replay, args.line, case, mode)
                else:
                    replay.check(case, replay.send(case["request"]))
            except AssertionError as e:
                differ += 1
                print(f"{case['case']}: {' '.join(str(e).split())[:300]}")
    print(f"{differ} of {len(cases)} cases differ from {args.line} in mode {mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
