"""The real server's API-key throttler: a token bucket per workspace with a lossy refill.

Upstream (throttler.service.ts): on each request, available = min(max, tokens + floor((now - lastRefillAt)
* max / window)). If available < 1 the request is refused and nothing is stored, so a refused request does
not reset the clock. Otherwise tokens = available - 1 and lastRefillAt = now: the fraction of a token that
had accrued is thrown away. Two buckets are checked in turn, the short one first (100 per 1 s), then the
long one (100 per 60 s by default); a request refused by the long bucket has already spent a short token.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class Bucket:
    max_tokens: int
    window_ms: int
    tokens: float | None = None  # None: no state stored yet (a full bucket)
    last_refill_ms: float = 0.0

    def available(self, now_ms: float) -> int:
        if self.tokens is None:
            return self.max_tokens
        refill = math.floor((now_ms - self.last_refill_ms) * self.max_tokens / self.window_ms)
        return min(int(self.tokens) + refill, self.max_tokens)

    def take(self, now_ms: float) -> bool:
        available = self.available(now_ms)
        if available < 1:
            return False
        self.tokens = available - 1
        self.last_refill_ms = now_ms
        return True

    def reset_after_ms(self, now_ms: float) -> float:
        """Milliseconds until one token is available again (for the optional Retry-After header)."""
        per_token = self.window_ms / self.max_tokens
        return max(0.0, per_token - (now_ms - self.last_refill_ms))

    @property
    def message(self) -> str:
        return f"Limit reached ({self.max_tokens} tokens per {self.window_ms} ms)"


class Throttle:
    def __init__(
        self, long_limit: int, long_window_ms: int, short_limit: int = 100, short_window_ms: int = 1000
    ):
        self._config = (long_limit, long_window_ms, short_limit, short_window_ms)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        long_limit, long_window_ms, short_limit, short_window_ms = self._config
        self.short = Bucket(short_limit, short_window_ms)
        self.long = Bucket(long_limit, long_window_ms)

    def check(self, now_ms: float | None = None) -> Bucket | None:
        """Consume one token from each bucket in turn; return the bucket that refused, or None."""
        now_ms = time.time() * 1000 if now_ms is None else now_ms
        with self._lock:
            for bucket in (self.short, self.long):
                if not bucket.take(now_ms):
                    return bucket
        return None


def parse_rate_limit(text: str) -> tuple[int, int] | None:
    """``N/SECONDS`` -> (N, window in ms); ``off`` -> None."""
    if text.strip().lower() == "off":
        return None
    count, _, seconds = text.partition("/")
    n, s = int(count), float(seconds)
    if n < 1 or s <= 0:
        raise ValueError("rate limit must be N/SECONDS with N >= 1 and SECONDS > 0")
    return n, int(round(s * 1000))


def rate_limited(
    bucket: Bucket | None, *, usage_limit: bool, headers: bool, spender_id: str, now_ms: float | None = None
) -> tuple[dict, dict | None]:
    """The 429 body and headers for a refusal by ``bucket`` (None: an injected 429 with no limiter running).

    Before v1.20: the throttler's HttpException body, headers only with --retry-after. From v1.20 the
    usage-limit answer (usage-limit-to-rest-api-exception-handler.util.ts and its spec): Retry-After (whole
    seconds, at least 1), X-RateLimit-Limit/-Remaining/-Reset, and a body naming the exhausted scope.
    """
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    limit = bucket.max_tokens if bucket else 100
    window_ms = bucket.window_ms if bucket else 60000
    wait_ms = bucket.reset_after_ms(now_ms) if bucket else 1000
    retry_after = max(1, int(-(-wait_ms // 1000)))
    extra_headers = None
    if headers or usage_limit:
        extra_headers = {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int((now_ms + wait_ms) / 1000) + 1),
        }
    if not usage_limit:
        message = f"Limit reached ({limit} tokens per {window_ms} ms)"
        return {"statusCode": 429, "error": "HttpException", "messages": [message]}, extra_headers
    period = max(1, round(window_ms / 1000))
    body = {
        "statusCode": 429,
        "error": "RATE_LIMITED",
        "messages": [f"Rate limit exceeded for apiKey: {limit} requests per {period}s."],
        "limitKind": "speed",
        "scope": {"spenderType": "apiKey", "spenderId": spender_id},
        "limit": limit,
        "remaining": 0,
        "periodCount": period,
        "periodUnit": "second",
        "retryAfterSeconds": retry_after,
    }
    return body, extra_headers


def graphql_rate_limited(
    bucket: Bucket | None, *, usage_limit: bool, spender_id: str, now_ms: float | None = None
) -> dict:
    """The GraphQL answer (HTTP 200) to a refusal. Before v1.20 the throttler's exception becomes a
    UserInputError (core-modules/throttler/utils/throttler-to-graphql-api-exception-handler.util.ts): code
    BAD_USER_INPUT, the REST message. From v1.20 code RATE_LIMITED with the exhausted scope in the extensions
    (usage-limit-to-graphql-api-exception-handler.util.spec.ts)."""
    body, _ = rate_limited(
        bucket, usage_limit=usage_limit, headers=False, spender_id=spender_id, now_ms=now_ms
    )
    extensions: dict = {"code": "BAD_USER_INPUT"}
    if usage_limit:
        now_ms = time.time() * 1000 if now_ms is None else now_ms
        wait_ms = bucket.reset_after_ms(now_ms) if bucket else 1000
        extensions = {
            "code": "RATE_LIMITED",
            **{k: body[k] for k in ("limitKind", "limit", "remaining", "periodCount", "periodUnit")},
            "retryAfterMs": int(wait_ms),
            "scope": body["scope"],
        }
    return {"errors": [{"message": body["messages"][0], "extensions": extensions}], "data": None}
