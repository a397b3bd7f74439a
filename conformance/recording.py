"""The recordings' format, shared by the recorder (scripts/record_conformance.py) and the replay (emulator_tests/).

A case (conformance/README.md) is a request with optional setup steps, binds and placeholders. Recording one
against a server turns the server's answer back into a template: the run token becomes ``{RUN}``, bound ids
``{ID:label}``, other server ids ``{UUID}``, ``createdAt``/``updatedAt``/``deletedAt`` ``{TIMESTAMP}``, cursors
``{CURSOR}``, the API key's name ``{API_KEY_NAME}``. What a template hides and a writer depends on is kept beside
it: for every record that carries both ``createdAt`` and ``updatedAt``, whether they are equal (``timestamps``),
which is how an upsert's answer tells created from updated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "cases.jsonl"  # January 2026, upstream main e0d44920
EXTRA_CASES = HERE / "extra_cases.jsonl"  # what the connector depends on and the corpus lacks
RECORDED = HERE / "recorded"  # one file per server line: <line>.jsonl, a header line then one line per case

PLACEHOLDER = re.compile(
    r"\{(RUN|API_KEY|API_KEY_NAME|UUID|TIMESTAMP|SEARCH_VECTOR|CURSOR|ID:\w+|CURSOR:\w+)\}"
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP_KEYS = ("createdAt", "updatedAt", "deletedAt")
CURSOR_KEYS = ("startCursor", "endCursor")
# metadata listings keep only these objects, fields sorted by name (README "Notes on the data").
LISTED_OBJECTS = ("person", "company", "opportunity", "note", "task", "noteTarget", "taskTarget")
RELATION_TYPES = ("RELATION", "MORPH_RELATION")


def read_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_recording(path: Path) -> tuple[dict, list[dict]]:
    """The header (server line, version, commit, when) and the recorded cases."""
    lines = read_cases(path)
    assert lines and "recording" in lines[0], f"{path}: the first line must be the recording's header"
    return lines[0]["recording"], lines[1:]


def is_throttled(path: str, status: int, body: Any) -> bool:
    """A limiter's refusal on any line: 429, v1.3's metadata 400 "Too many requests.", a GraphQL limit error."""
    if status == 429:
        return True
    if status == 400 and isinstance(body, dict) and body.get("messages") == ["Too many requests."]:
        return True
    if path in ("/graphql", "/metadata") and isinstance(body, dict):
        for error in body.get("errors") or []:
            message = str(error.get("message", ""))
            code = (error.get("extensions") or {}).get("code")
            if "Limit reached" in message or code == "RATE_LIMITED" or "Too many requests" in message:
                return True
    return False


def dig(body: Any, dotted: str) -> Any:
    value = body
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


# ------------------------------------------------------------------------------------------- reductions
def _listed_objects(body: dict) -> list[dict] | None:
    """The objects of a REST metadata listing: {"data": {"objects": [...]}} (<= v1.x) or {"data": [...]} (v2)."""
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and isinstance(data.get("objects"), list):
        return data["objects"]
    if isinstance(data, list):
        return data
    return None


def _keep_field(field: dict, kept_names: set[str]) -> bool:
    relation = field.get("relation") or {}
    target = (relation.get("targetObjectMetadata") or {}).get("nameSingular")
    return not (field.get("isCustom") and target and target not in kept_names)


def reduce_metadata_listing(body: Any, relations_only: bool = False, types: tuple[str, ...] = ()) -> Any:
    """Keep what a recording keeps of a metadata listing: the listed objects, fields sorted by name.

    Other engineers' custom objects live on a shared server too; they are no part of any case. With
    ``relations_only``, only relation fields are kept (what the connector reads to make links).
    """
    objects = _listed_objects(body)
    if objects is None:
        return body
    kept_names = set(LISTED_OBJECTS) | {"pet"}
    kept = []
    by_name = {o.get("nameSingular"): o for o in objects}
    for name in LISTED_OBJECTS:
        if name not in by_name:
            continue
        o = dict(by_name[name])
        fields = [f for f in o.get("fields") or [] if _keep_field(f, kept_names)]
        if relations_only:
            fields = [f for f in fields if f.get("type") in RELATION_TYPES]
        if types:
            fields = [f for f in fields if str(f.get("type")).startswith(types)]
        o["fields"] = sorted(fields, key=lambda f: f["name"])
        kept.append(o)
    if isinstance(body["data"], dict):
        return {**body, "data": {**body["data"], "objects": kept}}
    return {**body, "data": kept, **({"totalCount": len(kept)} if "totalCount" in body else {})}


def reduce_graphql_metadata(body: Any) -> Any:
    """GraphQL ``objects { edges { node { nameSingular fields { edges { node … } } } } }``: the listed objects,
    their relation fields, sorted by name (the rest of a workspace is no part of a case)."""
    try:
        edges = body["data"]["objects"]["edges"]
    except (KeyError, TypeError):
        return body
    keep = {name: i for i, name in enumerate(LISTED_OBJECTS)}
    nodes = sorted(
        (e for e in edges if e["node"].get("nameSingular") in keep),
        key=lambda e: keep[e["node"]["nameSingular"]],
    )
    out = []
    for e in nodes:
        node = dict(e["node"])
        fields = node.get("fields")
        if isinstance(fields, dict) and isinstance(fields.get("edges"), list):
            fe = [f for f in fields["edges"] if f["node"].get("type") in RELATION_TYPES]
            fe = [f for f in fe if not _foreign_custom(f["node"], {*LISTED_OBJECTS, "pet"})]
            node["fields"] = {**fields, "edges": sorted(fe, key=lambda f: f["node"].get("name", ""))}
        out.append({**e, "node": node})
    objects = {**body["data"]["objects"], "edges": out}
    if "totalCount" in objects:
        objects["totalCount"] = len(out)
    if "pageInfo" in objects:
        objects["pageInfo"] = {k: v for k, v in objects["pageInfo"].items() if k == "hasNextPage"}
    return {**body, "data": {**body["data"], "objects": objects}}


def _foreign_custom(node: dict, kept: set[str]) -> bool:
    """A relation to an object outside the listed ones (attachments, timeline, others' custom objects): dropped,
    as the GraphQL listing does not say which fields are custom."""
    targets = set()
    relation = node.get("relation") or {}
    if relation.get("targetObjectMetadata"):
        targets.add(relation["targetObjectMetadata"].get("nameSingular"))
    for morph in node.get("morphRelations") or []:
        if morph.get("targetObjectMetadata"):
            targets.add(morph["targetObjectMetadata"].get("nameSingular"))
    return not targets & kept


REDUCTIONS = {
    "metadata_listing": reduce_metadata_listing,
    "metadata_relations": lambda body: reduce_metadata_listing(body, relations_only=True),
    "rich_text_fields": lambda body: reduce_metadata_listing(body, types=("RICH_TEXT",)),
    "graphql_metadata": reduce_graphql_metadata,
}


def reduce(case: dict, body: Any) -> Any:
    """Apply the case's reduction (named in its ``reduce`` key; the corpus's listing case by its name)."""
    name = case.get("reduce") or ("metadata_listing" if case["case"] == "metadata_objects_list" else None)
    return REDUCTIONS[name](body) if name else body


def timestamp_order(body: Any, where: str = "body") -> dict[str, str]:
    """For every object with both createdAt and updatedAt: "equal" or "differ" (created vs updated by upsert)."""
    out: dict[str, str] = {}
    if isinstance(body, dict):
        if isinstance(body.get("createdAt"), str) and isinstance(body.get("updatedAt"), str):
            out[where] = "equal" if body["createdAt"] == body["updatedAt"] else "differ"
        for k, v in body.items():
            out.update(timestamp_order(v, f"{where}.{k}"))
    elif isinstance(body, list):
        for i, v in enumerate(body):
            out.update(timestamp_order(v, f"{where}[{i}]"))
    return out
