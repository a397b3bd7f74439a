"""Airbyte's data-activation catalog (protocol 0.16+, platform 1.8+): a configured stream may carry
`destination_object_name`, the Twenty object it writes (overriding the config's route for that stream); its
`destination_sync_mode` is the operation and its `primary_key` the matching key, in Twenty's field names, each
a top-level field (several make one composite key). Records arrive already renamed to Twenty's field names by
the platform's mappers, so they are written with the identity mapping, coerced by Twenty's field types.

Without `destination_object_name`, update and soft_delete still pick the operation of the stream's route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from destination_twenty.config import CUSTOM_OBJECT_RE, STANDARD_OBJECTS, Route, TwentyConfig, route_for
from destination_twenty.errors import ConfigError
from destination_twenty.write.streams import stream_key

# destination_sync_mode → operation (discover offers these four per object)
OPERATION_OF = {"append": "create", "append_dedup": "upsert", "update": "update", "soft_delete": "delete"}


def stream_routes(config: TwentyConfig, catalog: Mapping[str, Any]) -> dict[str, Route]:
    """The routes the catalog itself sets, by stream key (namespace.name): data-activation streams, and streams
    whose sync mode is update or soft_delete."""
    routes: dict[str, Route] = {}
    for i, configured in enumerate(catalog["streams"]):
        stream = configured["stream"]
        name, namespace = stream["name"], stream.get("namespace")
        key = stream_key(name, namespace)
        sync_mode = configured.get("destination_sync_mode")
        object_name = configured.get("destination_object_name")
        if object_name is not None:
            routes[key] = _activation_route(i, name, namespace, object_name, sync_mode, configured)
        elif sync_mode in ("update", "soft_delete"):
            base = route_for(config, name, namespace)
            if base is not None:
                routes[key] = replace(base, operation=OPERATION_OF[sync_mode])
    return routes


def _activation_route(
    index: int,
    name: str,
    namespace: str | None,
    object_name: Any,
    sync_mode: Any,
    configured: Mapping[str, Any],
) -> Route:
    where = f"Stream '{name}' (streams[{index}] of the configured catalog)"
    if not isinstance(object_name, str) or not CUSTOM_OBJECT_RE.fullmatch(object_name):
        raise ConfigError(
            f"{where}: destination_object_name must be a Twenty object's plural API name such as people or "
            f"myCustomObjects; got {object_name!r}."
        )
    if sync_mode not in OPERATION_OF:
        raise ConfigError(
            f"{where}: Twenty objects take the sync modes {', '.join(OPERATION_OF)}; got {sync_mode!r}."
        )
    key = []
    for path in configured.get("primary_key") or []:
        if len(path) != 1:
            raise ConfigError(
                f"{where}: a matching key names top-level Twenty fields (such as emails or name), one per entry; "
                f"got {path!r}."
            )
        key.append(path[0])
    if sync_mode in ("update", "soft_delete") and not key:
        raise ConfigError(
            f"{where}: {sync_mode} needs a matching key (the stream's primary_key, in Twenty names)."
        )
    standard = object_name in STANDARD_OBJECTS
    return Route(
        stream=name,
        namespace=namespace,
        mode=object_name if standard else "custom",
        custom_object=None if standard else object_name,
        operation=OPERATION_OF[sync_mode],
        matching_key=tuple(key),
        renamed=True,
    )
