"""Credentials written into a URL (`https://user:password@host`) never leave the connector: every message that
repeats a URL goes through here, and every line printed is passed through `redact_urls` as a last guard."""

from __future__ import annotations

import re

HIDDEN = "****"
# scheme://userinfo@ — userinfo runs to the last "@" before the path, query or fragment (RFC 3986 §3.2.1; a
# password may itself hold an "@" that was not percent-encoded, and the whole of it must go).
_IN_TEXT = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s]*@")


def redact_url(url: str) -> str:
    """The URL with its user name and password replaced by ****, also when it cannot be parsed or has no scheme
    (`user:pass@host` pasted without https://)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    if at < 0:
        return url
    return f"{scheme}{sep}{HIDDEN}@{rest[at + 1 :]}"


def redact_urls(text: str) -> str:
    """Every `scheme://user:pass@` in free text, with the credentials replaced by ****."""
    if "@" not in text:
        return text
    return _IN_TEXT.sub(lambda m: f"{m.group(1)}{HIDDEN}@", text)
