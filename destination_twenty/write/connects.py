"""Links set inside the write itself: a many-to-one relation given as `{"connect": {"where": {<unique field>:
<key>}}}` is resolved by Twenty's ORM in one query per batch (twentyhq/twenty,
packages/twenty-server/src/engine/twenty-orm/relation-nested-queries/relation-nested-queries.ts), so a batch
linking to a target too large to read whole costs no lookup call.

Which servers take it: the ORM resolves nested connects for REST, REST batch and GraphQL writes alike; on the
v1.3 line GraphQL's create/update inputs only offer `connect` when the workspace flag IS_RELATION_CONNECT_ENABLED
is on (workspace-schema-builder/utils/generate-fields.util.ts, `isRelationConnectEnabled`), and the v2 line has no
such flag. Real v1.3 and v2 servers linked over REST, REST batch and GraphQL (conformance/recorded/). So the
connector never assumes it: each (object, relation) is probed once per sync (twenty/capabilities.py), and where
the probe says no, links are looked up as before (write/links.py).

A connect whose key matches nothing fails the whole call ("Expected 1 record to connect to company, but found 0
for domainNamePrimaryLinkUrl = …", 400 over REST, BAD_USER_INPUT over GraphQL) before anything is inserted. The
batch sender then sends that batch again the old way: one lookup for its keys, the record whose target is
missing rejected (or its link left unset, per if_not_found) and the rest written.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from destination_twenty.mapping.relations import Lookup
from destination_twenty.twenty.capabilities import CONNECT_MISSING, connect_works
from destination_twenty.write.items import Item


def where(path: str, key: str) -> dict[str, Any]:
    """`domainName.primaryLinkUrl`, key → {"connect": {"where": {"domainName": {"primaryLinkUrl": key}}}}."""
    value: Any = key
    for part in reversed(path.split(".")):
        value = {part: value}
    return {"connect": {"where": value}}


def is_connect(value: Any) -> bool:
    return isinstance(value, dict) and "connect" in value


class Connects:
    """Whether the server links a relation by connect, found once per (object, relation, field) and shared by
    the pool threads; while one thread probes, the others wait (four batches starting together probe once)."""

    def __init__(self, client: Any, enabled: bool = True):
        self.client = client
        self.enabled = enabled
        self._works: dict[tuple[str, str, str], bool] = {}
        self._lock = threading.Lock()

    def usable(self, plural: str, lookup: Lookup) -> bool:
        # Note/task targets are junction rows written after their note; a non-unique field cannot be
        # connected to (Twenty connects on unique fields only); a key by id is a join column already.
        if not self.enabled or lookup.is_target or not lookup.unique or lookup.path == "id":
            return False
        key = (plural, lookup.relation, lookup.path)
        with self._lock:
            if key not in self._works:
                self._works[key] = connect_works(self.client, plural, lookup.relation, lookup.path)
            return self._works[key]

    def refused(self, plural: str, lookups: Iterable[Lookup], message: str) -> None:
        """A batch with connects was refused. When the refusal is about connect itself and not a missing target
        (a path that refuses what the probe's path took: on the v1.3 line, GraphQL upserts without the workspace
        flag, while REST connects), links of the rest of this sync are looked up, not refused batch after batch."""
        if CONNECT_MISSING.search(message) or "connect" not in message.lower():
            return
        with self._lock:
            for lookup in lookups:
                self._works[(plural, lookup.relation, lookup.path)] = False

    def seen(self) -> dict[tuple[str, str, str], bool]:
        with self._lock:
            return dict(self._works)


def strip(items: Iterable[Item]) -> list[tuple[Item, Lookup, str]]:
    """Take the connects out of the items' payloads: the (item, lookup, key) that were sent as connects."""
    taken = []
    for item in items:
        for lookup, key in item.lookups:
            if is_connect(item.payload.get(lookup.relation)):
                del item.payload[lookup.relation]
                taken.append((item, lookup, key))
    return taken
