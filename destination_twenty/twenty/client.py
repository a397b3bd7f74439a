"""Twenty's API as the connector uses it: the REST and GraphQL calls it makes and what their answers hold.
Every call goes through one transport (transport.py), which paces, retries and classifies.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from destination_twenty.config import TwentyConfig
from destination_twenty.errors import AuthenticationError, DataError, TransientAPIError, TwentyAPIError
from destination_twenty.twenty.filters import by_keys
from destination_twenty.twenty.graphql import (
    RELATIONS_QUERY,
    find_query,
    found_page,
    relation_targets,
    upsert_mutation,
)
from destination_twenty.twenty.transport import Transport


class TwentyClient:
    """Twenty's API for the connector: shared by every thread of a sync. The keyword arguments are the
    transport's (transport.py): the timeouts of one attempt, the retry budget of one call, the pacing."""

    def __init__(self, config: TwentyConfig, **transport: Any):
        self.transport = Transport(config, **transport)
        self.pacer = self.transport.pacer
        self.stats = self.transport.stats
        self._graphql_finds: bool | None = (
            None  # None: not tried yet; False: the server has no GraphQL queries
        )

    def stop_retrying_when(self, event: threading.Event) -> None:
        """See Transport.stop_retrying_when: a stopping sync does not retry a throttled call."""
        self.transport.stop_retrying_when(event)

    def close(self) -> None:
        self.transport.close()

    # --- the calls the connector makes -------------------------------------------------------------------

    def metadata_objects(self) -> list[dict[str, Any]]:
        """Every object of the workspace with its fields (needs the API key's Data Model permission).

        `{"data": {"objects": [...]}}` on older servers, `{"data": [...], "pageInfo", "totalCount"}` on the v2
        line, which pages them (60 by default, by id: engine/api/rest/metadata/utils/paginate-by-id-cursor.util.ts).
        The first read sends no query string, as older servers refuse any; only a server that said it has more
        pages is asked for the next ones, 200 at a time."""
        body = self.transport.send("GET", "/metadata/objects")
        objects = _metadata_objects(body)
        for _page in range(100):  # bounded: 20,000 objects is far more than any workspace has
            page = body.get("pageInfo") if isinstance(body.get("pageInfo"), dict) else {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                break
            body = self.transport.send(
                "GET", "/metadata/objects", params={"limit": "200", "starting_after": str(page["endCursor"])}
            )
            objects.extend(_metadata_objects(body))
        return objects

    def metadata_relations(self) -> list[dict[str, Any]]:
        """Every object's fields with their relation targets, from the GraphQL metadata API (`POST /metadata`):
        the v2 line's REST listing gives relation fields only `settings`. One call for up to 1,000 objects of
        1,000 fields each (the API's largest page: ObjectMetadataDTO and FieldMetadataDTO's QueryOptions)."""
        objects: list[dict[str, Any]] = []
        after = None
        for _page in range(20):  # bounded
            page, after = relation_targets(self.graphql("/metadata", RELATIONS_QUERY, {"after": after}))
            objects.extend(page)
            if after is None:
                break
        return objects

    def probe(self, plural: str) -> None:
        """Read one record: proves the key can read the object."""
        self.transport.send("GET", f"/{plural}", params={"limit": "1"})

    def find(self, plural: str, filter_expression: str | None) -> list[dict[str, Any]]:
        """Records matching a REST filter (None: all of them; soft-deleted ones excluded), every page."""
        rows: list[dict[str, Any]] = []
        params = (
            {"limit": "200"} if filter_expression is None else {"filter": filter_expression, "limit": "200"}
        )
        for _page in range(1000):  # bounded: 200,000 records is far more than any lookup of ours
            body = self.transport.send("GET", f"/{plural}", params=params)
            rows.extend(row for row in _list_payload(body, plural) if isinstance(row, dict))
            page = body.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                break
            params = {**params, "starting_after": str(page["endCursor"])}
        return rows

    def find_all_if_at_most(self, plural: str, at_most: int) -> list[dict[str, Any]] | None:
        """Every record of the object (soft-deleted ones excluded) if it holds at most `at_most`, else None:
        the first page's `totalCount` decides, so a large object costs one call."""
        params = {"limit": "200"}
        rows: list[dict[str, Any]] = []
        for _page in range(at_most // 200 + 2):  # bounded by at_most
            body = self.transport.send("GET", f"/{plural}", params=params)
            total = body.get("totalCount")
            if not isinstance(total, int) or isinstance(total, bool) or total > at_most:
                return None
            rows.extend(row for row in _list_payload(body, plural) if isinstance(row, dict))
            page = body.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                return rows
            params = {**params, "starting_after": str(page["endCursor"])}
        return None

    def find_where(
        self, plural: str, singular: str, where: Mapping[str, Any], selection: Sequence[str]
    ) -> list[dict[str, Any]] | None:
        """Records matching a GraphQL filter, every page, in one POST /graphql per 200: a read whose keys no
        safe URL can hold (filters.py MAX_FILTER_CHARS), at the cost of one throttler token as a GET.

        None when the server answers no GraphQL record queries (a 404, a proxy forwarding only /rest, a
        schema refusing the query): remembered for the sync, so callers read with GETs from then on. A 429, a
        5xx or a timeout is retried and raised as for every call, never taken for a "no"."""
        if self._graphql_finds is False:
            return None
        query = find_query(plural, singular, selection)
        rows: list[dict[str, Any]] = []
        after = None
        try:
            for _page in range(1000):  # bounded, as find
                data = self.graphql("/graphql", query, {"filter": dict(where), "first": 200, "after": after})
                page, after = found_page(data, plural)
                rows.extend(page)
                if after is None:
                    break
        except (TransientAPIError, AuthenticationError):
            raise
        except TwentyAPIError:  # Twenty's verdict on the route or the query: read with GETs
            # Several batches may ask at once before the first answer: each "no" before any "yes" is a "no".
            if self._graphql_finds is not True and not rows:
                self._graphql_finds = False
                return None
            raise
        self._graphql_finds = True
        return rows

    def records_by_id(self, plural: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored records among `ids`, by id. One filtered read per 200 ids."""
        found: dict[str, dict[str, Any]] = {}
        for expression in by_keys("id", ids, 200):
            for row in self.find(plural, expression):
                if isinstance(row.get("id"), str):
                    found[row["id"]] = row
        return found

    def create_many(
        self,
        plural: str,
        records: Sequence[Mapping[str, Any]],
        upsert: bool,
        attempts: dict[str, float] | None = None,
    ) -> list[dict[str, Any]]:
        """POST /rest/batch/{plural}[?upsert=true]: the stored records (updates first, then inserts).

        `attempts`, when given, receives how many attempts the call took and the seconds from the first to the
        last: an answer lost after the commit makes the retry meet records the first attempt created."""
        params = {"upsert": "true"} if upsert else None
        body = self.transport.send(
            "POST", f"/batch/{plural}", params=params, payload=list(records), attempts=attempts
        )
        data = body.get("data")
        rows = next(iter(data.values()), None) if isinstance(data, dict) and data else None
        if not isinstance(rows, list):
            raise TwentyAPIError("Twenty's answer to a batch write has no list of records.")
        return rows

    def batch_upsert_over_rest(self, plural: str) -> bool:
        """Does REST batch create take `?upsert=true`? An empty batch writes nothing and tells them apart: the
        create-many handler that reads the flag (common query runner, Twenty ≥ late 2025) answers 201 with an
        empty list; the older handler (v1.3 line, rest-api-create-many.handler.ts) refuses an empty input."""
        try:
            self.transport.send("POST", f"/batch/{plural}", params={"upsert": "true"}, payload=[])
        except DataError as exc:
            if "must not be empty" in exc.message.lower():
                return False
            raise
        return True

    def graphql_upsert_works(self, singular: str, plural: str) -> bool:
        """Does `/graphql` serve create<Plural>(data, upsert)? An empty list writes nothing.

        Only Twenty's own answer says no: a GraphQL error or Twenty's JSON error body (a 404 from a server without
        /graphql). A 429, a 5xx, a proxy's page or a timeout says nothing about the server's abilities: it is
        retried within the budget and then raised as the TransientAPIError it is, never taken for a "no"."""
        try:
            self.graphql_create_many(singular, plural, [], ["id"])
        except TransientAPIError:
            raise
        except AuthenticationError:
            raise
        except TwentyAPIError:  # DataError included: Twenty's verdict on the mutation or the route
            return False
        return True

    def graphql_create_many(
        self, singular: str, plural: str, records: Sequence[Mapping[str, Any]], selection: Sequence[str]
    ) -> list[dict[str, Any]]:
        """`create<Plural>(data: [...], upsert: true)` over GraphQL: the batch upsert of servers whose REST batch
        ignores `?upsert=true`. Same matching, one atomic batch, errors as DataError for the batch splitter."""
        field, query = upsert_mutation(singular, plural, selection)
        rows = self.graphql("/graphql", query, {"data": list(records)}).get(field)
        if not isinstance(rows, list):
            raise TwentyAPIError("Twenty's answer to a GraphQL batch upsert has no list of records.")
        return rows

    def graphql_delete_many(
        self, singular: str, plural: str, where: Mapping[str, Any], selection: Sequence[str]
    ) -> list[dict[str, Any]]:
        """`delete<Plural>(filter: …)` over GraphQL: soft-deletes every record the filter matches in one call
        and returns them (graphql-query-delete-many-resolver.service.ts: softDelete().returning('*')). REST
        deletes one record per call, and on the v1.3 line its DELETE destroys whatever soft_delete says."""
        field = "delete" + plural[:1].upper() + plural[1:]
        # The filter input type is named after the object: PersonFilterInput (workspace GraphQL schema factory).
        kind = singular[:1].upper() + singular[1:] + "FilterInput"
        query = (
            f"mutation Delete($filter: {kind}!) {{ {field}(filter: $filter) {{ {' '.join(selection)} }} }}"
        )
        rows = self.graphql("/graphql", query, {"filter": dict(where)}).get(field)
        if not isinstance(rows, list):
            raise TwentyAPIError("Twenty's answer to a GraphQL batch delete has no list of records.")
        return rows

    def graphql(self, path: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """One GraphQL operation on `/graphql` (records) or `/metadata` (the data model): its `data`. A rate
        limit (a 200 with an error) is retried within the call's budget; errors are DataError (or
        AuthenticationError)."""
        payload = {"query": query, "variables": dict(variables)}
        data = self.transport.send("POST", path, payload=payload, root=True, graphql=True).get("data")
        return data if isinstance(data, dict) else {}


def _metadata_objects(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    objects = data.get("objects") if isinstance(data, dict) else data
    if not isinstance(objects, list):
        raise TwentyAPIError("Twenty's metadata answer has no list of objects.")
    return list(objects)


def _list_payload(body: Mapping[str, Any], plural: str) -> list[Any]:
    data = body.get("data")
    if isinstance(data, dict):
        rows = data.get(plural)
        if isinstance(rows, list):
            return rows
    return []
