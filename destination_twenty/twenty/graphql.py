"""The GraphQL the connector sends, and how it reads the answers: the metadata API's relation targets (the v2
line's REST listing lacks them) and the batch upsert of servers whose REST batch ignores `?upsert=true`.
Errors in an answer are read by classify.py, and sent and retried like every call by transport.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Only what the connector reads: each relation field's target (a MORPH_RELATION lists its group's targets).
_TARGET = "type targetObjectMetadata { nameSingular namePlural }"
RELATIONS_QUERY = (
    "query ConnectorRelationTargets($after: ConnectionCursor) { objects(paging: {first: 1000, after: $after}) "
    "{ pageInfo { hasNextPage endCursor } edges { node { nameSingular namePlural "
    "fields(paging: {first: 1000}) { edges { node { name type "
    f"relation {{ {_TARGET} }} morphRelations {{ {_TARGET} }} }} }} }} }} }} }} }}"
)


def relation_targets(data: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """One page of RELATIONS_QUERY's answer: its objects, each with its fields as a list, and the cursor of
    the next page (None on the last)."""
    objects: list[dict[str, Any]] = []
    connection = data.get("objects") if isinstance(data.get("objects"), dict) else {}
    for edge in connection.get("edges") or ():
        node = edge.get("node") if isinstance(edge, dict) else None
        if isinstance(node, dict):
            fields = node.get("fields") if isinstance(node.get("fields"), dict) else {}
            edges = fields.get("edges") or ()
            rows = [e["node"] for e in edges if isinstance(e, dict) and isinstance(e.get("node"), dict)]
            objects.append({**node, "fields": rows})
    page = connection.get("pageInfo") if isinstance(connection.get("pageInfo"), dict) else {}
    if not page.get("hasNextPage") or not page.get("endCursor"):
        return objects, None
    return objects, page["endCursor"]


def upsert_mutation(singular: str, plural: str, selection: Sequence[str]) -> tuple[str, str]:
    """The answer's field and the text of `create<Plural>(data: [...], upsert: true)`."""
    field = "create" + plural[:1].upper() + plural[1:]
    # Twenty names the input type after the object: PersonCreateInput (workspace GraphQL schema factory).
    kind = singular[:1].upper() + singular[1:] + "CreateInput"
    query = f"mutation Upsert($data: [{kind}!]!) {{ {field}(data: $data, upsert: true) {{ {' '.join(selection)} }} }}"
    return field, query


def find_query(plural: str, singular: str, selection: Sequence[str]) -> str:
    """`<plural>(filter, first, after)`: one page of the records a filter matches (graphql-query-find-many-
    resolver.service.ts), with the cursor of the next."""
    kind = singular[:1].upper() + singular[1:] + "FilterInput"  # named after the object, as for deletes
    return (
        f"query Find($filter: {kind}, $first: Int, $after: String) {{ {plural}(filter: $filter, first: $first, "
        f"after: $after) {{ edges {{ node {{ {' '.join(selection)} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )


def found_page(data: Mapping[str, Any], plural: str) -> tuple[list[dict[str, Any]], str | None]:
    """One page of find_query's answer: its records, and the cursor of the next page (None on the last)."""
    connection = data.get(plural) if isinstance(data.get(plural), dict) else {}
    rows = [
        e["node"]
        for e in connection.get("edges") or ()
        if isinstance(e, dict) and isinstance(e.get("node"), dict)
    ]
    page = connection.get("pageInfo") if isinstance(connection.get("pageInfo"), dict) else {}
    if not page.get("hasNextPage") or not page.get("endCursor"):
        return rows, None
    return rows, str(page["endCursor"])
