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
                join = f"{info.name}Id"
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
        is_system=raw.get("isSystem") is True,
        label=str(raw.get("label") or ""),
        option_labels=tuple(str(o.get("label") or "") for o in options),
    )


def _relation_target(raw: Mapping[str, Any]) -> tuple[str, str] | None:
    relation = raw.get("relation")
    target = relation.get("targetObjectMetadata") if isinstance(relation, Mapping) else None
    if isinstance(target, Mapping) and target.get("namePlural"):
        return str(target["namePlural"]), str(target.get("nameSingular") or "")
    return None


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
            return f'it is a relation; map the record id to its join column "{info.name}Id"'
        return "it is a one-to-many relation; write the link from the other object"
    return None
