"""Every request has a total deadline, not only a deadline per socket read (issue 8, item 7).

A server that trickles its answer one byte at a time never trips a read timeout. A small fake proxy in front of
the emulator plays it: it forwards each request and sends the emulator's answer back one byte per GAP seconds,
from the status line on ("head") or after the headers ("body"), for the first N matching requests.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from destination_twenty.config import TwentyConfig
from destination_twenty.errors import TransientAPIError
from destination_twenty.twenty.client import TwentyClient
from integration_tests.conftest import catalog_for, config_for, live, record, run_connector, state

GAP = 0.5  # seconds between two bytes: far below every read timeout used here, so only a total deadline helps


class TricklingProxy:
    """Forwards to `upstream`; the first `count` requests whose path starts with `prefix` are answered slowly."""

    def __init__(self, upstream: str, *, mode: str, prefix: str = "/", count: int = 10**6):
        self.mode, self.prefix, self.left = mode, prefix, count
        self.trickled: list[str] = []  # "METHOD path" of each request answered slowly
        self.seen: list[str] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                head = f"HTTP/1.1 {answer.status} {answer.reason}\r\n"
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        head += f"{key}: {value}\r\n"
                head += f"Content-Length: {len(data)}\r\n\r\n"
                where = f"{self.command} {self.path}"
                with proxy._lock:
                    proxy.seen.append(where)
                    slow = self.path.startswith(proxy.prefix) and proxy.left > 0
                    if slow:
                        proxy.left -= 1
                        proxy.trickled.append(where)
                if not slow:
                    self.wfile.write(head.encode() + data)
                    return
                self.close_connection = True
                at_once, trickled = (
                    (b"", head.encode() + data) if proxy.mode == "head" else (head.encode(), data)
                )
                self.wfile.write(at_once)
                self.wfile.flush()
                for i in range(
                    len(trickled)
                ):  # bounded by the answer's length, and ends when the client hangs up
                    if proxy.stopping.wait(GAP):
                        return
                    try:
                        self.wfile.write(trickled[i : i + 1])
                        self.wfile.flush()
                    except OSError:
                        return

            do_GET = do_POST = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


# --- through the console script -------------------------------------------------------------------------------


def test_check_ends_within_its_30_second_promise_against_a_trickling_server(emulator, tmp_path):
    with TricklingProxy(emulator.url, mode="head") as proxy:
        config = {**config_for(emulator, "people"), "api_url": proxy.url}
        started = time.monotonic()
        run = run_connector(["check"], tmp_path, config, timeout=120)
        elapsed = time.monotonic() - started
    assert run.status["status"] == "FAILED"
    assert "the whole answer must come within" in run.status["message"]
    assert proxy.trickled  # the answer really was trickled, not refused
    assert elapsed < 30  # the README's promise for check, measured loosely: the feature itself


def test_a_write_whose_answers_trickle_forever_ends_as_transient_and_keeps_the_state(emulator, tmp_path):
    with TricklingProxy(emulator.url, mode="body", prefix="/rest/batch/") as proxy:
        config = {
            **config_for(emulator, "people"),
            "api_url": proxy.url,
            "request_timeout_seconds": 2,  # reads wait 2 s (each byte comes in 0.5 s); a whole answer 4 s
            "max_retry_seconds": 6,
        }
        messages = [
            record("people", {"emails.primaryEmail": "slow@example.com", "jobTitle": "Trickled"}),
            state("people", 1),
        ]
        run = run_connector(["write"], tmp_path, config, catalog_for("people"), messages, timeout=120)
    assert run.returncode == 1
    (error,) = run.errors
    assert error["failure_type"] == "transient_error"
    assert "the whole answer must come within" in error["message"]
    assert len(proxy.trickled) >= 2  # retried within the budget before giving up
    assert run.states == []  # nothing confirmed, so the state did not move past the record


def test_a_trickled_answer_past_its_deadline_is_retried_and_the_record_stored_once(emulator, tmp_path):
    # The emulator stored the batch behind the trickled answer: the retry must find it, not write it twice.
    with TricklingProxy(emulator.url, mode="body", prefix="/rest/batch/", count=1) as proxy:
        config = {**config_for(emulator, "people"), "api_url": proxy.url, "request_timeout_seconds": 2}
        people = [{"emails.primaryEmail": f"trickle{i}@example.com", "jobTitle": f"T{i}"} for i in range(3)]
        messages = [*(record("people", p) for p in people), state("people", 1)]
        catalog = catalog_for("people", primary_key=[["emails.primaryEmail"]])
        run = run_connector(["write"], tmp_path, config, catalog, messages, timeout=120)
    assert run.returncode == 0, run.errors
    assert proxy.trickled == ["POST /rest/batch/people?upsert=true"]
    stored = sorted(p["emails"]["primaryEmail"] for p in live(emulator.records("people")))
    assert stored == [f"trickle{i}@example.com" for i in range(3)]
    assert [s["stream"]["stream_state"] for s in run.states] == [{"cursor": 1}]


# --- the client on its own: both ways of trickling, and stop() ------------------------------------------------


def _client(url: str, **kwargs) -> TwentyClient:
    config = TwentyConfig.from_mapping({"api_key": "deadline-test-key", "mode": "people", "api_url": url})
    return TwentyClient(config, per_minute=60000, **kwargs)


@pytest.mark.parametrize("mode", ["head", "body"])
def test_an_attempt_is_ended_at_its_total_deadline_whichever_part_trickles(emulator, mode):
    with TricklingProxy(emulator.url, mode=mode) as proxy:
        client = _client(proxy.url, retry_seconds=0, timeout=(2.0, 2.0), request_seconds=1.5)
        try:
            with pytest.raises(TransientAPIError, match=r"the whole answer must come within 1\.5 s"):
                client.probe("people")
        finally:
            client.close()
    assert proxy.trickled == ["GET /rest/people?limit=1"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")
def test_the_deadline_also_ends_a_trickled_answer_over_tls(tmp_path):
    # Twenty is reached over HTTPS: the watchdog must cut a TLS socket too, without breaking the reading thread.
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        + ["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    stopping = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def trickle(conn: socket.socket) -> None:
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
                    if stopping.wait(GAP):
                        return
                    tls.sendall(bytes([byte]))
        except OSError:
            return  # the client hung up, as it should

    def serve() -> None:
        for _ in range(4):  # bounded: this test makes one request
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    client = _client(url, retry_seconds=0, timeout=(2.0, 2.0), request_seconds=1.5)
    client.transport.session.verify = str(cert)  # trust the test certificate (the connector always verifies)
    try:
        with pytest.raises(TransientAPIError, match=r"the whole answer must come within 1\.5 s"):
            client.probe("people")
    finally:
        stopping.set()
        listener.close()
        client.close()
