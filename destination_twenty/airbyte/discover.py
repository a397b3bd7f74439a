"""`destination-twenty discover`: what this workspace can receive, as an Airbyte DESTINATION_CATALOG (protocol
0.16+; the CDK has no destination discover, so the message is built here as plain JSON).

One operation per active, non-system object and sync mode (append, append_dedup, update, soft_delete: what write
accepts, activation.py): its writable fields as JSON schema (composite sub-fields as nested objects, select options
as enums, MANY_TO_ONE relations as their join column and their lookup paths), and, but on append, its matching
keys: lists of top-level field names, as the platform puts them in a stream's primary_key (id, and each unique
field: emails, domainName; a composite field is matched on its primary sub-field). PyAirbyte users and people
writing a column mapping read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from destination_twenty.airbyte import protocol
from destination_twenty.mapping.schema import COMPOSITE_SUBFIELDS, ObjectSchema, find_object

# What the connector writes; overwrite would delete every record a sync does not send, which it never does.
SYNC_MODES = ("append", "append_dedup", "update", "soft_delete")

_SCALAR: dict[str, dict[str, Any]] = {
    "TEXT": {"type": "string"},
    "NUMBER": {"type": "number"},
    "NUMERIC": {"type": "number"},
    "POSITION": {"type": "number"},
    "BOOLEAN": {"type": "boolean"},
    "DATE": {"type": "string", "format": "date"},
    "DATE_TIME": {"type": "string", "format": "date-time"},
    "UUID": {"type": "string", "format": "uuid"},
    "RAW_JSON": {},
    "ARRAY": {"type": "array"},
}
_SUBFIELD: dict[str, dict[str, Any]] = {
    "amountMicros": {"type": "number", "description": "in currency units; sent as micros (× 1,000,000)"},
    "additionalEmails": {"type": "array", "items": {"type": "string"}},
    "secondaryLinks": {"type": "array"},
    "additionalPhones": {"type": "array"},
    "addressLat": {"type": "number"},
    "addressLng": {"type": "number"},
}


def destination_catalog(objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The DESTINATION_CATALOG message for the workspace described by the metadata API's objects."""
    operations = []
    for raw in objects:
        if not isinstance(raw, Mapping) or raw.get("isActive", True) is False or raw.get("isSystem") is True:
            continue
        plural = raw.get("namePlural")
        schema = find_object(objects, plural) if isinstance(plural, str) else None
        if schema is None:
            continue
        json_schema = _object_schema(schema, objects)
        keys = [[path.split(".")[0]] for path in schema.unique_paths]
        for mode in SYNC_MODES:
            operation: dict[str, Any] = {"object_name": plural, "sync_mode": mode, "json_schema": json_schema}
            if mode != "append":
                operation["matching_keys"] = keys
            operations.append(operation)
    return protocol.destination_catalog(operations)


def _object_schema(schema: ObjectSchema, objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name in sorted(schema.fields):
        info = schema.writable(name)
        if info is None:
            continue
        properties[name] = _field_schema(info.type, info.options)
    joins = schema.join_columns
    for name in schema.untargeted:  # the server did not say what it points to: only a raw id can be mapped
        properties[joins[name]] = {"type": "string", "format": "uuid", "description": f"id for {name}"}
    for name, (target, _) in schema.many_to_one.items():
        properties[joins[name]] = {"type": "string", "format": "uuid", "description": f"id of a {target}"}
        target_schema = find_object(objects, target)
        lookup: dict[str, Any] = {"id": {"type": "string", "format": "uuid"}}
        for path in target_schema.unique_paths if target_schema else ():
            head, _, sub = path.partition(".")
            if sub:
                lookup[head] = {"type": "object", "properties": {sub: {"type": "string"}}}
        if target_schema is not None and target_schema.writable("name") is not None:
            lookup.setdefault("name", {"type": "string"})
        properties[name] = {
            "type": "object",
            "description": f"a {target} looked up by one of these fields, e.g. {name}.{_example(target_schema)}",
            "properties": lookup,
        }
    return {"type": "object", "additionalProperties": False, "properties": properties}


def _field_schema(kind: str, options: Sequence[str]) -> dict[str, Any]:
    if kind in ("SELECT", "RATING"):
        return {"type": "string", "enum": list(options)} if options else {"type": "string"}
    if kind == "MULTI_SELECT":
        items = {"type": "string", "enum": list(options)} if options else {"type": "string"}
        return {"type": "array", "items": items}
    if kind in COMPOSITE_SUBFIELDS:
        return {
            "type": "object",
            "properties": {sub: _SUBFIELD.get(sub, {"type": "string"}) for sub in COMPOSITE_SUBFIELDS[kind]},
        }
    return dict(_SCALAR.get(kind, {}))


def _example(schema: ObjectSchema | None) -> str:
    paths = [p for p in (schema.unique_paths if schema else ()) if p != "id"]
    return paths[0] if paths else "id"
