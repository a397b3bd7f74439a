"""Replay every recorded case of conformance/cases.jsonl against the emulator, in order.

Comparison follows that folder's README: status exactly; error bodies statusCode/error/messages exact plus
any extra recorded key (code); success bodies with the same keys at every level, arrays of the same
length, every value equal after placeholders (position compared by type only), and ``{ID:label}`` /
``{CURSOR:label}`` bound on first appearance and consistent afterwards.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from twenty_emulator.testing import run_emulator

CASES_FILE = Path(__file__).resolve().parents[1] / "conformance" / "cases.jsonl"
API_KEY = "conformance-key"
API_KEY_NAME = "conformance-key-name"
# metadata_objects_list keeps only these objects, fields sorted by name (README "Notes on the data").
LISTED_OBJECTS = ["person", "company", "opportunity", "note", "task", "noteTarget", "taskTarget"]

CASES = [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]

PLACEHOLDER = re.compile(
    r"\{(RUN|API_KEY|API_KEY_NAME|UUID|TIMESTAMP|SEARCH_VECTOR|CURSOR|ID:[\w]+|CURSOR:[\w]+)\}"
)
KIND_PATTERNS = {
    "UUID": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "TIMESTAMP": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z",
    "SEARCH_VECTOR": r".*",
    "CURSOR": r"[A-Za-z0-9+/=_-]+",
}


class Replay:
    """State shared by the cases of one replay: the emulator, the run token and the bound labels."""

    def __init__(self, url: str):
        self.url = url
        self.run = f"r{random.randint(10**9, 10**10 - 1)}"
        self.labels: dict[str, str] = {}
        self.session = requests.Session()

    # -- requests ---------------------------------------------------------------
    def fill(self, value):
        """Substitute placeholders in a request value (labels must already be bound)."""
        if isinstance(value, str):

            def sub(m):
                name = m.group(1)
                if name == "RUN":
                    return self.run
                if name == "API_KEY":
                    return API_KEY
                if name == "API_KEY_NAME":
                    return API_KEY_NAME
                label = name.split(":", 1)[1]
                assert label in self.labels, f"label {label} is not bound yet"
                return self.labels[label]

            return PLACEHOLDER.sub(sub, value)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def send(self, req: dict) -> requests.Response:
        url = self.url + self.fill(req["path"])
        if req.get("query"):
            url += "?" + urlencode(self.fill(req["query"]))
        headers = self.fill(req.get("headers") or {})
        data = None
        if req.get("body") is not None:
            data = json.dumps(self.fill(req["body"]))
            headers["Content-Type"] = "application/json"
        return self.session.request(req["method"], url, data=data, headers=headers, timeout=15)

    def bind(self, binds: dict | None, body) -> None:
        for label, dotted in (binds or {}).items():
            value = body
            for part in dotted.split("."):
                value = value[int(part)] if isinstance(value, list) else value[part]
            self.labels[label] = value

    # -- comparison -------------------------------------------------------------
    def match_string(self, expected: str, actual, where: str) -> None:
        assert isinstance(actual, str), f"{where}: expected a string like {expected!r}, got {actual!r}"
        pattern, groups = "", []
        pos = 0
        for m in PLACEHOLDER.finditer(expected):
            pattern += re.escape(expected[pos : m.start()])
            pos = m.end()
            name = m.group(1)
            if name in ("RUN", "API_KEY", "API_KEY_NAME"):
                pattern += re.escape(self.fill(m.group(0)))
            elif name in KIND_PATTERNS:
                pattern += f"(?:{KIND_PATTERNS[name]})"
            else:
                kind, label = name.split(":", 1)
                if label in self.labels:
                    pattern += re.escape(str(self.labels[label]))
                else:
                    group = f"g{len(groups)}"
                    groups.append((group, label))
                    pattern += f"(?P<{group}>{KIND_PATTERNS['UUID' if kind == 'ID' else 'CURSOR']})"
        pattern += re.escape(expected[pos:])
        m = re.fullmatch(pattern, actual, re.S)
        assert m, f"{where}: {actual!r} does not match recorded {expected!r}"
        for group, label in groups:
            self.labels.setdefault(label, m.group(group))

    def compare(self, expected, actual, where: str = "body") -> None:
        if isinstance(expected, dict):
            assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
            assert set(expected) == set(actual), (
                f"{where}: keys differ: missing {sorted(set(expected) - set(actual))}, "
                f"extra {sorted(set(actual) - set(expected))}"
            )
            for key in expected:
                if key == "position" and isinstance(expected[key], (int, float)):
                    # position depends on what the workspace already holds: compare its type.
                    assert isinstance(actual[key], (int, float)) and not isinstance(actual[key], bool), where
                    continue
                self.compare(expected[key], actual[key], f"{where}.{key}")
        elif isinstance(expected, list):
            assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
            assert len(expected) == len(actual), f"{where}: {len(actual)} items, recorded {len(expected)}"
            for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
                self.compare(e, a, f"{where}[{i}]")
        elif isinstance(expected, str):
            self.match_string(expected, actual, where)
        else:
            assert type(expected) is type(actual) or (
                isinstance(expected, (int, float))
                and isinstance(actual, (int, float))
                and not isinstance(actual, bool)
            ), f"{where}: {actual!r} ({type(actual).__name__}) vs recorded {expected!r}"
            assert expected == actual, f"{where}: {actual!r} != recorded {expected!r}"


def _reduce_metadata_listing(body: dict) -> dict:
    """Keep the objects and fields the recording kept, in its order."""
    objects = {o["nameSingular"]: o for o in body["data"]["objects"]}
    kept = []
    for name in LISTED_OBJECTS:
        o = dict(objects[name])
        o["fields"] = sorted(
            (
                f
                for f in o["fields"]
                if not (
                    f["isCustom"]
                    and f["relation"]
                    and f["relation"]["targetObjectMetadata"]["nameSingular"] not in LISTED_OBJECTS + ["pet"]
                )
            ),
            key=lambda f: f["name"],
        )
        kept.append(o)
    return {**body, "data": {"objects": kept}}


@pytest.fixture(scope="module")
def replay():
    with run_emulator("--rate-limit", "off", "--api-key-name", API_KEY_NAME, api_key=API_KEY) as emu:
        r = Replay(emu.url)
        yield r
        r.session.close()


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_case(replay: Replay, case: dict) -> None:
    for i, step in enumerate(case.get("setup") or []):
        resp = replay.send(step["request"])
        assert resp.status_code == step["status"], f"setup step {i}: {resp.status_code} {resp.text[:500]}"
        if step.get("bind"):
            replay.bind(step["bind"], resp.json())

    resp = replay.send(case["request"])
    expected = case["response"]
    body = resp.json()
    assert resp.status_code == expected["status"], f"status {resp.status_code}: {resp.text[:1000]}"
    for header, value in (expected.get("headers") or {}).items():
        assert resp.headers.get(header) == value, f"header {header}: {resp.headers.get(header)!r}"

    if expected["status"] >= 400:
        exp = {k: replay.fill(v) if k == "messages" else v for k, v in expected["body"].items()}
        exp["messages"] = [replay.fill(m) for m in expected["body"]["messages"]]
        for key in (
            "statusCode",
            "error",
            "messages",
            *[k for k in exp if k not in ("statusCode", "error", "messages")],
        ):
            assert body.get(key) == exp[key], f"{key}: {body.get(key)!r} != recorded {exp[key]!r}"
        return

    if case["case"] == "metadata_objects_list":
        body = _reduce_metadata_listing(body)
    replay.compare(expected["body"], body)
    if case.get("bind"):
        replay.bind(case["bind"], body)
