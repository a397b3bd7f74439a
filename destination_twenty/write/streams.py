"""How a stream is named inside the connector, and the identity its records' derived ids are scoped to.

The key tells streams apart (in the writer, in STATEs, in the log). It must be unambiguous: namespace `a.b` with
stream `c` and namespace `a` with stream `b.c` are two streams. Plain parts keep the form earlier versions used
(`name`, `namespace.name`), so the ids derived from it stay the same and a resumed sync does not duplicate what
it wrote; when a part holds `.` or `"` (which could be read two ways), every part is written as a JSON string,
joined by `.`: `"a.b"."c"` and `"a"."b.c"`.

The identity scope (config `identity_scope`) is folded into every id the connector derives, so two connections
that send the same stream name with the same keys into one workspace keep apart.
"""

from __future__ import annotations

import orjson

_AMBIGUOUS = frozenset('."')


def stream_key(name: str, namespace: object = None) -> str:
    """The stream's one name in the connector: `name`, `namespace.name`, or quoted parts when a part holds `.`
    or `"` (then `"namespace"."name"` or `"name"`). No two streams share a key. An empty namespace is none."""
    parts = [str(namespace), name] if namespace else [name]
    if any(_AMBIGUOUS & set(part) for part in parts):
        # JSON strings are self-delimiting, and a plain key holds no `"`: no quoted key equals another key.
        return ".".join(orjson.dumps(part).decode() for part in parts)
    return ".".join(parts)


def identity(scope: str, key: str) -> str:
    """The text the stream's derived ids are computed from. Without a scope it is the key itself (the ids earlier
    versions gave); with one, a JSON pair, which holds `"` where a plain key cannot and starts with `[` where a
    quoted key starts with `"`, so it equals no key and no other scope's identity."""
    if not scope:
        return key
    return orjson.dumps([scope, key]).decode()
