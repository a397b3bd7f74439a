"""Answers that are not Twenty's verdict on a record (a proxy's HTML 5xx/4xx, a body cut short) are outages:
retried within the budget, never turned into rejections (issue 8, items 5 and 6).

The emulator cannot play a proxy, so a small fake one sits in front of it: it spoils the first N write calls and
forwards everything else unchanged.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state

HTML = b"<html><body><h1>Bad gateway</h1>cloudflare</body></html>"


class SpoilingProxy:
    """Forwards to the emulator; the first len(spoils) POSTs to /rest/batch/ get the spoiled answer instead."""

    def __init__(self, upstream: str, spoils: list[object]):
        self.spoils = list(spoils)
        self.spoiled = 0
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "POST" and self.path.startswith("/rest/batch/") and proxy.spoils:
                    spoil = proxy.spoils.pop(0)
                    proxy.spoiled += 1
                    if spoil == "truncate":
                        # Promise more bytes than are sent, then hang up: the client sees a body cut short.
                        self.send_response(201)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", "5000")
                        self.end_headers()
                        self.wfile.write(b'{"data":{"createPeople":[')
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.send_response(int(spoil))
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(HTML)))
                    self.end_headers()
                    self.wfile.write(HTML)
                    return
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


PEOPLE = [{"emails.primaryEmail": f"outage{i}@example.com", "jobTitle": f"T{i}"} for i in range(4)]


@pytest.mark.parametrize(
    "spoils",
    [
        # the seven proxy answers, split in runs so that backoff keeps the test short
        ["408", "425", "507", "520"],
        ["521", "522", "523"],
        ["truncate", "truncate", "524"],
    ],
    ids=["proxy-4xx-507-520", "proxy-521-523", "truncated-bodies"],
)
def test_proxy_failures_are_retried_not_rejected(emulator, tmp_path, spoils):
    with SpoilingProxy(emulator.url, spoils) as proxy:
        config = {**config_for(emulator, "people"), "api_url": proxy.url, "max_retry_seconds": 120}
        messages = [record("people", p) for p in PEOPLE] + [state("people", 1)]
        run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
    assert proxy.spoiled == len(spoils)
    assert run.returncode == 0, run.stdout[-2000:]
    assert run.errors == []
    stored = sorted(p["emails"]["primaryEmail"] for p in emulator.records("people"))
    assert stored == sorted(p["emails.primaryEmail"] for p in PEOPLE)
    (last,) = run.states
    assert last["destinationStats"] == {"recordCount": 4.0}


def test_a_proxy_outage_that_outlives_the_budget_is_transient_and_rejects_nothing(emulator, tmp_path):
    with SpoilingProxy(emulator.url, ["520"] * 200) as proxy:
        config = {**config_for(emulator, "people"), "api_url": proxy.url, "max_retry_seconds": 3}
        messages = [record("people", p) for p in PEOPLE] + [state("people", 1)]
        run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
    assert run.returncode == 1
    assert [e["failure_type"] for e in run.errors] == ["transient_error"]
    assert run.states == [] and emulator.records("people") == []
