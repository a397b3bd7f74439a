"""scripts/record_conformance.py against the emulator itself: what it records, the replay plays back exactly.

The emulator stands in for a real server here (CI has none), so a recording of the corpus made from the default
mode must replay against a fresh default-mode emulator with no difference at all: the recorder's templates
(run token, ids, timestamps, cursors, the key's name) and the replay's comparison agree. The key never reaches
the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from replay import API_KEY, API_KEY_NAME, Replay

from conformance.recording import CORPUS, read_cases, read_recording
from twenty_emulator.testing import run_emulator

ROOT = Path(__file__).resolve().parents[1]
RECORDER = ROOT / "scripts" / "record_conformance.py"


def test_a_recording_of_the_default_mode_replays_against_it_exactly(tmp_path: Path) -> None:
    corpus = [c["case"] for c in read_cases(CORPUS)]
    key_file = tmp_path / "key.txt"
    key_file.write_text(API_KEY + "\n")
    out = tmp_path / "current.jsonl"
    with run_emulator("--rate-limit", "off", "--api-key-name", "recorded-key-name", api_key=API_KEY) as emu:
        run = subprocess.run(
            [sys.executable, str(RECORDER), "--line", "v2", "--url", emu.url, "--key-file", str(key_file)]
            + ["--commit", "0" * 40, "--version", "the emulator", "--out", str(out), "--pace", "0"]
            + ["--only", *corpus],
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    text = out.read_text()
    assert API_KEY not in text and "recorded-key-name" not in text
    header, cases = read_recording(out)
    assert header["commit"] == "0" * 40 and header["not_run"] == []
    assert [c["case"] for c in cases] == corpus
    create = next(c for c in cases if c["case"] == "create_person")
    person = create["response"]["body"]["data"]["createPerson"]
    assert person["id"] == "{ID:ada}" and person["createdAt"] == "{TIMESTAMP}"
    assert person["emails"]["primaryEmail"] == "ada.{RUN}@example.org"
    assert person["createdBy"]["name"] == "{API_KEY_NAME}"
    assert create["timestamps"] == {"body.data.createPerson": "equal"}
    assert json.loads(json.dumps(create["response"].get("headers", {}))) == {
        "Content-Type": "application/json; charset=utf-8"
    }

    with run_emulator("--rate-limit", "off", "--api-key-name", API_KEY_NAME, api_key=API_KEY) as emu:
        replay = Replay(emu.url)
        for case in cases:
            replay.setup(case)
            replay.check(case, replay.send(case["request"]))
