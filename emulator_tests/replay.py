"""Replay recorded cases against an emulator and compare its answers with what the real server answered.

Comparison follows conformance/README.md: status exactly; error bodies statusCode/error/messages exact plus any
extra recorded key (code); success bodies with the same keys at every level, arrays of the same length, every
value equal after placeholders (position compared by type only), and ``{ID:label}`` / ``{CURSOR:label}`` bound on
first appearance and consistent afterwards. A recording's extras are checked too: ``timestamps`` (whether each
record's createdAt equals its updatedAt), ``reduce`` (the part of a listing a case keeps) and ``repeat`` (the
limiter's refusal).
"""

from __future__ import annotations

import json
import random
import re
from urllib.parse import urlencode

import requests

from conformance.recording import PLACEHOLDER, dig, reduce, timestamp_order

API_KEY = "conformance-key"
API_KEY_NAME = "conformance-key-name"
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

    def send(self, req: dict, url: str | None = None) -> requests.Response:
        url = (url or self.url) + self.fill(req["path"])
        if req.get("query"):
            url += "?" + urlencode(self.fill(req["query"]))
        headers = self.fill(req.get("headers") or {})
        data = None
        if "raw_body" in req:
            data = self.fill(req["raw_body"]).encode()
            headers["Content-Type"] = "application/json"
        elif req.get("body") is not None:
            data = json.dumps(self.fill(req["body"]))
            headers["Content-Type"] = "application/json"
        return self.session.request(req["method"], url, data=data, headers=headers, timeout=15)

    def bind(self, binds: dict | None, body) -> None:
        for label, dotted in (binds or {}).items():
            self.labels[label] = dig(body, dotted)

    def learn(self, expected, actual) -> None:
        """Bind labels a recorded answer shows first, before comparing (so a difference early in one case does
        not leave later cases without their ids)."""
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

    # -- one case ---------------------------------------------------------------
    def setup(self, case: dict) -> None:
        for i, step in enumerate(case.get("setup") or []):
            resp = self.send(step["request"])
            assert resp.status_code == step["status"], f"setup step {i}: {resp.status_code} {resp.text[:500]}"
            if step.get("bind"):
                self.bind(step["bind"], resp.json())

    def check(self, case: dict, resp: requests.Response) -> None:
        """Compare one answer with the recorded one (``case["response"]``)."""
        expected = case["response"]
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        if (
            expected["status"] < 400
            or not isinstance(expected["body"], dict)
            or "messages" not in expected["body"]
        ):
            body = reduce(case, body)
            self.learn(expected["body"], body)
            if case.get("bind"):
                try:
                    self.bind(case["bind"], body)
                except (KeyError, IndexError, TypeError):
                    pass  # the comparison below says what differs
        assert resp.status_code == expected["status"], f"status {resp.status_code}: {resp.text[:1000]}"
        for header, value in (expected.get("headers") or {}).items():
            if case.get("repeat"):
                assert header.lower() in {h.lower() for h in resp.headers}, f"header {header} missing"
            else:
                assert resp.headers.get(header) == value, f"header {header}: {resp.headers.get(header)!r}"

        if (
            expected["status"] >= 400
            and isinstance(expected["body"], dict)
            and "messages" in expected["body"]
        ):
            exp = {k: self.fill(v) if k == "messages" else v for k, v in expected["body"].items()}
            exp["messages"] = [self.fill(m) for m in expected["body"]["messages"]]
            for key in (
                "statusCode",
                "error",
                "messages",
                *[k for k in exp if k not in ("statusCode", "error", "messages")],
            ):
                assert body.get(key) == exp[key], f"{key}: {body.get(key)!r} != recorded {exp[key]!r}"
            return

        self.compare(expected["body"], body)
        if case.get("timestamps"):
            order = timestamp_order(body)
            for where, recorded in case["timestamps"].items():
                assert order.get(where) == recorded, (
                    f"{where}: createdAt and updatedAt {order.get(where)}, recorded {recorded}"
                )
