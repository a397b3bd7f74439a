"""POST /graphql, for the versions that serve it: the record mutations a writer needs, and the record query it
reads with, nothing else.

``create<Plural>(data: [...], upsert: Boolean)`` and ``create<Singular>(data: {...}, upsert: Boolean)`` for every
object, with variables, aliases and selection sets (composite sub-fields included). Upsert matches as the REST
upsert does (records.py), as upstream's resolver calls the same matching
(engine/api/graphql/graphql-query-runner/resolvers/graphql-query-create-many-resolver.service.ts).

Answers follow graphql-yoga: a syntax error or a missing query is a 400; everything else is a 200 whose
``errors`` entries carry ``extensions.code`` (BAD_USER_INPUT, NOT_FOUND, INTERNAL_SERVER_ERROR, as
engine/core-modules/graphql/utils/graphql-errors.util.ts names them). ``<plural>(filter, first, after)`` answers
``edges { node }``, ``pageInfo`` and ``totalCount`` (graphql-query-find-many-resolver.service.ts). Fragments,
directives and other queries are not served (a validation error says so).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .errors import ApiError
from .records import Records
from .schema import COMPOSITE_SUBFIELDS, ObjectMeta, Workspace

_TOKEN = re.compile(
    r"(?P<skip>[\s,\ufeff]+|#[^\n]*)|(?P<spread>\.\.\.)|(?P<punct>[!$&()\[\]{}:=@|])"
    r'|(?P<block>"""(?:[^"\\]|\\.|"(?!""))*""")|(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[_A-Za-z][_0-9A-Za-z]*)"
)
_CODES = {400: "BAD_USER_INPUT", 404: "NOT_FOUND"}


class GraphQLError(Exception):
    def __init__(self, message: str, code: str = "GRAPHQL_VALIDATION_FAILED", status: int = 200):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status

    def entry(self, path: list[str] | None = None) -> dict:
        out: dict = {"message": self.message}
        if path:
            out["path"] = path
        out["extensions"] = {"code": self.code}
        return out


@dataclass
class Variable:
    name: str


@dataclass
class Selection:
    name: str
    alias: str | None = None
    arguments: dict = field(default_factory=dict)
    selections: list[Selection] | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Operation:
    kind: str
    name: str | None
    defaults: dict
    selections: list[Selection]


# ----------------------------------------------------------------------------- parsing
def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise GraphQLError(
                f"Syntax Error: Unexpected character: {text[pos]!r}.", "GRAPHQL_PARSE_FAILED", 400
            )
        pos = m.end()
        if m.lastgroup != "skip":
            out.append((m.lastgroup, m.group()))
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.i = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, value: str | None = None, kind: str | None = None) -> str:
        token = self._peek()
        if (
            token is None
            or (value is not None and token[1] != value)
            or (kind is not None and token[0] != kind)
        ):
            found = "<EOF>" if token is None else repr(token[1])
            wanted = repr(value) if value else (kind or "a token")
            raise GraphQLError(
                f"Syntax Error: Expected {wanted}, found {found}.", "GRAPHQL_PARSE_FAILED", 400
            )
        self.i += 1
        return token[1]

    def _at(self, value: str) -> bool:
        token = self._peek()
        return token is not None and token[1] == value and token[0] in ("punct", "spread")

    def document(self) -> list[Operation]:
        operations = []
        while self._peek() is not None:
            if self._at("{"):
                operations.append(Operation("query", None, {}, self._selection_set()))
                continue
            kind = self._take(kind="name")
            if kind not in ("query", "mutation", "subscription"):
                raise GraphQLError(f"The emulator's /graphql does not serve '{kind}' definitions.")
            name = self._take(kind="name") if self._peek() and self._peek()[0] == "name" else None
            defaults = self._variable_definitions() if self._at("(") else {}
            if self._at("@"):
                raise GraphQLError("The emulator's /graphql does not serve directives.")
            operations.append(Operation(kind, name, defaults, self._selection_set()))
        if not operations:
            raise GraphQLError("Syntax Error: Unexpected <EOF>.", "GRAPHQL_PARSE_FAILED", 400)
        return operations

    def _variable_definitions(self) -> dict:
        defaults = {}
        self._take("(")
        while not self._at(")"):
            self._take("$")
            name = self._take(kind="name")
            self._take(":")
            self._type()
            if self._at("="):
                self._take("=")
                defaults[name] = self._value()
        self._take(")")
        return defaults

    def _type(self) -> None:
        if self._at("["):
            self._take("[")
            self._type()
            self._take("]")
        else:
            self._take(kind="name")
        if self._at("!"):
            self._take("!")

    def _selection_set(self) -> list[Selection]:
        self._take("{")
        selections = []
        while not self._at("}"):
            if self._at("..."):
                raise GraphQLError("The emulator's /graphql does not serve fragments.")
            name = self._take(kind="name")
            alias = None
            if self._at(":"):
                self._take(":")
                alias, name = name, self._take(kind="name")
            arguments = self._arguments() if self._at("(") else {}
            if self._at("@"):
                raise GraphQLError("The emulator's /graphql does not serve directives.")
            sub = self._selection_set() if self._at("{") else None
            selections.append(Selection(name, alias, arguments, sub))
        self._take("}")
        return selections

    def _arguments(self) -> dict:
        self._take("(")
        out = {}
        while not self._at(")"):
            name = self._take(kind="name")
            self._take(":")
            out[name] = self._value()
        self._take(")")
        return out

    def _value(self):
        token = self._peek()
        if token is None:
            raise GraphQLError("Syntax Error: Unexpected <EOF>.", "GRAPHQL_PARSE_FAILED", 400)
        kind, text = token
        if text == "$" and kind == "punct":
            self._take("$")
            return Variable(self._take(kind="name"))
        if text == "[" and kind == "punct":
            self._take("[")
            items = []
            while not self._at("]"):
                items.append(self._value())
            self._take("]")
            return items
        if text == "{" and kind == "punct":
            self._take("{")
            obj = {}
            while not self._at("}"):
                key = self._take(kind="name")
                self._take(":")
                obj[key] = self._value()
            self._take("}")
            return obj
        self.i += 1
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "string":
            return json.loads(text)
        if kind == "block":
            return text[3:-3]
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(text, text)  # an enum stays its name
        raise GraphQLError(f"Syntax Error: Unexpected {text!r}.", "GRAPHQL_PARSE_FAILED", 400)


def _substitute(value, variables: dict):
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    return value


# ----------------------------------------------------------------------------- execution
def _cap(name: str) -> str:
    return name[0].upper() + name[1:]


class GraphQL:
    def __init__(
        self,
        workspace: Workspace,
        records: Records,
        answer_max: int = 10_000,
        creates: bool = True,
        queries: bool = True,
    ):
        self.queries = queries  # record queries <plural>(filter, first, after) served (versions.py)
        self.workspace = workspace
        self.records = records
        self.answer_max = answer_max  # records listed in a create<Plural> answer (versions.py)
        self.creates = creates  # create mutations served (versions.py graphql); deletes are served by all

    def execute(self, raw: bytes) -> tuple[int, dict, int]:
        """Answer one POST /graphql body: (HTTP status, JSON answer, records in the mutations' data)."""
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"errors": [GraphQLError("POST body sent invalid JSON.", "BAD_REQUEST").entry()]}, 0
        try:
            if not isinstance(request, dict) or not isinstance(request.get("query"), str):
                raise GraphQLError("Must provide query string.", "BAD_REQUEST", 400)
            variables = request.get("variables") or {}
            if not isinstance(variables, dict):
                raise GraphQLError(
                    "Variables must be provided as an Object where each property is a variable value.",
                    "BAD_REQUEST",
                    400,
                )
            operation = self._pick(
                _Parser(request["query"]).document(), request.get("operationName"), self.queries
            )
            variables = {**operation.defaults, **variables}
            if operation.kind == "query":
                return 200, {"data": {s.key: self._find(s, variables) for s in operation.selections}}, 0
            plan = [self._plan(sel, variables) for sel in operation.selections]
        except GraphQLError as exc:
            return exc.status, {"errors": [exc.entry()]}, 0
        data: dict = {}
        errors = []
        for sel, obj, many, rows, upsert in plan:
            try:
                if many == "delete":
                    deleted = self.records.delete_many(obj, rows)
                    data[sel.key] = [self._project(obj, r, sel.selections or []) for r in deleted]
                    continue
                written = self.records.create_many(obj, rows, upsert=upsert)
            except ApiError as exc:
                code = _CODES.get(exc.status, "INTERNAL_SERVER_ERROR")
                entry = GraphQLError(exc.message, code).entry([sel.key])
                if getattr(exc, "user_friendly", None):  # the ORM's exceptions carry one (connect, …)
                    entry["extensions"] = {"userFriendlyMessage": exc.user_friendly, **entry["extensions"]}
                errors.append(entry)
                data[sel.key] = None
                continue
            if many:
                written = written[: self.answer_max]  # all were written; the answer lists only the first ones
            shaped = [self._project(obj, r, sel.selections or []) for r in written]
            data[sel.key] = shaped if many else shaped[0]
        answer = {"errors": errors, "data": data} if errors else {"data": data}
        return 200, answer, sum(len(rows) for _, _, many, rows, _ in plan if many != "delete")

    @staticmethod
    def _pick(operations: list[Operation], name, queries: bool = False) -> Operation:
        if name:
            for op in operations:
                if op.name == name:
                    break
            else:
                raise GraphQLError(f'Unknown operation named "{name}".')
        elif len(operations) > 1:
            raise GraphQLError("Must provide operation name if query contains multiple operations.")
        else:
            op = operations[0]
        if op.kind != "mutation" and not (queries and op.kind == "query"):
            raise GraphQLError(
                "The emulator's /graphql serves only the mutations create<Plural>(data, upsert), "
                "create<Singular>(data, upsert) and delete<Plural>(filter), and the record queries "
                "<plural>(filter, first, after)."
            )
        return op

    def _plan(self, sel: Selection, variables: dict):
        """Check one root field before anything is written: (selection, object, many, rows, upsert); for a
        delete, (selection, object, "delete", filter, None)."""
        if sel.name.startswith("delete"):
            return self._plan_delete(sel, variables)
        obj, many = self._resolve(sel.name)
        type_name = _cap(obj.nameSingular)
        for arg in sel.arguments:
            if arg not in ("data", "upsert"):
                raise GraphQLError(f'Unknown argument "{arg}" on field "Mutation.{sel.name}".')
        if "data" not in sel.arguments:
            input_type = f"[{type_name}CreateInput!]!" if many else f"{type_name}CreateInput!"
            raise GraphQLError(
                f'Field "{sel.name}" argument "data" of type "{input_type}" is required, but it was not provided.'
            )
        data = _substitute(sel.arguments["data"], variables)
        upsert = _substitute(sel.arguments.get("upsert"), variables)
        if upsert is not None and not isinstance(upsert, bool):
            raise GraphQLError(
                f"Boolean cannot represent a non boolean value: {json.dumps(upsert)}", "BAD_USER_INPUT"
            )
        if many:
            rows = data if isinstance(data, list) else [data]  # GraphQL coerces one value into a list of one
        else:
            rows = [data]
        if any(not isinstance(r, dict) for r in rows):
            raise GraphQLError(f'Expected type "{type_name}CreateInput" to be an object.', "BAD_USER_INPUT")
        if not sel.selections:
            shape = f"[{type_name}]" if many else type_name
            raise GraphQLError(
                f'Field "{sel.name}" of type "{shape}" must have a selection of subfields. '
                f'Did you mean "{sel.name} {{ ... }}"?'
            )
        self._check_selection(obj, sel.selections)
        return sel, obj, many, rows, bool(upsert)

    def _find(self, sel: Selection, variables: dict) -> dict:
        """<plural>(filter, first, after) { edges { node { ... } } pageInfo { hasNextPage endCursor } }: the live
        records the filter matches, in stored order, at most answer_max a page (QUERY_MAX_RECORDS); the cursor
        is the last record's id (opaque to clients)."""
        from .graphql_filter import FilterError, check, matches

        obj = next((o for o in self.workspace.objects.values() if o.namePlural == sel.name), None)
        if obj is None:
            raise GraphQLError(f'Cannot query field "{sel.name}" on type "Query".')
        for arg in sel.arguments:
            if arg not in ("filter", "first", "after"):
                raise GraphQLError(f'Unknown argument "{arg}" on field "Query.{sel.name}".')
        where = _substitute(sel.arguments.get("filter"), variables) or {}
        try:
            check(obj, where)
        except FilterError as exc:
            raise GraphQLError(str(exc), "BAD_USER_INPUT") from None
        first = _substitute(sel.arguments.get("first"), variables)
        size = min(first if isinstance(first, int) and first > 0 else 60, self.answer_max)
        after = _substitute(sel.arguments.get("after"), variables)
        edges_sel = next((s for s in sel.selections or [] if s.name == "edges"), None)
        node_sel = next(
            (s for s in (edges_sel.selections if edges_sel else None) or [] if s.name == "node"), None
        )
        self._check_selection(obj, node_sel.selections if node_sel and node_sel.selections else [])
        hits = []
        for text in self.records.store.all_records(obj):
            record = json.loads(text)
            if record.get("deletedAt") is None and matches(record, where, obj):
                hits.append(record)
        start = 0
        if isinstance(after, str):
            start = next((n + 1 for n, r in enumerate(hits) if r.get("id") == after), len(hits))
        page = hits[start : start + size]
        more = start + size < len(hits)
        out: dict = {}
        for part in sel.selections or []:
            if part.name == "edges":
                out[part.key] = [
                    {"node": self._project(obj, r, node_sel.selections or [])} if node_sel else {}
                    for r in page
                ]
            elif part.name == "pageInfo":
                info = {"hasNextPage": more, "endCursor": page[-1]["id"] if page else None}
                out[part.key] = {s.key: info.get(s.name) for s in part.selections or []}
            elif part.name == "totalCount":
                out[part.key] = len(hits)
        return out

    def _plan_delete(self, sel: Selection, variables: dict):
        """delete<Plural>(filter: <Singular>FilterInput!): upstream refuses a missing filter ('Filter is
        required') and ids that are not UUIDs in filter.id.in (graphql-query-delete-many-resolver.service.ts
        validate)."""
        from .graphql_filter import FilterError, check

        wanted = sel.name[len("delete") :]
        obj = next((o for o in self.workspace.objects.values() if _cap(o.namePlural) == wanted), None)
        if obj is None:
            raise GraphQLError(f'Cannot query field "{sel.name}" on type "Mutation".')
        for arg in sel.arguments:
            if arg != "filter":
                raise GraphQLError(f'Unknown argument "{arg}" on field "Mutation.{sel.name}".')
        where = _substitute(sel.arguments.get("filter"), variables)
        if not where:
            raise GraphQLError("Filter is required", "BAD_USER_INPUT")
        try:
            check(obj, where)
        except FilterError as exc:
            raise GraphQLError(str(exc), "BAD_USER_INPUT") from None
        ids = (where.get("id") or {}).get("in") if isinstance(where.get("id"), dict) else None
        for value in ids or []:
            if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F-]{36}", value):
                raise GraphQLError(f"Invalid UUID format: {value}", "BAD_USER_INPUT")
        if not sel.selections:
            raise GraphQLError(
                f'Field "{sel.name}" of type "[{_cap(obj.nameSingular)}]" must have a selection of subfields. '
                f'Did you mean "{sel.name} {{ ... }}"?'
            )
        self._check_selection(obj, sel.selections)
        return sel, obj, "delete", where, None

    def _resolve(self, name: str) -> tuple[ObjectMeta, bool]:
        if not self.creates:
            raise GraphQLError(f'Cannot query field "{name}" on type "Mutation".')
        if name.startswith("create") and len(name) > len("create"):
            wanted = name[len("create") :]
            for obj in self.workspace.objects.values():
                if _cap(obj.namePlural) == wanted:
                    return obj, True
                if _cap(obj.nameSingular) == wanted:
                    return obj, False
        raise GraphQLError(f'Cannot query field "{name}" on type "Mutation".')

    def _check_selection(self, obj: ObjectMeta, selections: list[Selection]) -> None:
        type_name = _cap(obj.nameSingular)
        for sel in selections:
            if sel.name == "__typename":
                continue
            f = obj.fields.get(sel.name)
            if sel.name not in obj.record_keys and (f is None or f.relation is None):
                raise GraphQLError(f'Cannot query field "{sel.name}" on type "{type_name}".')
            subfields = COMPOSITE_SUBFIELDS.get(f.type) if f is not None else None
            if subfields and not sel.selections:
                raise GraphQLError(
                    f'Field "{sel.name}" of type "{f.type}" must have a selection of subfields. '
                    f'Did you mean "{sel.name} {{ ... }}"?'
                )
            for sub in (sel.selections or []) if subfields else []:
                if sub.name not in subfields and sub.name != "__typename":
                    raise GraphQLError(f'Cannot query field "{sub.name}" on type "{f.type}".')

    def _project(self, obj: ObjectMeta, record: dict, selections: list[Selection]) -> dict:
        out: dict = {}
        for sel in selections:
            if sel.name == "__typename":
                out[sel.key] = _cap(obj.nameSingular)
                continue
            value = record.get(sel.name)  # a relation field reads as null: the emulator does not nest records
            if sel.selections and isinstance(value, dict):
                value = {s.key: value.get(s.name) for s in sel.selections if s.name != "__typename"}
            out[sel.key] = value
        return out
