"""Unique keys: the values a payload (or a record read back from Twenty) is matched on, normalised as Twenty
compares them. The writer uses them to order and split batches, the batch sender to pair stored rows with items.

Nothing here raises on a value: a stored record must never end a sync, and a bad value sent by the source has
already been rejected by the mapper (coercion.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from destination_twenty.mapping.schema import ObjectSchema
from destination_twenty.mapping.transforms import text_form

# Upsert keys used when the object's metadata is unknown (reference §3.3).
DEFAULT_UNIQUE_PATHS = ("id", "emails.primaryEmail", "domainName.primaryLinkUrl")


def unique_keys(payload: Mapping[str, Any], schema: ObjectSchema | None) -> list[tuple[str, str]]:
    """The upsert-key values present in a payload, normalised as Twenty compares them."""
    paths = schema.unique_paths if schema is not None else DEFAULT_UNIQUE_PATHS
    keys = []
    for path in paths:
        top, _, sub = path.partition(".")
        value = payload.get(top)
        if sub:
            value = value.get(sub) if isinstance(value, Mapping) else None
        key = key_form(path, value)
        if key is not None:
            keys.append((path, key))
    return keys


def key_form(path: str, value: Any) -> str | None:
    """A value of the field at `path` as Twenty compares it (emails lower-cased, links as stored), or None for
    an empty or composite value: the one form of a key for relation lookups and what a sync wrote."""
    if value is None or value == "" or isinstance(value, (dict, list, bool)):
        return None
    text = text_form(value).strip()
    sub = path.rpartition(".")[2]
    if sub == "primaryEmail" or path == "id":
        text = normalize_email(text)
    elif sub == "primaryLinkUrl":
        text = link_key(text)
    return text or None


def same_text(sent: str, held: str) -> bool:
    """Is the text Twenty holds the text sent, as Twenty may give it back? It lower-cases emails and drops a
    link's trailing "/", and the field's type is not known here: any text is compared that loosely."""
    return sent.strip().rstrip("/").casefold() == held.strip().rstrip("/").casefold()


def match_text(path: str, value: Any) -> str | None:
    """One field of a matching key (data activation: any top-level field, maybe several) in key_form; a
    boolean is compared as its text. None for an empty or structured value."""
    if isinstance(value, bool):
        return text_form(value)
    return key_form(path, value)


def normalize_email(value: str) -> str:
    """As Twenty stores and matches an email: trimmed and lower-cased (recorded case upsert_person_uppercase_email)."""
    return value.strip().lower()


def normalize_url(value: str) -> str:
    """As Twenty stores a link: scheme and host lower-cased, trailing "/"s dropped; no scheme is added.

    A URL that cannot be parsed (`https://[::1`) is kept as written, as Twenty's
    lowercaseUrlOriginAndRemoveTrailingSlash (twenty-shared) keeps it; use `normalize_url_strict` to refuse one.
    """
    try:
        return _normalize(value)
    except ValueError:
        return value.strip()


# Characters a WHATWG URL parser percent-encodes in a path or query (the printable ones). Some Twenty versions
# store a link as `new URL(...)` gives it (`say"hi` as `say%22hi`: seen on the v2-line server), others as written
# (lowercaseUrlOriginAndRemoveTrailingSlash in twenty-shared has had both forms), so keys compare with them decoded.
PERCENT_ENCODED = frozenset(" \"<>`{}'")
_ENCODED_FORM = re.compile("%(" + "|".join(f"{ord(c):02X}" for c in sorted(PERCENT_ENCODED)) + ")", re.I)


def link_key(value: str) -> str:
    """A link as keys compare it: normalize_url, with those characters in one form whichever Twenty stored."""
    return _ENCODED_FORM.sub(lambda m: chr(int(m.group(1), 16)), normalize_url(value))


def normalize_url_strict(value: str) -> str:
    """normalize_url, but ValueError (with a reason) when the URL cannot be parsed."""
    return _normalize(value)


def _normalize(value: str) -> str:
    url = value.strip()
    parts = urlsplit(url) if "://" in url else None  # ValueError on a broken IPv6 host such as https://[::1
    if parts is not None and parts.scheme:  # `X/://` has no scheme: its origin is what comes before the "/"
        parts.port  # noqa: B018 - ValueError on a port that is not a number in range
        url = urlunsplit(
            (parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment)
        )
    else:
        cut = min((i for i in (url.find("/"), url.find("?"), url.find("#")) if i >= 0), default=len(url))
        url = url[:cut].lower() + url[cut:]
    # Twenty drops one trailing "/" (`.replace(/\/$/, '')`); dropping them all makes the key idempotent (a key
    # read back from Twenty normalises to the key sent), and what we send then ends in none for Twenty to drop.
    return url.rstrip("/")
