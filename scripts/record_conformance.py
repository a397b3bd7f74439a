"""Record every conformance case against a real Twenty server, into conformance/recorded/<line>.jsonl.

    .venv/bin/python scripts/record_conformance.py --line v2 --url http://127.0.0.1:3001 \\
        --key-file ~/twenty-rig/v2/api-key.txt --commit 88cf2a02e44fb9a3cc8d688fafdf860ea19924a5 --version "..."

The cases are the January 2026 corpus (conformance/cases.jsonl) and the extra cases (conformance/extra_cases.jsonl),
run in order with a fresh ``{RUN}`` token, so records written by others on a shared server never match. The answers
are turned back into templates (conformance/recording.py) and written one line per case after a header line that
names the server line, its version and commit.

The recorder paces itself to the line's limiter (v1.3: /graphql and /metadata, 100 per 100 s; v2: every call,
100 per 60 s) and waits out a refusal it did not ask for (others share the bucket), a bounded number of times.
Cases with ``repeat`` probe the limiter on purpose: they send until refused (at most ``max`` calls), record the
refusal, and then wait for the bucket to refill. The whole run is bounded by ``--max-requests`` and ``--deadline``.
The API key is sent only in the Authorization header and never written.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conformance.recording import (  # noqa: E402
    CORPUS,
    CURSOR_KEYS,
    EXTRA_CASES,
    PLACEHOLDER,
    RECORDED,
    TIMESTAMP_KEYS,
    UUID,
    dig,
    is_throttled,
    read_cases,
    read_recording,
    reduce,
    timestamp_order,
)


@dataclass(frozen=True)
class Line:
    """How a server line's limiter counts: which paths spend a token, and the pace that stays under it."""

    paced: re.Pattern
    interval: float  # seconds between paced calls
    refill_wait: float  # seconds for an emptied bucket to fill again


LINES = {
    # v1.3: REST records are not limited; /graphql and /metadata (REST metadata too): 100 per 100 s, per client IP.
    "v1.3": Line(re.compile(r"^/(graphql|metadata|rest/metadata)"), interval=1.1, refill_wait=105),
    # v2: every API-key call, REST and GraphQL: 100 per 60 s per workspace (shared with everyone on the server).
    "v2": Line(re.compile(r""), interval=0.75, refill_wait=65),
}
METADATA_PATHS = ("/rest/metadata", "/metadata")  # their createdAt/updatedAt say nothing about a write
THROTTLE_RETRIES = 12  # waits of THROTTLE_WAIT for a refusal caused by someone else
THROTTLE_WAIT = 10.0


class NotRun(Exception):
    """A case that cannot be sent (a label it needs was never bound): recorded with the reason."""


class Recorder:
    def __init__(self, url: str, key: str, line: Line, max_requests: int, deadline: float):
        self.url = url.rstrip("/")
        self.key = key
        self.line = line
        self.run = f"r{random.randint(10**9, 10**10 - 1)}"
        self.labels: dict[str, str] = {}
        self.sent_uuids: set[str] = set()  # ids the client chose are kept verbatim
        self.session = requests.Session()
        self.requests = 0
        self.max_requests = max_requests
        self.deadline = time.monotonic() + deadline
        self.last_paced = 0.0

    # -- sending -------------------------------------------------------------------------------------------
    def fill(self, value: Any) -> Any:
        if isinstance(value, str):

            def sub(m: re.Match) -> str:
                name = m.group(1)
                if name == "RUN":
                    return self.run
                if name == "API_KEY":
                    return self.key
                label = name.split(":", 1)[1] if ":" in name else None
                if label is None or label not in self.labels:
                    raise NotRun(f"{m.group(0)} is not bound")
                return self.labels[label]

            return PLACEHOLDER.sub(sub, value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def _budget(self) -> None:
        if self.requests >= self.max_requests:
            raise SystemExit(f"stopped: {self.max_requests} requests sent (--max-requests)")
        if time.monotonic() > self.deadline:
            raise SystemExit("stopped: --deadline reached")
        self.requests += 1

    def _pace(self, path: str) -> None:
        if self.line.paced.match(path):
            wait = self.last_paced + self.line.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.last_paced = time.monotonic()

    def send_once(self, req: dict, paced: bool = True) -> tuple[int, Any, dict[str, str]]:
        path = self.fill(req["path"])
        url = self.url + path
        if req.get("query"):
            url += "?" + urlencode(self.fill(req["query"]))
        headers = self.fill(req.get("headers") or {})
        data = None
        if "raw_body" in req:
            data = self.fill(req["raw_body"]).encode()
            headers["Content-Type"] = "application/json"
        elif req.get("body") is not None:
            body = self.fill(req["body"])
            self.sent_uuids |= set(UUID.findall(json.dumps(body)))
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.sent_uuids |= set(UUID.findall(url))
        if paced:
            self._pace(path)
        self._budget()
        resp = self.session.request(req["method"], url, data=data, headers=headers, timeout=60)
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        return resp.status_code, body, dict(resp.headers)

    def send(self, req: dict) -> tuple[int, Any, dict[str, str]]:
        """Send, waiting out refusals of a limiter others spend too (bounded)."""
        for _ in range(THROTTLE_RETRIES):
            status, body, headers = self.send_once(req)
            if not is_throttled(self.fill(req["path"]), status, body):
                return status, body, headers
            print(f"  throttled on {req['path']}; waiting {THROTTLE_WAIT:.0f} s", file=sys.stderr)
            time.sleep(THROTTLE_WAIT)
        return status, body, headers

    def bind(self, binds: dict | None, body: Any) -> list[str]:
        missing = []
        for label, dotted in (binds or {}).items():
            try:
                value = dig(body, dotted)
            except (KeyError, IndexError, TypeError, ValueError):
                missing.append(f"{label} ({dotted} not in the answer)")
                continue
            if isinstance(value, str):
                self.labels[label] = value
        return missing

    # -- templates -----------------------------------------------------------------------------------------
    def learn(self, expected: Any, actual: Any) -> None:
        """Bind labels that the corpus's answer shows first (metadata ids): where its template has ``{ID:x}``."""
        if isinstance(expected, str) and isinstance(actual, str):
            m = PLACEHOLDER.fullmatch(expected)
            if m and ":" in m.group(1):
                self.labels.setdefault(m.group(1).split(":", 1)[1], actual)
        elif isinstance(expected, dict) and isinstance(actual, dict):
            for k in expected.keys() & actual.keys():
                self.learn(expected[k], actual[k])
        elif isinstance(expected, list) and isinstance(actual, list):
            for e, a in zip(expected, actual, strict=False):
                self.learn(e, a)

    def template(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k == "name" and key in ("createdBy", "updatedBy") and value.get("source") == "API":
                    out[k] = "{API_KEY_NAME}" if isinstance(v, str) else v
                else:
                    out[k] = self.template(v, k)
            return out
        if isinstance(value, list):
            return [self.template(v, key) for v in value]
        if not isinstance(value, str):
            return value
        if key in TIMESTAMP_KEYS and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z?", value):
            return "{TIMESTAMP}"
        if key == "searchVector":
            return "{SEARCH_VECTOR}"
        by_value = {}
        for label, bound in self.labels.items():
            by_value.setdefault(bound, label)
        if key in CURSOR_KEYS:
            label = by_value.get(value)
            return f"{{CURSOR:{label}}}" if label else "{CURSOR}"
        if value in by_value and not UUID.fullmatch(value):
            return f"{{CURSOR:{by_value[value]}}}"

        def uuid(m: re.Match) -> str:
            found = m.group(0)
            if found in by_value:
                return f"{{ID:{by_value[found]}}}"
            return found if found in self.sent_uuids else "{UUID}"

        value = UUID.sub(uuid, value)
        return value.replace(self.run, "{RUN}")

    # -- cases ---------------------------------------------------------------------------------------------
    def record(self, case: dict) -> dict:
        out = {k: case[k] for k in ("case", "description", "request") if k in case}
        for k in ("refs", "bind", "reduce", "repeat"):
            if k in case:
                out[k] = case[k]
        try:
            setup = []
            for step in case.get("setup") or []:
                status, body, _ = self.send(step["request"])
                recorded = {"request": step["request"], "status": status}
                if step.get("bind"):
                    recorded["bind"] = step["bind"]
                    missing = self.bind(step["bind"], body)
                    if missing:
                        recorded["unbound"] = missing
                setup.append(recorded)
            if setup:
                out["setup"] = setup
            if case.get("repeat"):
                status, body, headers, sent, refused = self.probe_limiter(case)
                out["repeat"] = {**case["repeat"], "sent": sent, "refused": refused}
            else:
                status, body, headers = self.send(case["request"])
        except NotRun as e:
            out["not_run"] = str(e)
            return out
        if "response" in case:
            self.learn(case["response"].get("body"), body)
        missing = self.bind(case.get("bind"), body)
        if missing:
            out["unbound"] = missing
        body = reduce(case, body)
        response: dict[str, Any] = {"status": status, "body": self.template(body)}
        wanted = {h.lower() for h in (case.get("response") or {}).get("headers") or {}}
        kept = {
            h: v
            for h, v in headers.items()
            if h.lower() in wanted or (case.get("repeat") and re.search(r"retry|ratelimit", h, re.I))
        }
        if kept:
            response["headers"] = kept
        out["response"] = response
        order = {} if case["request"]["path"].startswith(METADATA_PATHS) else timestamp_order(body)
        if order:
            out["timestamps"] = order
        return out

    def probe_limiter(self, case: dict) -> tuple[int, Any, dict, int, bool]:
        """Send the case's request as fast as the server answers until it refuses one (at most repeat.max)."""
        req, limit = case["request"], int(case["repeat"]["max"])
        path = self.fill(req["path"])
        status, body, headers = 0, None, {}
        for sent in range(1, limit + 1):
            status, body, headers = self.send_once(req, paced=False)
            if is_throttled(path, status, body):
                print(
                    f"  refused after {sent} calls; waiting {self.line.refill_wait:.0f} s to refill",
                    file=sys.stderr,
                )
                time.sleep(self.line.refill_wait)
                self.last_paced = time.monotonic()
                return status, body, headers, sent, True
        return status, body, headers, limit, False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--line", required=True, choices=sorted(LINES), help="the server line (its limiter)")
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:3001")
    parser.add_argument("--key-file", required=True, type=Path, help="a file holding the API key")
    parser.add_argument("--commit", required=True, help="the commit the server was built from")
    parser.add_argument("--version", required=True, help="the server's version, as you know it")
    parser.add_argument("--source", default="", help="where the source came from (repository)")
    parser.add_argument("--out", type=Path, help="default conformance/recorded/<line>.jsonl")
    parser.add_argument("--only", nargs="*", help="record only these cases")
    parser.add_argument(
        "--update",
        action="store_true",
        help="with --only: replace (or add) those cases in the existing recording, keeping the others",
    )
    parser.add_argument(
        "--pace",
        type=float,
        help="seconds between limited calls instead of the line's (0 for a local emulator)",
    )
    parser.add_argument("--max-requests", type=int, default=2500)
    parser.add_argument("--deadline", type=float, default=1800, help="seconds for the whole run")
    args = parser.parse_args(argv)

    key = args.key_file.expanduser().read_text().strip()
    line = LINES[args.line]
    if args.pace is not None:
        line = Line(line.paced, interval=args.pace, refill_wait=line.refill_wait)
    recorder = Recorder(args.url, key, line, args.max_requests, args.deadline)
    cases = read_cases(CORPUS) + read_cases(EXTRA_CASES)
    if args.only:
        cases = [c for c in cases if c["case"] in set(args.only)]
    # Limiter probes last: they empty the bucket everybody on the server shares.
    cases = [c for c in cases if not c.get("repeat")] + [c for c in cases if c.get("repeat")]
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = args.out or RECORDED / f"{args.line}.jsonl"
    lines = []
    for case in cases:
        print(f"{case['case']}", file=sys.stderr)
        lines.append(recorder.record(case))
    header = {
        "line": args.line,
        "version": args.version,
        "commit": args.commit,
        "source": args.source,
        "url": args.url,
        "recorded_at": started,
        "requests": recorder.requests,
    }
    if args.update:
        if not args.only:
            parser.error("--update needs --only")
        old_header, old_lines = read_recording(out)
        if old_header["commit"] != args.commit:
            parser.error(f"{out} was recorded from {old_header['commit']}, not {args.commit}")
        fresh = {line["case"]: line for line in lines}
        order = [c["case"] for c in read_cases(CORPUS) + read_cases(EXTRA_CASES)]
        merged = {line["case"]: line for line in old_lines} | fresh
        lines = [merged[name] for name in order if name in merged]
        updates = [*old_header.get("updates", []), {"at": started, "cases": sorted(fresh)}]
        header = {**old_header, "updates": updates}
    header["cases"] = len(lines)
    header["not_run"] = [line["case"] for line in lines if "not_run" in line]
    header = {"recording": header}
    text = "\n".join(json.dumps(x, ensure_ascii=False) for x in [header, *lines]) + "\n"
    assert key not in text, "the API key must never be written"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"{len(lines)} cases, {recorder.requests} requests -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
