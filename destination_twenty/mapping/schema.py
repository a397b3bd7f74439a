"""What one Twenty object accepts, read from the metadata API (`GET /rest/metadata/objects`)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Sub-field API names per composite type (reference §7.2). Twenty ≥1.20 reports RICH_TEXT_V2 as RICH_TEXT.
COMPOSITE_SUBFIELDS: dict[str, tuple[str, ...]] = {
    "FULL_NAME": ("firstName", "lastName"),
    "EMAILS": ("primaryEmail", "additionalEmails"),
    "LINKS": ("primaryLinkLabel", "primaryLinkUrl", "secondaryLinks"),
    "PHONES": (
        "primaryPhoneNumber",
        "primaryPhoneCountryCode",
        "primaryPhoneCallingCode",
        "additionalPhones",
    ),
    "CURRENCY": ("amountMicros", "currencyCode"),
    "ADDRESS": (
        "addressStreet1",
        "addressStreet2",
        "addressCity",
        "addressPostcode",
        "addressState",
        "addressCountry",
        "addressLat",
        "addressLng",
    ),
    "ACTOR": ("source", "workspaceMemberId", "name", "context"),
    "RICH_TEXT_V2": ("blocknote", "markdown"),
    "RICH_TEXT": ("blocknote", "markdown"),
}

# The sub-field Twenty matches upserts on, for a composite field marked unique.
_UNIQUE_SUBFIELD = {"EMAILS": "primaryEmail", "LINKS": "primaryLinkUrl", "PHONES": "primaryPhoneNumber"}
# The sub-field a plain value sent to a composite field stands for, when records arrive renamed to Twenty's
# field names (data activation): a matching key on `emails` compares emails.primaryEmail.
PRIMARY_SUBFIELD = {**_UNIQUE_SUBFIELD, "CURRENCY": "amountMicros"}
# Standard unique keys: the REST metadata does not expose isUnique (reference §9), so these are known by name.
_STANDARD_UNIQUE = {"person": ("emails.primaryEmail",), "company": ("domainName.primaryLinkUrl",)}
_SERVER_MANAGED = frozenset({"createdAt", "updatedAt", "deletedAt", "searchVector"})
_RELATION_TYPES = frozenset({"RELATION", "MORPH_RELATION"})


class UnknownField(KeyError):
    """A mapped field or sub-field the object does not have (or cannot be written); the message says which."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    nullable: bool = True
    options: tuple[str, ...] = ()  # SELECT / MULTI_SELECT option values, in metadata order
    relation_type: str | None = None
    target: tuple[str, str] | None = None  # a relation's target object: (plural, singular)
    join_column: str | None = None  # a MANY_TO_ONE relation's column: settings.joinColumnName, else <name>Id
    is_system: bool = False
    label: str = ""
    option_labels: tuple[str, ...] = ()  # labels parallel to `options`


class ObjectSchema:
    def __init__(
        self,
        name_singular: str,
        name_plural: str,
        fields: Mapping[str, FieldInfo],
        unique_fields: Iterable[str] = (),
    ):
        self.name_singular = name_singular
        self.name_plural = name_plural
        self.fields = dict(fields)
        self._writable: dict[str, FieldInfo] = {}
        self._not_writable: dict[str, str] = {}
        for info in self.fields.values():
            reason = _why_not_writable(info)
            if reason is None:
                self._writable[info.name] = info
            else:
                self._not_writable[info.name] = reason
            if info.type in _RELATION_TYPES and info.relation_type == "MANY_TO_ONE":
                join = info.join_column or f"{info.name}Id"
                # A workspace whose metadata lists the join column itself keeps that definition.
                if join not in self.fields:
                    self._writable[join] = FieldInfo(
                        name=join,
                        type="UUID",
                        nullable=info.nullable,
                        relation_type="MANY_TO_ONE",
                        is_system=info.is_system,
                        label=info.label,
                    )
        self.unique_paths = self._compute_unique_paths(unique_fields)

    @property
    def many_to_one(self) -> dict[str, tuple[str, str]]:
        """The MANY_TO_ONE relations whose target the metadata names: name → (target plural, singular)."""
        return {
            name: info.target
            for name, info in self.fields.items()
            if info.type in _RELATION_TYPES and info.relation_type == "MANY_TO_ONE" and info.target
        }

    @property
    def join_columns(self) -> dict[str, str]:
        """Every MANY_TO_ONE relation's join column, whether or not the metadata names its target."""
        return {
            name: info.join_column or f"{name}Id"
            for name, info in self.fields.items()
            if info.type in _RELATION_TYPES and info.relation_type == "MANY_TO_ONE"
        }

    @property
    def untargeted(self) -> list[str]:
        """MANY_TO_ONE relations whose target the metadata does not name (the v2 line's REST metadata)."""
        return [name for name in self.join_columns if name not in self.many_to_one]

    def __repr__(self) -> str:
        return f"ObjectSchema({self.name_singular!r}, {self.name_plural!r}, {len(self.fields)} fields)"

    @classmethod
    def from_metadata(cls, obj: Mapping[str, Any]) -> ObjectSchema:
        """Build from one entry of the metadata API's `data.objects` list (inactive fields are left out)."""
        fields: dict[str, FieldInfo] = {}
        unique: list[str] = []
        for raw in obj.get("fields") or ():
            if not isinstance(raw, Mapping) or raw.get("isActive") is False or not raw.get("name"):
                continue
            info = _field_from_metadata(raw)
            fields[info.name] = info
            if raw.get("isUnique") is True:
                unique.append(info.name)
        return cls(
            name_singular=str(obj.get("nameSingular") or ""),
            name_plural=str(obj.get("namePlural") or ""),
            fields=fields,
            unique_fields=unique,
        )

    def writable(self, name: str) -> FieldInfo | None:
        """The field a payload key may set (a MANY_TO_ONE join column `companyId` is a UUID), else None."""
        return self._writable.get(name)

    def resolve(self, path: str) -> tuple[FieldInfo, str | None]:
        """`name.firstName` → (FULL_NAME field, "firstName"); raise UnknownField naming the closest fields."""
        head, dot, sub = path.partition(".")
        info = self._writable.get(head)
        if info is None:
            if head in self._not_writable:
                raise UnknownField(
                    f'Field "{head}" of object {self.name_singular} cannot be written: {self._not_writable[head]}'
                )
            hint = self.closest(head)
            suffix = f"; closest: {', '.join(hint)}" if hint else ""
            raise UnknownField(f'Object {self.name_singular} has no field "{head}"{suffix}')
        if not dot:
            return info, None
        subfields = COMPOSITE_SUBFIELDS.get(info.type)
        if subfields is None:
            raise UnknownField(f'Field "{head}" ({info.type}) has no sub-fields; map to "{head}" itself')
        if sub not in subfields:
            raise UnknownField(
                f'Field "{head}" ({info.type}) has no sub-field "{sub}"; it has {", ".join(subfields)}'
            )
        return info, sub

    def closest(self, name: str, n: int = 3) -> list[str]:
        """Up to n writable field names nearest to `name` (case-insensitive), best first."""
        by_lower: dict[str, str] = {}
        for real in self._writable:
            by_lower.setdefault(real.lower(), real)
        # cutoff 0: a user who typed a wrong name is better served by real names than by nothing.
        matches = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.0)
        return [by_lower[m] for m in matches]

    def _compute_unique_paths(self, unique_fields: Iterable[str]) -> tuple[str, ...]:
        paths = ["id"]
        candidates = [*_STANDARD_UNIQUE.get(self.name_singular, ()), *unique_fields]
        for candidate in candidates:
            head, _, sub = candidate.partition(".")
            info = self._writable.get(head)
            if info is None:
                continue
            if not sub:
                if info.type in COMPOSITE_SUBFIELDS:
                    sub = _UNIQUE_SUBFIELD.get(info.type, "")
                    if not sub:  # e.g. a unique FULL_NAME: Twenty has no unique sub-field for it
                        continue
                    candidate = f"{head}.{sub}"
            if candidate not in paths:
                paths.append(candidate)
        return tuple(paths)


def find_object(objects: Sequence[Mapping[str, Any]], plural: str) -> ObjectSchema | None:
    """The active object whose namePlural is `plural` (the REST path segment), or None."""
    for obj in objects:
        if (
            isinstance(obj, Mapping)
            and obj.get("namePlural") == plural
            and obj.get("isActive", True) is not False
        ):
            return ObjectSchema.from_metadata(obj)
    return None


def object_names(objects: Sequence[Mapping[str, Any]]) -> list[str]:
    """Plural names of the active objects, sorted, for "did you mean" messages."""
    return sorted(
        str(obj["namePlural"])
        for obj in objects
        if isinstance(obj, Mapping) and obj.get("namePlural") and obj.get("isActive", True) is not False
    )


def _field_from_metadata(raw: Mapping[str, Any]) -> FieldInfo:
    options = [o for o in raw.get("options") or () if isinstance(o, Mapping) and o.get("value") is not None]
    return FieldInfo(
        name=str(raw["name"]),
        type=str(raw.get("type") or ""),
        nullable=raw.get("isNullable") is not False,
        options=tuple(str(o["value"]) for o in options),
        relation_type=_relation_type(raw),
        target=_relation_target(raw),
        join_column=_join_column(raw),
        is_system=raw.get("isSystem") is True,
        label=str(raw.get("label") or ""),
        option_labels=tuple(str(o.get("label") or "") for o in options),
    )


def _relation_target(raw: Mapping[str, Any]) -> tuple[str, str] | None:
    """`relation.targetObjectMetadata`; for a MORPH_RELATION field of the GraphQL metadata API (`relation` null),
    the `morphRelations` entry this field stands for: Twenty names each morph field after its target
    (targetPerson → person; computeMorphRelationFieldName in twenty-shared)."""
    relation = raw.get("relation")
    target = _target_names(relation.get("targetObjectMetadata") if isinstance(relation, Mapping) else None)
    if target is not None:
        return target
    morphs = [
        names
        for entry in raw.get("morphRelations") or ()
        if isinstance(entry, Mapping) and (names := _target_names(entry.get("targetObjectMetadata")))
    ]
    name = str(raw.get("name") or "")
    own = [t for t in morphs if t[1] and name.endswith(t[1][:1].upper() + t[1][1:])]
    if own:
        return max(own, key=lambda t: len(t[1]))  # targetBigCompany is bigCompany's, not company's
    return morphs[0] if len(morphs) == 1 else None


def _target_names(target: Any) -> tuple[str, str] | None:
    if isinstance(target, Mapping) and target.get("namePlural"):
        return str(target["namePlural"]), str(target.get("nameSingular") or "")
    return None


def _join_column(raw: Mapping[str, Any]) -> str | None:
    settings = raw.get("settings")
    join = settings.get("joinColumnName") if isinstance(settings, Mapping) else None
    return join if isinstance(join, str) and join else None


def with_relation_targets(
    objects: Sequence[Mapping[str, Any]], described: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The REST metadata's objects with each relation field's target filled in from the GraphQL metadata API's
    answer (`described`: objects with namePlural and fields carrying `relation` / `morphRelations`), for servers
    whose REST listing gives relation fields only `settings` (the v2 line). Fields already naming a target keep
    it; the input is not changed."""
    graph: dict[tuple[str, str], Mapping[str, Any]] = {}
    for obj in described:
        if not isinstance(obj, Mapping):
            continue
        for raw in obj.get("fields") or ():
            if isinstance(raw, Mapping) and raw.get("name"):
                graph[(str(obj.get("namePlural")), str(raw["name"]))] = raw
    merged: list[dict[str, Any]] = []
    for obj in objects:
        if not isinstance(obj, Mapping):
            continue
        fields = []
        for raw in obj.get("fields") or ():
            if (
                isinstance(raw, Mapping)
                and raw.get("type") in _RELATION_TYPES
                and _relation_target(raw) is None
                and (found := graph.get((str(obj.get("namePlural")), str(raw.get("name"))))) is not None
            ):
                raw = {
                    **raw,
                    "relation": found.get("relation"),
                    "morphRelations": found.get("morphRelations"),
                }
            fields.append(raw)
        merged.append({**obj, "fields": fields})
    return merged


def _relation_type(raw: Mapping[str, Any]) -> str | None:
    # `relation.type` in current versions; `settings.relationType` / `relationDefinition.direction` in older ones.
    for key, sub in (("relation", "type"), ("settings", "relationType"), ("relationDefinition", "direction")):
        holder = raw.get(key)
        if isinstance(holder, Mapping) and isinstance(holder.get(sub), str):
            return holder[sub].upper()
    return None


def _why_not_writable(info: FieldInfo) -> str | None:
    if info.name in _SERVER_MANAGED or info.type == "TS_VECTOR":
        return "Twenty sets it itself"
    if info.type in _RELATION_TYPES:
        if info.relation_type == "MANY_TO_ONE":
            join = info.join_column or f"{info.name}Id"
            return f'it is a relation; map the record id to its join column "{join}"'
        return "it is a one-to-many relation; write the link from the other object"
    return None
