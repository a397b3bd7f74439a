"""Issue 19, item 6: a relation target read whole at the start is not the workspace for the rest of the sync.
A company created while the sync runs (by another writer, between two batches) is found, not "not found": a miss
is looked up before it rejects. A small forwarding proxy plays the other writer: it creates the company the
moment the sync's first batch write arrives, so the order is exact, not timed."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests

from integration_tests.conftest import catalog_for, config_for, record, run_connector, state

MAPPING = [
    {"column": "email", "field": "emails.primaryEmail"},
    {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
]


class OtherWriterProxy:
    """Forwards to the emulator; before forwarding the first POST /rest/batch/people, runs `before_first_batch`."""

    def __init__(self, upstream: str, before_first_batch):
        target = urlsplit(upstream)
        proxy = self
        self.fired = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "POST" and self.path.startswith("/rest/batch/people"):
                    if not proxy.fired.is_set():
                        proxy.fired.set()
                        before_first_batch()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def post(emulator, plural, body):
    response = requests.post(
        f"{emulator.url}/rest/{plural}",
        json=body,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return next(iter(response.json()["data"].values()))["id"]


@pytest.mark.parametrize("partial_success", [True, False])
def test_a_company_created_during_the_sync_is_found(emulator, tmp_path, partial_success):
    acme = post(
        emulator, "companies", {"name": "Acme", "domainName": {"primaryLinkUrl": "https://acme.example"}}
    )
    created: list[str] = []

    def other_writer():  # runs after the sync has read the (small) companies object whole
        created.append(
            post(
                emulator,
                "companies",
                {"name": "Fresh", "domainName": {"primaryLinkUrl": "https://fresh.example"}},
            )
        )

    rows = [{"email": "first@fresh.example", "domain": "https://acme.example"}]
    rows += [{"email": "second@fresh.example", "domain": "https://FRESH.example/"}]
    messages = [record("people", row) for row in rows] + [state("people", 2, 1)]
    with OtherWriterProxy(emulator.url, other_writer) as proxy:
        config = {
            **config_for(emulator, "people", column_mapping=MAPPING, partial_success=partial_success),
            "api_url": proxy.url,
            "batch_size": 1,
            "max_concurrent_requests": 1,  # batch 2 resolves its links after batch 1 is stored
        }
        run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages)
        assert proxy.fired.is_set()
    assert run.returncode == 0, run.errors
    people = {p["emails"]["primaryEmail"]: p["companyId"] for p in emulator.records("people")}
    assert people == {"first@fresh.example": acme, "second@fresh.example": created[0]}
    assert run.states[-1]["destinationStats"] == {"recordCount": 2.0}
    reads = [r for r in emulator.requests() if r["method"] == "GET" and r["path"] == "/rest/companies"]
    assert len(reads) == 2  # the whole (small) object once, then the one key it did not hold
