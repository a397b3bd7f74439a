"""Query-string parsing for GET /rest/{plural}: filter, order_by, limit, depth and cursors.

Filters compile to SQL over the record JSON (``json_extract``), so an ``id[in]:[...]`` lookup uses the
primary key and everything runs inside SQLite rather than in a Python scan.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from .errors import bad_request
from .schema import COMPOSITE_SUBFIELDS, COMPOSITE_TYPES, ObjectMeta
from .validation import parse_date_value

COMPARATORS = (
    "eq",
    "neq",
    "in",
    "containsAny",
    "is",
    "gt",
    "gte",
    "lt",
    "lte",
    "startsWith",
    "endsWith",
    "like",
    "ilike",
)
DIRECTIONS = {
    "AscNullsFirst": "ASC NULLS FIRST",
    "AscNullsLast": "ASC NULLS LAST",
    "DescNullsFirst": "DESC NULLS FIRST",
    "DescNullsLast": "DESC NULLS LAST",
}
DEFAULT_LIMIT = 60
MAX_LIMIT = 200
_PREDICATE = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\[(\w+)\]:(.*)$", re.S)
_CONJUNCTION = re.compile(r"^(and|or|not)\((.*)\)$", re.S)


@lru_cache(maxsize=256)
def _like_regex(pattern: str, case_insensitive: bool) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), (re.I if case_insensitive else 0) | re.S)


def sql_like(value, pattern, case_insensitive) -> int | None:
    """Postgres LIKE / ILIKE, registered as an SQLite function (SQLite's LIKE is always case-insensitive)."""
    if value is None or pattern is None:
        return None
    return 1 if _like_regex(str(pattern), bool(case_insensitive)).fullmatch(str(value)) else 0


def _split_top_level(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _filter_content(text: str) -> list[str]:
    """The predicates of `and(...)` / `or(...)` / `not(...)`, split as Twenty splits them
    (rest/input-request-parsers/filter-parser-utils/parse-filter-content.util.ts, the same on the v1.3 line):
    parentheses are counted even inside quotes, `[` and `]` each toggle one flag, each quote kind toggles its own,
    a comma splits at depth 1 outside them, and a character read at depth 0 is dropped. So a value holding a
    parenthesis or a quote can cut a predicate short or glue two together, as on the real server."""
    in_brackets = in_double = in_single = False
    depth = 0
    predicates, current = [], []
    for ch in text:
        keep = depth >= 1
        if ch == "(":
            depth += 1
        if ch == ")":
            depth -= 1
            keep = depth >= 1
        if ch in "[]":
            in_brackets = not in_brackets
        if ch == '"':
            in_double = not in_double
        if ch == "'":
            in_single = not in_single
        if ch == "," and depth == 1 and not (in_brackets or in_double or in_single):
            predicates.append("".join(current))
            current = []
            keep = False
        if keep:
            current.append(ch)
    predicates.append("".join(current))
    return predicates


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


@dataclass
class CompiledFilter:
    sql: str = "1"
    params: list = field(default_factory=list)
    mentions_deleted: bool = False


class FilterCompiler:
    def __init__(self, obj: ObjectMeta):
        self.obj = obj
        self.params: list = []
        self.mentions_deleted = False

    def compile(self, text: str) -> CompiledFilter:
        # As Twenty reads `filter` (parse-filter-rest-request.util.ts): the parentheses are counted, a query
        # not wholly wrapped in one conjunction gets `and(...)` around it (add-default-conjunction.util.ts,
        # ROOT_FILTER_CONJUNCTION_REGEX), then conjunctions are split by parse-filter-content's rules.
        self._check_brackets(text)
        if not _CONJUNCTION.match(text):
            text = f"and({text})"
        sql = self._condition(text)
        return CompiledFilter(sql, self.params, self.mentions_deleted)

    @staticmethod
    def _check_brackets(text: str) -> None:
        # check-filter-query.util.ts counts every parenthesis, inside quotes too.
        depth = text.count("(") - text.count(")")
        if depth:
            hint = "close" if depth > 0 else "open"
            count = (
                f"{abs(depth)} {hint} bracket is" if abs(depth) == 1 else f"{abs(depth)} {hint} brackets are"
            )
            raise bad_request(f"'filter' invalid. {count} missing in the query")

    def _condition(self, text: str) -> str:
        conj = _CONJUNCTION.match(text)
        if conj:
            kind = conj.group(1)
            parts = [p.strip() for p in _filter_content(text) if p.strip()]
            if kind == "not":
                if len(parts) != 1:
                    raise bad_request(
                        f"'filter' invalid. 'not' conjunction should contain only 1 condition. eg: {text}"
                    )
                return f"NOT ({self._condition(parts[0])})"
            if not parts:
                raise bad_request(f"'filter' invalid for '{text}'. eg: price[gte]:10")
            joiner = " AND " if kind == "and" else " OR "
            return joiner.join(f"({self._condition(p)})" for p in parts)
        return self._predicate(text)

    def _predicate(self, text: str) -> str:
        m = _PREDICATE.match(text)
        if not m:
            raise bad_request(f"'filter' invalid for '{text}'. eg: price[gte]:10")
        path, op, raw = m.groups()
        if op not in COMPARATORS:
            raise bad_request(
                f"'filter' invalid for '{text}', comparator {op} not in {','.join(COMPARATORS)}"
            )
        expr, leaf_type = self._column(path)
        if op == "is":
            value = _unquote(raw)
            if value == "NULL":
                return f"{expr} IS NULL"
            if value == "NOT_NULL":
                return f"{expr} IS NOT NULL"
            raise bad_request(f"'filter' invalid for '{text}'. eg: {path}[is]:NULL or {path}[is]:NOT_NULL")
        if op in ("in", "containsAny"):
            raw = raw.strip()
            if not (raw.startswith("[") and raw.endswith("]")):
                raise bad_request(
                    f"'filter' invalid for '{op}' operator. Received '{raw}' but array value expected "
                    f"eg: 'field[{op}]:[value_1,value_2]'"
                )
            # Twenty splits an `in` list on every comma, quoted or not, then strips each value's quotes
            # (rest/input-request-parsers/filter-parser-utils/format-field-values.util.ts).
            values = [self._convert(_unquote(v), leaf_type) for v in raw[1:-1].split(",")]
            if not values:
                return "0"
            self.params.extend(values)
            marks = ",".join("?" * len(values))
            if op == "in":
                return f"{expr} IN ({marks})"
            json_path = self._json_path(path)
            return f"EXISTS (SELECT 1 FROM json_each(data, '{json_path}') WHERE value IN ({marks}))"
        value = self._convert(_unquote(raw), leaf_type)
        if op in ("like", "ilike"):
            self.params.append(str(value))
            return f"twenty_like({expr}, ?, {1 if op == 'ilike' else 0})"
        if op in ("startsWith", "endsWith"):
            escaped = re.sub(r"([%_\\])", r"\\\1", str(value))
            self.params.append(escaped + "%" if op == "startsWith" else "%" + escaped)
            return f"twenty_like({expr}, ?, 0)"
        sql_op = {"eq": "=", "neq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        self.params.append(value)
        return f"{expr} {sql_op} ?"

    def _json_path(self, path: str) -> str:
        return "$" + "".join(f'."{p}"' for p in path.split("."))

    def _column(self, path: str) -> tuple[str, str]:
        """SQL expression and leaf type for a field path (``name``, ``emails.primaryEmail``, ``companyId``)."""
        head, _, sub = path.partition(".")
        if head == "id" and not sub:
            return "id", "UUID"
        if head == "deletedAt" and not sub:
            self.mentions_deleted = True
            return "deleted_at", "DATE_TIME"
        f = self.obj.fields.get(head)
        if f is None:
            if head in self.obj.join_columns and not sub:
                return f"json_extract(data, '{self._json_path(path)}')", "UUID"
            raise bad_request(f'Object {self.obj.nameSingular} doesn\'t have any "{head}" field.')
        leaf = f.type
        if sub:
            if f.type not in COMPOSITE_SUBFIELDS or sub not in COMPOSITE_SUBFIELDS[f.type]:
                raise bad_request(f'Object {self.obj.nameSingular} doesn\'t have any "{path}" field.')
            leaf = {"amountMicros": "NUMBER"}.get(sub, "TEXT")
        return f"json_extract(data, '{self._json_path(path)}')", leaf

    @staticmethod
    def _convert(value: str, leaf_type: str):
        if leaf_type in ("NUMBER", "POSITION"):
            try:
                return float(value)
            except ValueError:
                raise bad_request(f"'filter' invalid: '{value}' is not a number") from None
        if leaf_type == "BOOLEAN":
            return 1 if value.lower() == "true" else 0
        if leaf_type == "DATE_TIME":
            try:
                return parse_date_value(value, "filter", date_only=False)
            except Exception:
                return value
        return value


@dataclass
class ListQuery:
    filter: CompiledFilter
    order_sql: str
    limit: int
    starting_after: str | None
    ending_before: str | None


def parse_order_by(obj: ObjectMeta, text: str | None) -> str:
    terms = []
    compiler = FilterCompiler(obj)
    for part in _split_top_level(text or ""):
        m = re.match(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)(?:\[(\w*)\])?$", part)
        if not m:
            raise bad_request(f"'order_by' invalid for '{part}'. eg: createdAt[DescNullsLast]")
        path, direction = m.group(1), m.group(2) or "AscNullsFirst"
        if direction not in DIRECTIONS:
            raise bad_request(
                f"'order_by' direction '{direction}' invalid. Allowed values are "
                "'AscNullsFirst', 'AscNullsLast', 'DescNullsFirst', 'DescNullsLast'. eg: ?order_by=field_1[AscNullsFirst],field_2[DescNullsLast],field_3"
            )
        expr, _ = compiler._column(path)
        terms.append(f"{expr} {DIRECTIONS[direction]}")
    terms.append("id ASC")  # upstream always adds id as the tie-breaker
    return ", ".join(terms)


def _orders_by_composite(obj: ObjectMeta, text: str | None) -> bool:
    for part in _split_top_level(text or ""):
        name = part.split("[", 1)[0].split(".", 1)[0]
        if "." in part.split("[", 1)[0] or (name in obj.fields and obj.fields[name].type in COMPOSITE_TYPES):
            return True
    return False


def parse_list_query(
    obj: ObjectMeta,
    query: dict[str, str],
    *,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int = MAX_LIMIT,
    composite_cursor: bool = False,
) -> ListQuery:
    raw_limit = query.get("limit")
    limit = default_limit
    if raw_limit is not None:
        if not re.fullmatch(r"\d+", raw_limit):
            raise bad_request(f"limit '{raw_limit}' is invalid. Should be an integer")
        limit = min(int(raw_limit), max_limit)  # silently clamped, as recorded in the reference
    depth = query.get("depth")
    if depth is not None and depth not in ("0", "1"):
        raise bad_request(f"'depth={depth}' parameter invalid. Allowed values are 0, 1")
    compiled = FilterCompiler(obj).compile(query["filter"]) if query.get("filter") else CompiledFilter()
    if query.get("starting_after") and query.get("ending_before"):
        raise bad_request("Only one of 'endingBefore' and 'startingAfter' may be provided")
    cursor = query.get("starting_after") or query.get("ending_before")
    if cursor and not composite_cursor and _orders_by_composite(obj, query.get("order_by")):
        # The cursor holds the whole composite value (name: {firstName, lastName}) but the order names one
        # sub-field, so the sub-field without a direction is an 'Invalid cursor' (400):
        # engine/api/utils/build-cursor-composite-field-where-condition.utils.ts, buildMainCondition.
        decode_cursor(cursor)
        raise bad_request("Invalid cursor")
    return ListQuery(
        filter=compiled,
        order_sql=parse_order_by(obj, query.get("order_by")),
        limit=limit,
        starting_after=decode_cursor(query["starting_after"]) if query.get("starting_after") else None,
        ending_before=decode_cursor(query["ending_before"]) if query.get("ending_before") else None,
    )


def encode_cursor(record_id: str) -> str:
    return base64.b64encode(json.dumps({"id": record_id}).encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        return json.loads(base64.b64decode(cursor.encode(), validate=True))["id"]
    except Exception:
        raise bad_request(f"Invalid cursor: {cursor}") from None
