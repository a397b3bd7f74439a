"""Replay each real server's recording (conformance/recorded/<line>.jsonl) against the emulator mode of that line.

Every case is replayed in the recorded order on one emulator per line. A case the mode cannot play yet is listed
in KNOWN_DIFFERENCES with the reason; it is an xfail(strict=True), so a listed difference that starts passing fails
the run and the list stays true. A case the recorder could not run on the server (``not_run``) is listed the same
way, by the recording itself. Limiter probes (``repeat``) run on a fresh emulator with the line's limit.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from known_differences import KNOWN_DIFFERENCES
from replay import API_KEY, API_KEY_NAME, Replay

from conformance.recording import RECORDED, is_throttled, read_recording
from twenty_emulator.testing import run_emulator
from twenty_emulator.versions import VERSIONS

# recording file -> (emulator mode, the line's long limiter bucket as --rate-limit N/SECONDS)
LINES = {"v1.3": ("v1.3", "100/100"), "v2": ("v2", "100/60")}


def _recordings() -> list[tuple[str, dict, list[dict]]]:
    out = []
    for line in LINES:
        path = RECORDED / f"{line}.jsonl"
        header, cases = read_recording(path)
        assert header["line"] == line and header["commit"], f"{path}: header names its line and commit"
        out.append((line, header, cases))
    return out


RECORDINGS = _recordings()
PARAMS = []
for line, _header, cases in RECORDINGS:
    mode = LINES[line][0]
    for case in cases:
        reason = None
        if mode not in VERSIONS:
            reason = f"the emulator has no {mode} mode yet"
        elif "not_run" in case:
            reason = f"not run on the real server: {case['not_run']}"
        elif case["case"] in KNOWN_DIFFERENCES[line]:
            reason = KNOWN_DIFFERENCES[line][case["case"]]
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        PARAMS.append(pytest.param(line, case, marks=marks, id=f"{line}/{case['case']}"))


def test_every_recording_names_its_server() -> None:
    for line, header, cases in RECORDINGS:
        assert header["version"] and len(header["commit"]) == 40, line
        assert len(cases) >= 80, f"{line}: the whole corpus and the extra cases"


def test_every_known_difference_is_a_recorded_case() -> None:
    for line, _header, cases in RECORDINGS:
        names = {c["case"] for c in cases}
        assert set(KNOWN_DIFFERENCES[line]) <= names, sorted(set(KNOWN_DIFFERENCES[line]) - names)


@pytest.fixture(scope="module")
def replays():
    """One emulator per line, started on first use (rate limit off: the limiter probes get their own)."""
    with ExitStack() as stack:
        started: dict[str, Replay] = {}

        def get(line: str) -> Replay:
            if line not in started:
                emu = stack.enter_context(
                    run_emulator(
                        "--rate-limit",
                        "off",
                        "--api-key-name",
                        API_KEY_NAME,
                        api_key=API_KEY,
                        twenty_version=LINES[line][0],
                    )
                )
                started[line] = Replay(emu.url)
            return started[line]

        yield get


def _probe_limiter(replay: Replay, line: str, case: dict, mode: str | None = None) -> None:
    """Send until refused, on an emulator whose only client is this probe; compare the refusal."""
    limit = int(case["repeat"]["max"])
    with run_emulator(
        "--rate-limit",
        LINES[line][1],
        "--api-key-name",
        API_KEY_NAME,
        api_key=API_KEY,
        twenty_version=mode or LINES[line][0],
    ) as emu:
        path = replay.fill(case["request"]["path"])
        resp = None
        for _ in range(limit):
            resp = replay.send(case["request"], url=emu.url)
            try:
                body = resp.json()
            except ValueError:
                body = resp.text
            if is_throttled(path, resp.status_code, body):
                break
        refused = is_throttled(path, resp.status_code, body)
        assert refused == case["repeat"]["refused"], (
            f"refused: {refused} after {limit} calls; the server: {case['repeat']['refused']}"
        )
        replay.check(case, resp)


@pytest.mark.parametrize(("line", "case"), PARAMS)
def test_case(replays, line: str, case: dict) -> None:
    mode = LINES[line][0]
    if mode not in VERSIONS:
        pytest.fail(f"the emulator has no {mode} mode (--twenty-version {mode})")
    if "not_run" in case:
        pytest.fail(f"nothing recorded: {case['not_run']}")
    replay = replays(line)
    replay.setup(case)
    if case.get("repeat"):
        _probe_limiter(replay, line, case)
    else:
        replay.check(case, replay.send(case["request"]))
