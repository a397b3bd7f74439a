"""HTTP to Twenty: one session, and the one retry loop every call goes through.

`Transport.send` waits for the pacer (pacer.py), gives each attempt a total deadline (deadlines.py), retries what
a retry can fix (429, 5xx that are not data errors, timeouts, dropped connections, answers past their deadline,
a GraphQL rate limit) until the call's one retry budget runs out, and turns every other answer into one exception
of `errors.py` (classify.py says which). Messages carry Twenty's own error text and never the API key.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from destination_twenty.config import TwentyConfig
from destination_twenty.errors import RequestCancelled, TransientAPIError, TwentyAPIError
from destination_twenty.twenty.classify import classify, graphql_error, is_throttled
from destination_twenty.twenty.deadlines import Watchdog, WatchedAdapter, watching
from destination_twenty.twenty.pacer import Pacer, RateLimitHint
from destination_twenty.twenty.rate_limits import rate_limit_hint

USER_AGENT = "airbyte-destination-twenty/0.1"

# A retry that would have less time than this before the budget runs out is not made.
MIN_ATTEMPT_SECONDS = 1.0


@dataclass
class CallStats:
    """Counters for the progress log; updated under the transport's lock."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0


class Transport:
    """One session to Twenty, shared by every thread of a sync.

    `timeout` is requests' (connect, read) pair, which bounds each socket operation; `request_seconds` bounds a
    whole attempt, answer included (default: the two timeouts added up). `retry_seconds` is the retry budget of
    one call: counted from its first attempt, pacing waits included, and no attempt runs past it.
    """

    def __init__(
        self,
        config: TwentyConfig,
        *,
        retry_seconds: float | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        request_seconds: float | None = None,
        pool_size: int | None = None,
        per_minute: float | None = None,
        pacer: Pacer | None = None,
    ):
        self._base = config.rest_url
        self._root = config.api_url  # /graphql lives beside /rest
        self._host = urlsplit(config.api_url).hostname
        self._retry_seconds = config.max_retry_seconds if retry_seconds is None else retry_seconds
        self._timeout = timeout
        self._request_seconds = sum(timeout) if request_seconds is None else request_seconds
        self._winding_down: threading.Event | None = None  # see stop_retrying_when
        self.pacer = pacer or Pacer(per_minute or config.requests_per_minute)
        self.stats = CallStats()
        self._stats_lock = threading.Lock()
        self._watchdog = Watchdog()
        self.session = requests.Session()
        size = pool_size or max(4, config.max_concurrent_requests)
        adapter = WatchedAdapter(pool_connections=1, pool_maxsize=size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {config.api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        # Never send our key anywhere but the configured host (requests would also strip it on a cross-host
        # redirect; we refuse redirects outright, see send).
        self.session.trust_env = False

    def stop_retrying_when(self, event: threading.Event) -> None:
        """Once `event` is set, a call that Twenty throttled is not tried again: a 429 stored nothing, so giving
        up loses no count. Other failures keep their retries, because their write may have committed and only
        an answer can tell what landed."""
        self._winding_down = event

    def close(self) -> None:
        self.session.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        payload: Any = None,
        attempts: dict[str, float] | None = None,
        root: bool = False,
        graphql: bool = False,
    ) -> dict[str, Any]:
        """One call: its JSON body. `root` puts `path` beside /rest (/graphql, /metadata); `graphql` reads the
        answer as a GraphQL one, whose errors arrive with a 200 (a rate limit among them, retried here)."""
        url = (self._root if root else self._base) + path
        first = time.monotonic()  # reset at the first send, below
        data = orjson.dumps(payload) if payload is not None else None
        where = f"{method} {path}"
        # The budget is a deadline for the whole call: retries, pacing waits and attempts all end by it.
        deadline = time.monotonic() + self._retry_seconds
        error: TransientAPIError | None = None
        attempt = 0
        while True:
            # The first attempt waits its turn however long pacing says; a retry only while the budget lasts.
            generation = self.pacer.wait(deadline if attempt else None)
            if generation is None:
                raise self._gave_up(error or TransientAPIError(f"{where}: rate limited"), attempt)
            attempt += 1
            if attempt == 1:
                first = time.monotonic()  # the first send, after pacing: the window a lost answer can hide in
            seconds = (
                self._request_seconds
                if attempt == 1
                else min(self._request_seconds, deadline - time.monotonic())
            )
            if seconds < MIN_ATTEMPT_SECONDS:  # an attempt cut this short could only fail
                raise self._gave_up(error or TransientAPIError(f"{where}: no time left"), attempt - 1)
            with self._stats_lock:
                self.stats.calls += 1
            response, failure = self._exchange(method, url, where, params, data, seconds)
            hint = RateLimitHint() if response is None else rate_limit_hint(response)
            if response is None:
                error = failure
            else:
                if is_throttled(response):
                    self.pacer.rate_limited(generation, hint)
                    with self._stats_lock:
                        self.stats.rate_limited += 1
                else:
                    self.pacer.succeeded(generation)  # the server let the call through its throttler
                if 200 <= response.status_code < 300:
                    body = _json(response)
                    refused = graphql_error(where, body) if graphql else None
                    if refused is None:
                        if attempts is not None:
                            attempts.update(count=attempt, seconds=time.monotonic() - first)
                        return body
                    if not isinstance(refused, TransientAPIError):
                        raise refused
                    # A GraphQL rate limit: nothing was done. Back off, and hold the other threads as long.
                    self._raise_if_winding_down(where)
                    delay = backoff(attempt)
                    if time.monotonic() + delay > deadline:
                        raise refused
                    self.pacer.rate_limited(None, RateLimitHint(retry_after=delay))
                    with self._stats_lock:
                        self.stats.retries += 1
                    time.sleep(delay)
                    continue
                classified = classify(method, path, response)
                if not isinstance(classified, TransientAPIError):
                    classified.attempts = (
                        attempt  # a verdict after a retry may be on what a lost attempt stored
                    )
                    raise classified
                error = classified
            if response is not None and response.status_code == 429:
                self._raise_if_winding_down(where)
                # The pacer now holds every thread (until Retry-After, or one widened interval, longer with
                # each 429 in a row): this call waits its turn there, and gives up if that is past the budget.
                delay = 0.0
                ready = time.monotonic()
            elif response is not None and is_throttled(response):
                self._raise_if_winding_down(where)
                # The v1.3 limiter counts refused calls and says nothing of when: back off, or each retry
                # would keep its window full.
                delay = backoff(attempt)
                ready = time.monotonic() + delay
            else:
                delay = backoff(attempt) if hint.retry_after is None else hint.retry_after
                ready = time.monotonic() + delay
            if ready > deadline:
                raise self._gave_up(error or TransientAPIError(where), attempt)
            with self._stats_lock:
                self.stats.retries += 1
            if delay > 0:
                time.sleep(delay)

    def _exchange(
        self,
        method: str,
        url: str,
        where: str,
        params: Mapping[str, str] | None,
        data: bytes | None,
        seconds: float,
    ) -> tuple[requests.Response | None, TransientAPIError | None]:
        """One attempt, ended by the watchdog after `seconds`: the answer, or the transient failure it met."""
        watch = self._watchdog.arm(seconds)
        response = None
        try:
            with watching(watch):
                response = self.session.request(
                    method, url, params=params, data=data, timeout=self._timeout, allow_redirects=False
                )
        except requests.Timeout:
            failure = f"{where}: no answer from Twenty in time"
        except requests.ConnectionError as exc:
            failure = f"{where}: connection to Twenty failed ({_reason(exc)})"
        except requests.RequestException as exc:
            # A body cut short (ChunkedEncodingError), badly compressed (ContentDecodingError) or any other
            # transport failure says nothing about the data: retry it like a dropped connection.
            failure = f"{where}: the answer from Twenty was broken ({type(exc).__name__})"
        else:
            failure = None
        finally:
            self._watchdog.disarm(watch)
        if watch.expired:
            # Whatever the closed socket produced (an error, or a body cut short that looks complete), the
            # answer did not arrive in time.
            return None, TransientAPIError(
                f"{where}: no answer from Twenty in time (the whole answer must come within {seconds:.3g} s)"
            )
        if failure is not None:
            return None, TransientAPIError(failure)
        return response, None

    def _raise_if_winding_down(self, where: str) -> None:
        """After a 429 (nothing stored): a stopping sync does not try the call again."""
        if self._winding_down is not None and self._winding_down.is_set():
            raise RequestCancelled(f"{where}: rate limited and not retried, the sync is stopping")

    def _gave_up(self, error: TransientAPIError, attempts: int) -> TransientAPIError:
        return TransientAPIError(
            f"{error.message} (gave up after {attempts} attempts within the {self._retry_seconds:.0f} s retry "
            "budget)",
            status=error.status,
            code=error.code,
        )


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise TwentyAPIError(f"Twenty answered {response.status_code} with a body that is not JSON") from exc
    if not isinstance(body, dict):
        raise TwentyAPIError(f"Twenty answered {response.status_code} with an unexpected JSON body")
    return body


def backoff(attempt: int) -> float:
    """Exponential backoff with equal jitter: a random wait between half and all of 0.5 s, 1 s, 2 s … (capped at
    30 s), so a retry never comes sooner than half the step (full jitter's waits near zero would let every
    thread hammer a struggling server) and threads that failed together do not retry together."""
    return random.uniform(0.5, 1.0) * min(30.0, 0.5 * 2 ** (attempt - 1))


def _reason(exc: Exception) -> str:
    """A short, key-free description of a connection failure."""
    text = str(exc)
    for hint in (
        "Connection refused",
        "Connection reset",
        "RemoteDisconnected",
        "Name or service not known",
        "timed out",
        "Connection aborted",
        "certificate verify failed",
    ):
        if hint in text:
            return hint
    return type(exc).__name__
