"""The client's pure pieces: what a 429 says about when to retry and the server's limit; stop() during retries."""

from __future__ import annotations

import time
from email.utils import formatdate

import orjson
import pytest
import requests
from requests.structures import CaseInsensitiveDict

from destination_twenty.twenty.rate_limits import rate_limit_hint


def answer(status: int = 429, headers: dict | None = None, body: object = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(headers or {})
    response._content = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    return response


E3_BODY = {
    "statusCode": 429,
    "error": "HttpException",
    "messages": ["Limit reached (100 tokens per 60000 ms)"],
}
E4_BODY = {
    "statusCode": 429,
    "error": "RATE_LIMITED",
    "messages": ["Rate limit exceeded for apiKey: 100 requests per 60s."],
    "limitKind": "speed",
    "limit": 100,
    "remaining": 0,
    "periodCount": 60,
    "periodUnit": "second",
    "retryAfterSeconds": 12,
}


def test_the_recorded_e3_429_carries_no_hint():
    hint = rate_limit_hint(answer(body=E3_BODY))
    assert hint.retry_after is None and hint.per_minute is None


def test_retry_after_in_seconds():
    assert rate_limit_hint(answer(headers={"Retry-After": "7"})).retry_after == 7


def test_retry_after_as_an_http_date():
    later = formatdate(time.time() + 30, usegmt=True)
    assert rate_limit_hint(answer(headers={"Retry-After": later})).retry_after == pytest.approx(30, abs=2)


def test_a_retry_after_date_in_the_past_means_now():
    earlier = formatdate(time.time() - 3600, usegmt=True)
    assert rate_limit_hint(answer(headers={"Retry-After": earlier})).retry_after == 0


def test_newer_twentys_body_gives_the_wait_and_the_limit():
    hint = rate_limit_hint(answer(body=E4_BODY))
    assert hint.retry_after == 12
    assert hint.per_minute == pytest.approx(100)


def test_the_header_wins_over_the_body_for_the_wait():
    assert rate_limit_hint(answer(headers={"Retry-After": "3"}, body=E4_BODY)).retry_after == 3


def test_x_ratelimit_reset_is_unix_seconds():
    reset = str(int(time.time()) + 20)
    assert rate_limit_hint(answer(headers={"X-RateLimit-Reset": reset})).retry_after == pytest.approx(
        20, abs=2
    )


def test_x_ratelimit_limit_counts_with_the_bodys_period():
    body = {**E3_BODY, "periodCount": 1, "periodUnit": "minutes"}
    hint = rate_limit_hint(answer(headers={"X-RateLimit-Limit": "50"}, body=body))
    assert hint.per_minute == pytest.approx(50)


@pytest.mark.parametrize(
    "headers, body",
    [
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"X-RateLimit-Reset": "tomorrow"}, b"<html>Too many requests</html>"),
        ({}, {"retryAfterSeconds": True, "limit": "lots", "periodCount": 0, "periodUnit": "fortnight"}),
        ({}, [1, 2, 3]),
    ],
)
def test_nonsense_hints_are_ignored(headers, body):
    hint = rate_limit_hint(answer(headers=headers, body=body))
    assert hint.retry_after is None and hint.per_minute is None


def test_an_absurd_wait_is_capped():
    assert rate_limit_hint(answer(headers={"Retry-After": "86400"})).retry_after == 300


def test_backoff_is_equal_jitter_as_its_docstring_says():
    from destination_twenty.twenty.transport import backoff

    assert "equal jitter" in backoff.__doc__
    for attempt, step in ((1, 0.5), (2, 1.0), (3, 2.0), (8, 30.0), (20, 30.0)):
        waits = [backoff(attempt) for _ in range(200)]
        assert all(step / 2 <= w <= step for w in waits)
        assert max(waits) - min(waits) > step / 10  # jittered, not a fixed wait
