"""The workspace's data model as the connector needs it: the REST metadata listing, with relation targets filled
in from the GraphQL metadata API where the listing leaves them out.

Servers before the v2 line give each relation field a `relation` naming its target object; the v2 line's REST
listing gives only `settings` (`relationType`, `joinColumnName`) and its GraphQL metadata API (`POST /metadata`)
names the targets. Every call counts against the rate limit there, so the GraphQL read happens once, and only
when the mapping (or discover) needs a target the listing did not give.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from destination_twenty.errors import AuthenticationError, TwentyAPIError
from destination_twenty.mapping.schema import ObjectSchema, with_relation_targets
from destination_twenty.twenty.client import TwentyClient


@dataclass
class Workspace:
    objects: list[dict[str, Any]]
    # Where relation targets came from: "rest" (the listing named them all), "graphql" (read from /metadata),
    # None (some are unknown: not needed by this mapping, or the GraphQL read failed; see notes).
    targets_from: str | None
    notes: list[str] = field(default_factory=list)


def read_workspace(
    client: TwentyClient, wanted: Callable[[Sequence[dict[str, Any]]], bool] | None = None
) -> Workspace:
    """The metadata objects; `wanted(objects)` says whether relation targets the listing lacks are needed (None:
    whenever any is lacking, as discover describes every relation). Raises what `metadata_objects` raises."""
    objects = client.metadata_objects()
    if not _lacks_targets(objects):
        return Workspace(objects, "rest")
    if wanted is not None and not wanted(objects):
        return Workspace(objects, None)
    try:
        described = client.metadata_relations()
    except (AuthenticationError, TwentyAPIError) as exc:
        # Links by key cannot be planned; check and write then say which mapped relation is at fault.
        note = f"Twenty's GraphQL metadata API could not be read, so relation targets are unknown: {exc}"
        return Workspace(objects, None, [note])
    return Workspace(with_relation_targets(objects, described), "graphql")


def _lacks_targets(objects: Sequence[dict[str, Any]]) -> bool:
    """Does any active relation field come without a target (the v2 line's settings-only fields)?"""
    for obj in objects:
        if isinstance(obj, dict) and obj.get("isActive", True) is not False:
            if ObjectSchema.from_metadata(obj).untargeted:
                return True
    return False
