"""Run a built image of destination-twenty the way Airbyte runs it, against the local emulator, and check it.

    python scripts/image/check_image.py IMAGE -- podman run --rm --runtime runc --network host ...

Everything after `--` is the engine's `run` prefix (engine, flags); the image and the connector's arguments are
appended. The container must share the host network: the emulator listens on 127.0.0.1 only.

Checks: `spec` prints exactly spec.json; `check` succeeds against the emulator and fails with a wrong key; a
`write` of 1,000 records stores exactly 1,000 and echoes the state; the image runs as the non-root `airbyte`
user; neither key appears in any output. Exits non-zero with the failed check and the output that shows it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from twenty_emulator.testing import run_emulator  # noqa: E402  (the repository root is not installed)

# Recognisable keys, so a leak into any output is found by a plain substring search.
API_KEY = "image-test-key-7f3c9a1e5d2b4c60"
WRONG_KEY = "image-test-wrong-key-0e4d8b2a6c19"
RECORDS = 1000
RUN_TIMEOUT_S = 180  # one container run; a write of 1,000 records takes seconds
MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "first", "field": "name.firstName"},
]


class CheckFailed(Exception):
    pass


def expect(condition: bool, what: str, output: str = "") -> None:
    if not condition:
        # Even test keys stay out of CI logs; the leak itself is reported by the final check.
        shown = output[-4000:].replace(API_KEY, "<api key>").replace(WRONG_KEY, "<wrong key>")
        raise CheckFailed(f"{what}\n--- output ---\n{shown}")


class Runner:
    """Runs the image; keeps every byte it printed, for the leak check at the end."""

    def __init__(self, prefix: list[str], image: str, files: Path):
        self.prefix = prefix
        self.image = image
        self.files = files
        self.outputs: list[str] = []

    def run(
        self, args: list[str], stdin: str = "", extra: list[str] | None = None
    ) -> tuple[int, str, list[dict]]:
        # Airbyte mounts the job's files read-only and pipes the messages into `write` on stdin (-i).
        cmd = [*self.prefix, "-i", "-v", f"{self.files}:/config:ro", *(extra or []), self.image, *args]
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        output = proc.stdout + proc.stderr
        self.outputs.append(output)
        messages = []
        for line in proc.stdout.splitlines():
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError:
                messages.append({"type": "NOT_JSON", "line": line})
        return proc.returncode, output, messages


def of_type(messages: list[dict], kind: str) -> list[dict]:
    return [m for m in messages if m.get("type") == kind]


def write_files(files: Path, emulator_url: str) -> None:
    def config(key: str) -> dict[str, Any]:
        return {
            "api_key": key,
            "api_url": emulator_url,
            "mode": "people",
            "column_mapping": MAPPING,
            "requests_per_minute": 60000,
        }

    catalog = {
        "streams": [
            {
                "stream": {
                    "name": "contacts",
                    "json_schema": {"type": "object"},
                    "supported_sync_modes": ["full_refresh", "incremental"],
                },
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
            }
        ]
    }
    (files / "config.json").write_text(json.dumps(config(API_KEY)))
    (files / "wrong_key.json").write_text(json.dumps(config(WRONG_KEY)))
    (files / "catalog.json").write_text(json.dumps(catalog))
    # The container user (uid 1000) must read what root wrote here.
    files.chmod(0o755)
    for file in files.iterdir():
        file.chmod(0o644)


def messages_for_write() -> str:
    lines = []
    for i in range(RECORDS):
        data = {"email": f"person{i}@image.example", "first": f"Person{i}"}
        lines.append(
            {"type": "RECORD", "record": {"stream": "contacts", "data": data, "emitted_at": 1700000000000}}
        )
    lines.append(
        {
            "type": "STATE",
            "state": {
                "type": "STREAM",
                "stream": {"stream_descriptor": {"name": "contacts"}, "stream_state": {"cursor": RECORDS}},
            },
        }
    )
    return "".join(json.dumps(m) + "\n" for m in lines)


def check_spec(runner: Runner) -> None:
    code, output, messages = runner.run(["spec"])
    expect(code == 0, f"spec exited {code}", output)
    specs = of_type(messages, "SPEC")
    expect(len(specs) == 1, "spec printed no single SPEC message", output)
    expected = json.loads((ROOT / "spec.json").read_text(encoding="utf-8"))
    expect(specs[0]["spec"] == expected, "the image's spec differs from spec.json", output)


def check_check(runner: Runner) -> None:
    for config, want in (("config.json", "SUCCEEDED"), ("wrong_key.json", "FAILED")):
        code, output, messages = runner.run(["check", "--config", f"/config/{config}"])
        statuses = [m["connectionStatus"]["status"] for m in of_type(messages, "CONNECTION_STATUS")]
        expect(
            statuses == [want], f"check with {config}: expected {want}, got {statuses} (exit {code})", output
        )


def check_write(runner: Runner, emulator) -> None:
    args = ["write", "--config", "/config/config.json", "--catalog", "/config/catalog.json"]
    code, output, messages = runner.run(args, stdin=messages_for_write())
    expect(code == 0, f"write exited {code}", output)
    states = of_type(messages, "STATE")
    expect(len(states) == 1, f"write echoed {len(states)} STATE messages, expected 1", output)
    counted = states[0]["state"].get("destinationStats", {}).get("recordCount")
    expect(counted == RECORDS, f"the echoed state counts {counted} records, expected {RECORDS}", output)
    stored = emulator.records("people", include_deleted=False)
    emails = {p["emails"]["primaryEmail"] for p in stored}
    expected = {f"person{i}@image.example" for i in range(RECORDS)}
    expect(len(stored) == RECORDS and emails == expected, f"the emulator stored {len(stored)} people", output)


def check_user(runner: Runner) -> None:
    # The connector runs as whatever user the image declares; ask that user who it is, through the image's Python.
    probe = "import os, pwd; print(os.getuid(), pwd.getpwuid(os.getuid()).pw_name)"
    code, output, _ = runner.run(["-c", probe], extra=["--entrypoint", "python"])
    expect(
        code == 0 and output.split() == ["1000", "airbyte"],
        "the image does not run as airbyte (1000)",
        output,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("image")
    parser.add_argument("prefix", nargs=argparse.REMAINDER, help="-- ENGINE run [FLAGS...]")
    args = parser.parse_args()
    prefix = args.prefix[1:] if args.prefix[:1] == ["--"] else args.prefix
    if not prefix:
        parser.error("give the engine's run prefix after --, e.g. -- podman run --rm --network host")
    with (
        tempfile.TemporaryDirectory(prefix="image-test-") as tmp,
        run_emulator("--rate-limit", "off", api_key=API_KEY) as emulator,
    ):
        files = Path(tmp)
        write_files(files, emulator.url)
        runner = Runner(prefix, args.image, files)
        checks = [
            ("spec equals spec.json", lambda: check_spec(runner)),
            ("check: SUCCEEDED with the key, FAILED with a wrong one", lambda: check_check(runner)),
            (f"write: {RECORDS} records stored", lambda: check_write(runner, emulator)),
            ("runs as the non-root user airbyte", lambda: check_user(runner)),
        ]
        failed = 0
        for name, check in checks:
            try:
                check()
            except (CheckFailed, subprocess.TimeoutExpired) as exc:
                failed += 1
                print(f"FAIL  {name}: {exc}", flush=True)
            else:
                print(f"ok    {name}", flush=True)
        leaked = [key for key in (API_KEY, WRONG_KEY) if any(key in out for out in runner.outputs)]
        if leaked:
            failed += 1
            print("FAIL  an API key appeared in the image's output", flush=True)
        else:
            print(f"ok    no API key in {len(runner.outputs)} runs' output", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
