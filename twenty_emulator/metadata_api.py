"""The v2 line's metadata APIs: the paged REST listing and the GraphQL metadata API (``POST /metadata``).

Files of the v2 snapshot (T3-Venture-Labs-Limited/myah-v4 at 88cf2a02, Twenty about v2.19), under
packages/twenty-server/src/engine/:
- api/rest/metadata/utils/paginate-by-id-cursor.util.ts: REST pages ordered by id descending, the cursors are
  plain ids, `starting_after` reads ids below the cursor, `ending_before` ids above it; `totalCount` counts all.
- api/rest/input-request-parsers/limit-parser-utils/parse-limit-rest-request.util.ts: `limit` defaults to 60
  and is capped at 200 (twenty-shared QUERY_DEFAULT_LIMIT_RECORDS / QUERY_MAX_RECORDS).
- metadata-modules/field-metadata/field-metadata.resolver.ts and dtos/relation.dto.ts: a field's `relation`
  and `morphRelations` (RelationDTO: type, source/target object and field metadata).
- metadata-modules/object-metadata/dtos/object-metadata.dto.ts: `objects` and `fields` are cursor connections
  (nestjs-query), 10 per page unless `paging: {first}` says more, at most 1000.

The GraphQL side serves `query` operations over `objects` (paging) with selection sets, variables and aliases,
and nothing else of the metadata schema (no mutations, no filters: a validation error says so).
"""

from __future__ import annotations

import base64
import json

from .errors import ApiError, bad_request
from .graphql import GraphQLError, Operation, Selection, _Parser, _substitute
from .schema import ObjectMeta, Workspace

REST_DEFAULT_LIMIT = 60
REST_MAX_LIMIT = 200
GRAPHQL_DEFAULT_PAGE = 10
GRAPHQL_MAX_PAGE = 1000


def paged_by_id(items: list[dict], query: dict) -> dict:
    """One page of a metadata listing as paginateByIdCursor answers it."""
    raw_limit = query.get("limit")
    limit = REST_DEFAULT_LIMIT
    if raw_limit:
        try:
            limit = float(raw_limit)
        except ValueError:
            limit = float("nan")
        if limit != limit or limit < 0:  # as seen: a RestInputRequestParserException, error "Error"
            raise ApiError(
                400,
                "Error",
                f"limit '{raw_limit}' is invalid. Should be an integer",
                extra={"code": "INVALID_LIMIT_QUERY_PARAM"},
            )
        limit = int(min(limit, REST_MAX_LIMIT))
    after, before = query.get("starting_after"), query.get("ending_before")
    if after and before:
        raise bad_request("'starting_after' and 'ending_before' cannot be used together.")
    if before:
        rows = sorted((i for i in items if i["id"] > before), key=lambda i: i["id"])[:limit]
        rows.reverse()
        more = len([i for i in items if i["id"] > before]) > limit
    else:
        ordered = sorted(
            (i for i in items if not after or i["id"] < after), key=lambda i: i["id"], reverse=True
        )
        rows, more = ordered[:limit], len(ordered) > limit
    page_info = {
        "hasNextPage": more,
        "startCursor": rows[0]["id"] if rows else None,
        "endCursor": rows[-1]["id"] if rows else None,
    }
    return {"data": rows, "pageInfo": page_info, "totalCount": len(items)}


def _cursor(index: int) -> str:
    return base64.b64encode(f"arrayconnection:{index}".encode()).decode()


def _offset(cursor) -> int:
    try:
        text = base64.b64decode(str(cursor), validate=True).decode()
        prefix, _, number = text.partition(":")
        if prefix == "arrayconnection":
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise GraphQLError("Invalid cursor", "BAD_USER_INPUT")


class MetadataGraphQL:
    """``POST /metadata``: reads of the data model, answered as the GraphQL metadata API does."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace

    def execute(self, raw: bytes) -> tuple[int, dict]:
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"errors": [GraphQLError("POST body sent invalid JSON.", "BAD_REQUEST").entry()]}
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
            operation = self._pick(_Parser(request["query"]).document(), request.get("operationName"))
            variables = {**operation.defaults, **variables}
            data = {sel.key: self._root(sel, variables) for sel in operation.selections}
        except GraphQLError as exc:
            if exc.code == "GRAPHQL_VALIDATION_FAILED":
                # As seen on the v2 server: a validation error carries its message (and locations, not
                # modelled), no extensions and no data.
                return exc.status, {"errors": [{"message": exc.message}]}
            return exc.status, {"errors": [exc.entry()]}
        return 200, {"data": data}

    @staticmethod
    def _pick(operations: list[Operation], name) -> Operation:
        chosen = [op for op in operations if not name or op.name == name]
        if name and not chosen:
            raise GraphQLError(f'Unknown operation named "{name}".')
        if len(chosen) > 1:
            raise GraphQLError("Must provide operation name if query contains multiple operations.")
        if chosen[0].kind != "query":
            raise GraphQLError("The emulator's /metadata serves only queries of objects and their fields.")
        return chosen[0]

    def _root(self, sel: Selection, variables: dict):
        if sel.name == "__typename":
            return "Query"
        if sel.name != "objects":
            raise GraphQLError(f'Cannot query field "{sel.name}" on type "Query".')
        ws = self.workspace
        objects = [o for o in ws.objects.values()]
        return self._connection(objects, sel, variables, "Object", self._object_node)

    def _connection(self, items: list, sel: Selection, variables: dict, kind: str, node) -> dict:
        args = _substitute(sel.arguments, variables)
        for arg in args:
            if arg != "paging":
                raise GraphQLError(
                    f'Unknown argument "{arg}" on field "{sel.name}": the emulator serves paging.'
                )
        paging = args.get("paging") or {}
        first = paging.get("first")
        first = GRAPHQL_DEFAULT_PAGE if first is None else min(int(first), GRAPHQL_MAX_PAGE)
        start = _offset(paging["after"]) + 1 if paging.get("after") else 0
        page = items[start : start + first]
        if not sel.selections:
            raise GraphQLError(f'Field "{sel.name}" must have a selection of subfields.')
        out: dict = {}
        for sub in sel.selections:
            if sub.name == "edges":
                out[sub.key] = [
                    self._project(
                        {"node": lambda s, item=item: node(item, s, variables), "cursor": _cursor(start + i)},
                        sub.selections,
                        f"{kind}Edge",
                    )
                    for i, item in enumerate(page)
                ]
            elif sub.name == "pageInfo":
                info = {
                    "hasNextPage": start + first < len(items),
                    "hasPreviousPage": start > 0,
                    "startCursor": _cursor(start) if page else None,
                    "endCursor": _cursor(start + len(page) - 1) if page else None,
                }
                out[sub.key] = self._project(info, sub.selections, "PageInfo")
            elif sub.name == "__typename":
                out[sub.key] = f"{kind}Connection"
            else:
                raise GraphQLError(f'Cannot query field "{sub.name}" on type "{kind}Connection".')
        return out

    def _object_node(self, obj: ObjectMeta, sel: Selection, variables: dict) -> dict:
        ws = self.workspace
        api = {k: v for k, v in ws.object_to_api(obj).items() if k != "fields"}
        fields = sorted(obj.fields.values(), key=lambda f: f.name)
        api["fields"] = lambda s: self._connection(
            fields, s, variables, "Field", lambda f, fs, _v: self._field_node(obj, f, fs)
        )
        return self._project(api, sel.selections, "Object")

    def _field_node(self, obj: ObjectMeta, f, sel: Selection) -> dict:
        ws = self.workspace
        api = ws.field_to_api(obj, f)
        api["relation"] = ws.relation_to_api(obj, f)
        api["morphRelations"] = ws.morph_relations_to_api(obj, f)
        return self._project(api, sel.selections, "Field")

    def _project(self, value: dict, selections: list[Selection] | None, kind: str):
        if not selections:
            raise GraphQLError(f'Field of type "{kind}" must have a selection of subfields.')
        out: dict = {}
        for sel in selections:
            if sel.name == "__typename":
                out[sel.key] = kind
                continue
            if sel.name not in value:
                raise GraphQLError(f'Cannot query field "{sel.name}" on type "{kind}".')
            item = value[sel.name]
            if callable(item):
                out[sel.key] = item(sel)
            elif isinstance(item, dict) and sel.selections:
                out[sel.key] = self._project(item, sel.selections, kind)
            elif isinstance(item, list) and sel.selections:
                out[sel.key] = [self._project(i, sel.selections, kind) for i in item]
            elif isinstance(item, (dict, list)) and not sel.selections and kind != "Field":
                raise GraphQLError(f'Field "{sel.name}" must have a selection of subfields.')
            else:
                out[sel.key] = item
        return out
