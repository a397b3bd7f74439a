"""Source columns: how a mapped `column` reads a record, and whether the configured catalog's streams have it.

A dotted column reads into nested objects (`address.city` → data["address"]["city"]) and arrays by index
(`tags.0`); a top-level key that literally holds the dot wins when the record has it. The same rule decides
whether a stream's `json_schema` lists the column, so that a misspelled column ends the sync before any write
instead of silently writing empty values.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from destination_twenty.config import ColumnMap
from destination_twenty.errors import ConfigError

Reader = Callable[[Mapping[str, Any]], Any]

_MAX_LISTED_PATHS = 5_000  # bounds the "closest columns" search on very wide or deep schemas
_MAX_DEPTH = 6

# What `_lookup` found: the column is listed, is certainly not, or sits under a part the schema leaves open.
_FOUND, _MISSING, _OPEN = "found", "missing", "open"


def column_reader(column: str) -> Reader:
    """The function reading `column` out of a record's data (None when any step is missing)."""
    if "." not in column:
        return lambda data: data.get(column)
    parts = tuple(column.split("."))

    def read(data: Mapping[str, Any]) -> Any:
        if column in data:  # a key that literally contains the dot wins
            return data[column]
        return dig(data, parts)

    return read


def dig(node: Any, parts: Sequence[str]) -> Any:
    """Follow `parts` into nested objects (and arrays, by index); None when any step is missing.

    The one nested reader: source columns, primary-key paths and fields of rows read back from Twenty."""
    for part in parts:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and _is_index(part):
            index = int(part)
            node = node[index] if index < len(node) else None
        else:
            return None
        if node is None:
            return None
    return node


def check_columns(catalog: Mapping[str, Any], mapping: Sequence[ColumnMap]) -> list[str]:
    """Check every mapped column against the streams' json_schema; return warnings for what cannot be checked.

    A column that no stream lists raises ConfigError naming the column, the streams and their closest columns.
    A stream whose schema lists no properties cannot be checked: it gets a warning instead.
    """
    if not mapping:
        return []  # without a mapping every record property goes to the field of the same name
    listed: list[tuple[str, Mapping[str, Any]]] = []
    unlisted: list[str] = []
    for configured in (
        catalog.get("streams") or ()
    ):  # the configured catalog as JSON (check_catalog vetted it)
        stream = configured.get("stream") or {}
        name = f"{stream['namespace']}.{stream['name']}" if stream.get("namespace") else stream.get("name")
        schema = stream.get("json_schema") if isinstance(stream.get("json_schema"), Mapping) else {}
        if _properties(schema):
            listed.append((name, schema))
        else:
            unlisted.append(name)
    warnings = [
        f"Stream '{name}' lists no properties in its json_schema, so the mapped columns cannot be checked "
        "against it before writing: a misspelled column would write empty values."
        for name in unlisted
    ]
    if not listed:
        return warnings
    problems = []
    for i, column_map in enumerate(mapping):
        column = column_map.column
        results = [_lookup(schema, column) for _, schema in listed]
        if any(r != _MISSING for r in results):
            continue
        where = f'column_mapping[{i}].column "{column}"'
        if unlisted:
            names = ", ".join(f"'{n}'" for n in unlisted)
            warnings.append(
                f"{where} is in no listed stream's schema; it may be in {names}, whose schema lists no properties."
            )
            continue
        hints = []
        for name, schema in listed:
            close = difflib.get_close_matches(column, list(_listed_paths(schema)), n=3, cutoff=0.0)
            hints.append(
                f"stream '{name}' has no such column" + (f" (closest: {', '.join(close)})" if close else "")
            )
        problems.append(f"{where} is in no stream of the configured catalog: {'; '.join(hints)}.")
    if problems:
        raise ConfigError(
            " ".join(problems) + " Fix the column names in column_mapping (a dot reads a nested property, "
            "a number an array item: address.city, tags.0)."
        )
    return warnings


def _lookup(schema: Mapping[str, Any], column: str) -> str:
    props = _properties(schema)
    if props is not None and column in props:
        return _FOUND
    return _walk(schema, column.split("."))


def _walk(node: Any, parts: list[str]) -> str:
    if not parts:
        return _FOUND
    if not isinstance(node, Mapping):
        return _OPEN  # `true` or a malformed sub-schema: nothing to check against
    variants = _variants(node)
    own = (
        _walk_own(node, parts)
        if _properties(node) or _types(node) or "items" in node or not variants
        else None
    )
    results = [_walk(variant, parts) for variant in variants] + ([own] if own is not None else [])
    return _FOUND if _FOUND in results else _OPEN if _OPEN in results else _MISSING


def _walk_own(node: Mapping[str, Any], parts: list[str]) -> str:
    types = _types(node)
    props = _properties(node)
    head = parts[0]
    if props is not None:
        if head in props:
            return _walk(props[head], parts[1:])
        return _MISSING
    if "array" in types or "items" in node:
        if not _is_index(head):
            return _MISSING
        items = node.get("items")
        return _walk(items, parts[1:]) if isinstance(items, Mapping) else _OPEN
    if "object" in types or not types:
        return _OPEN  # an object whose properties are not listed (or an untyped schema)
    return _MISSING  # a scalar has nothing beneath it


def _listed_paths(schema: Mapping[str, Any]) -> Iterator[str]:
    """Every column path the schema lists, breadth first (bounded), for "closest column" hints."""
    queue: list[tuple[str, Any, int]] = [("", schema, 0)]
    produced = 0
    while queue and produced < _MAX_LISTED_PATHS:
        prefix, node, depth = queue.pop(0)
        if not isinstance(node, Mapping) or depth > _MAX_DEPTH:
            continue
        for variant in _variants(node):
            queue.append((prefix, variant, depth + 1))
        props = _properties(node)
        if props:
            for key, child in props.items():
                path = f"{prefix}.{key}" if prefix else key
                produced += 1
                yield path
                queue.append((path, child, depth + 1))
        elif ("array" in _types(node) or "items" in node) and prefix:
            produced += 1
            yield f"{prefix}.0"
            queue.append((f"{prefix}.0", node.get("items"), depth + 1))


def _properties(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    props = node.get("properties")
    return props if isinstance(props, Mapping) and props else None


def _variants(node: Mapping[str, Any]) -> list[Any]:
    return [v for key in ("anyOf", "oneOf", "allOf") for v in (node.get(key) or ()) if isinstance(v, Mapping)]


def _types(node: Mapping[str, Any]) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    return set()


def _is_index(part: str) -> bool:
    return part.isascii() and part.isdigit()
