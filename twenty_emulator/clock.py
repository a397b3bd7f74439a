"""Timestamps as the real server writes them: ISO 8601 UTC with milliseconds (``2026-01-15T10:00:00.123Z``).

A module of its own so that schema (metadata createdAt) and validation (record timestamps) both use it without
importing each other.
"""

from __future__ import annotations

import time


def now_iso(ts: float | None = None) -> str:
    ts = time.time() if ts is None else ts
    ms = int(ts * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
