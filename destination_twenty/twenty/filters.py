"""Twenty's REST filter syntax, in one place: `path[in]:[a,b]` lists, the lone `[like]` predicate for a key that
cannot stand in a list, and `or(...)` groups kept short enough for a URL. Every read by key or id is built here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from destination_twenty.mapping.keys import PERCENT_ENCODED

# Keeps lookup URLs well under common 8 KB limits. Measured on both real servers (v1.3 and v2 rigs): a URL of
# about 16.8 KB is answered 431 and about 15.6 KB accepted, Node's default 16 KiB max header size (Twenty's
# main.ts does not change it); but proxies in front of Twenty, such as nginx, cap the request line at 8 KB by
# default (large_client_header_buffers 4 8k). A batch of 200 ids and 200 domains is over 15 KB once encoded,
# so no safe URL holds it: read_stored sends such a read as one GraphQL query (graphql_any_of) instead.
MAX_FILTER_CHARS = 6000

# Twenty splits an `[in]:[…]` list on every comma and its and()/or() splitter toggles on brackets, parentheses and
# quotes (rest/input-request-parsers/filter-parser-utils/format-field-values.util.ts, parse-filter-content.util.ts):
# a value holding one of these cannot stand in an `[in]` list.
_NOT_IN_A_LIST = frozenset(",[]()\"' ")


def fits_in_a_list(value: str) -> bool:
    """Can this key stand, unquoted and in the one form it may be stored in, in a REST filter's `[in]` list?"""
    return bool(value) and not ((_NOT_IN_A_LIST | PERCENT_ENCODED) & set(value))


def alone_filter(path: str, value: str) -> str:
    """The filter for a key that does not fit in a list: a lone `[like]` predicate in which each character Twenty's
    filter parser reads as syntax is the one-character wildcard `_`, or `%` where Twenty may store it
    percent-encoded (mapping/keys.py, link_key), LIKE's own %, _ and backslash escaped.

    No quoting can carry those characters: Twenty counts every parenthesis of the filter, quoted or not
    (check-filter-query.util.ts: `a(b` is "1 close bracket is missing"), and wraps a lone predicate in and(...),
    whose splitter drops what follows a quoted `)` (parse-filter-content.util.ts: `…/'),or(name:'Victim` read as
    `…/'name:'Victim`, matching nothing). Both seen on a real server. The pattern matches the record and at most
    a few look-alikes, which callers drop by comparing each row's own key."""
    return f"{path}[like]:{like_pattern(value)}"


def like_pattern(value: str) -> str:
    """The LIKE pattern of alone_filter, for REST and GraphQL alike."""
    return "".join(_like_char(c) for c in value)


def _like_char(c: str) -> str:
    if c in "%_\\":
        return "\\" + c
    if c in PERCENT_ENCODED:
        return "%"  # stored as the character or as %XX
    return "_" if c in _NOT_IN_A_LIST else c


def in_list(path: str, values: Sequence[str]) -> str:
    """`path[in]:[a,b,…]`: records whose field equals one of `values` (each must fit in a list)."""
    return f"{path}[in]:[{','.join(values)}]"


def by_keys(path: str, values: Iterable[str], per_list: int) -> list[str]:
    """Filters finding the records whose `path` is one of `values`: `[in]` lists of at most `per_list` values,
    in the order given, then one lone filter per distinct value that cannot stand in a list."""
    lists, alone = _split(path, values, per_list)
    return lists + alone


def any_of(values: Mapping[str, Iterable[str]], per_list: int = 50) -> list[str]:
    """Filters finding the records whose field equals one of its values, for several fields at once: `[in]`
    lists (a few short ones rather than one very long one) joined by or() into filters of at most
    MAX_FILTER_CHARS, then the lone filters of odd keys."""
    predicates: list[str] = []
    alone: list[str] = []
    for path, found in values.items():
        lists, odd = _split(path, found, per_list)
        predicates += lists
        alone += odd
    filters: list[list[str]] = []
    current: list[str] = []
    for predicate in predicates:
        if current and len(",".join(current)) + len(predicate) > MAX_FILTER_CHARS:
            filters.append(current)
            current = []
        current.append(predicate)
    if current:
        filters.append(current)
    return [group[0] if len(group) == 1 else f"or({','.join(group)})" for group in filters] + alone


def graphql_any_of(values: Mapping[str, Iterable[str]]) -> dict:
    """The GraphQL filter matching exactly what any_of's REST filters match, in one: an `in` list per field
    and, for a key that cannot stand in a REST list, the same `like` pattern (rows are compared after reading,
    as with REST). `domainName.primaryLinkUrl` nests as {domainName: {primaryLinkUrl: …}} (Twenty's
    <Object>FilterInput: graphql-query-filter-field.parser.ts reads composite sub-fields so)."""
    parts: list[dict] = []
    for path, found in values.items():
        found = list(found)
        plain = list(dict.fromkeys(v for v in found if fits_in_a_list(v)))
        odd = dict.fromkeys(v for v in found if not fits_in_a_list(v))
        predicates = ([{"in": plain}] if plain else []) + [{"like": like_pattern(v)} for v in odd]
        head, _, sub = path.partition(".")
        parts += [{head: {sub: p}} if sub else {head: p} for p in predicates]
    return {"or": parts}


def _split(path: str, values: Iterable[str], per_list: int) -> tuple[list[str], list[str]]:
    values = list(values)
    plain = [v for v in values if fits_in_a_list(v)]
    lists = [in_list(path, plain[start : start + per_list]) for start in range(0, len(plain), per_list)]
    safe = set(plain)
    return lists, [alone_filter(path, v) for v in dict.fromkeys(v for v in values if v not in safe)]
