"""Start the emulator as a subprocess for tests and benchmarks.

with run_emulator("--rate-limit", "off") as emu:
    requests.get(emu.url + "/rest/people", headers={"Authorization": f"Bearer {emu.api_key}"})
    emu.records("people")    # everything stored, soft-deleted rows included
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

START_TIMEOUT_S = 20.0
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])


class Emulator:
    """A running emulator process: its URL, key, and the /_emulator inspection door."""

    def __init__(self, process: subprocess.Popen, url: str, api_key: str, stderr_tail: deque[str]):
        self.process = process
        self.url = url
        self.api_key = api_key
        self.stderr_tail = stderr_tail  # last lines the emulator wrote to stderr (e.g. with --verbose)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _call(self, method: str, path: str):
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def records(self, plural: str, include_deleted: bool = True) -> list[dict]:
        suffix = "" if include_deleted else "?include_deleted=false"
        return self._call("GET", f"/_emulator/records/{plural}{suffix}")["records"]

    def requests(self) -> list[dict]:
        return self._call("GET", "/_emulator/requests")["requests"]

    def internal_errors(self) -> list[str]:
        """The emulator's own crashes since the last reset (each answered as a generic 500)."""
        return self._call("GET", "/_emulator/errors")["errors"]

    def check_no_internal_errors(self) -> None:
        """Fail (AssertionError) if the emulator crashed: its 500 would have been retried as an outage."""
        if self.process.poll() is not None:
            return  # stopped: nothing to ask (a test that stops it checks before)
        errors = self.internal_errors()
        if errors:
            raise AssertionError(
                f"the emulator logged {len(errors)} internal error(s); the first:\n{errors[0]}"
            )

    def reset(self, metadata: bool = False) -> None:
        self._call("POST", "/_emulator/reset" + ("?metadata=fresh" if metadata else ""))

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)


@contextmanager
def run_emulator(
    *extra_args: str, api_key: str = "test-key", twenty_version: str | None = None, check_errors: bool = True
) -> Iterator[Emulator]:
    """Run ``python -m twenty_emulator`` on a free port; stop it on exit. Leaving the block normally raises
    AssertionError if the emulator crashed meanwhile (``check_errors=False`` for a test of that very check).

    ``twenty_version`` ("current", "v1.3", "v1.20") is passed as ``--twenty-version``; when it is not given,
    the environment variable TWENTY_EMULATOR_VERSION picks it, so that a whole test suite can be run against
    another version unchanged (``TWENTY_EMULATOR_VERSION=v1.3 pytest integration_tests``)."""
    twenty_version = twenty_version or os.environ.get("TWENTY_EMULATOR_VERSION") or None
    cmd = [
        sys.executable,
        "-m",
        "twenty_emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--api-key",
        api_key,
    ]
    if twenty_version is not None:
        cmd += ["--twenty-version", twenty_version]
    cmd += list(extra_args)
    env = dict(os.environ)
    env["PYTHONPATH"] = _PACKAGE_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    # Drain stderr continuously: a full pipe would block the emulator (e.g. with --verbose).
    stderr_tail: deque[str] = deque(maxlen=200)

    def pump_stderr():
        for line in process.stderr:
            stderr_tail.append(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    threading.Thread(target=pump_stderr, daemon=True).start()
    emulator = None
    try:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            line = None
        prefix = "twenty-emulator listening on "
        if not line or not line.startswith(prefix):
            process.kill()
            process.wait(timeout=5)
            err = "\n".join(stderr_tail)
            raise RuntimeError(f"twenty emulator did not start (got {line!r}): {err.strip()}")
        emulator = Emulator(process, line[len(prefix) :].strip(), api_key, stderr_tail)
        yield emulator
        if check_errors:
            emulator.check_no_internal_errors()  # on a clean exit only: a failing test keeps its own error
    finally:
        if emulator is not None:
            emulator.stop()
        elif process.poll() is None:
            process.kill()
            process.wait(timeout=5)
