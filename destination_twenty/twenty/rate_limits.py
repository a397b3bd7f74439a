"""What a rate-limited answer says about when to try again and how fast the server lets us go: the hints the
pacer (pacer.py) acts on."""

from __future__ import annotations

import math
import time
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
import requests

from destination_twenty.twenty.pacer import Pacer, RateLimitHint

_PERIOD_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


def rate_limit_hint(response: requests.Response) -> RateLimitHint:
    """When to try again and the server's own limit, from whatever the answer carries: `Retry-After` (seconds
    or an HTTP date), newer Twenty's body (`retryAfterSeconds`; `limit` per `periodCount` `periodUnit`s) and
    `X-RateLimit-Limit` / `X-RateLimit-Reset` (unix seconds)."""
    headers = response.headers
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    body = body if isinstance(body, dict) else {}
    wait = _retry_after_header(headers.get("Retry-After"))
    if wait is None:
        wait = _number(body.get("retryAfterSeconds"))
    if wait is None:
        reset = _number(headers.get("X-RateLimit-Reset"))
        wait = None if reset is None else reset - time.time()
    limit = _number(body.get("limit"))
    if limit is None:
        limit = _number(headers.get("X-RateLimit-Limit"))
    count = _number(body.get("periodCount"))
    unit = _PERIOD_SECONDS.get(str(body.get("periodUnit", "")).lower().rstrip("s"))
    per_minute = (
        limit * 60.0 / (count * unit) if limit and count and unit and limit > 0 and count > 0 else None
    )
    return RateLimitHint(
        retry_after=None if wait is None else min(max(wait, 0.0), Pacer.MAX_PAUSE), per_minute=per_minute
    )


def _retry_after_header(value: str | None) -> float | None:
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp() - time.time()


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or a header string; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
