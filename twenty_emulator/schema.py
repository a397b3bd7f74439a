"""Workspace metadata: objects, their fields, and the metadata REST shapes.

The standard objects come from ``data/standard_objects.json`` (extracted from the conformance recording).
Custom objects and fields are added at runtime through ``POST /rest/metadata/objects|fields``.
Metadata ids are fresh UUIDs per process; they stay stable for the life of the emulator.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .clock import now_iso
from .errors import ApiError, bad_request
from .versions import CURRENT, TwentyVersion

DATA_FILE = Path(__file__).resolve().parent / "data" / "standard_objects.json"

COMPOSITE_TYPES = {"FULL_NAME", "EMAILS", "LINKS", "PHONES", "CURRENCY", "ADDRESS", "ACTOR", "RICH_TEXT_V2"}
# Sub-fields of each composite type, in the order the real server returns them.
COMPOSITE_SUBFIELDS = {
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
}
# Sub-field that a unique composite field is matched on (isIncludedInUniqueConstraint upstream).
UNIQUE_SUBFIELD = {"EMAILS": "primaryEmail", "LINKS": "primaryLinkUrl", "PHONES": "primaryPhoneNumber"}
SUPPORTED_CUSTOM_TYPES = {
    "TEXT",
    "NUMBER",
    "NUMERIC",
    "BOOLEAN",
    "DATE",
    "DATE_TIME",
    "SELECT",
    "MULTI_SELECT",
    "CURRENCY",
    "EMAILS",
    "LINKS",
    "PHONES",
    "FULL_NAME",
    "ADDRESS",
    "RAW_JSON",
    "ARRAY",
    "UUID",
    "RATING",
    "RICH_TEXT_V2",
}
RATING_VALUES = ["RATING_1", "RATING_2", "RATING_3", "RATING_4", "RATING_5"]


def default_record_value(ftype: str):
    """The value a record shows for a field that was never written (as the real server reads it back)."""
    if ftype == "TEXT":
        return ""
    if ftype == "FULL_NAME":
        return {"firstName": "", "lastName": ""}
    if ftype == "EMAILS":
        return {"primaryEmail": "", "additionalEmails": []}
    if ftype == "LINKS":
        return {"primaryLinkLabel": "", "primaryLinkUrl": "", "secondaryLinks": []}
    if ftype == "PHONES":
        return {
            "primaryPhoneNumber": "",
            "primaryPhoneCountryCode": "",
            "primaryPhoneCallingCode": "",
            "additionalPhones": [],
        }
    if ftype == "CURRENCY":
        return {"amountMicros": None, "currencyCode": None}
    if ftype == "ADDRESS":
        return {
            "addressStreet1": "",
            "addressStreet2": "",
            "addressCity": "",
            "addressPostcode": "",
            "addressState": "",
            "addressCountry": "",
            "addressLat": None,
            "addressLng": None,
        }
    if ftype == "RICH_TEXT_V2":
        return {"blocknote": None, "markdown": ""}
    return None


def _strip_sql_literal(value):
    """Metadata default values are SQL literals ("'NEW'"); records show the bare value."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


@dataclass
class Field:
    id: str
    name: str
    type: str
    label: str
    description: str | None
    icon: str | None
    isCustom: bool
    isActive: bool
    isSystem: bool
    isNullable: bool
    defaultValue: object
    options: list | None
    relation: dict | None  # {"type", "target", "targetField"}
    isUnique: bool = False
    createdAt: str = ""

    morphId: str | None = None  # set on the per-target fields of one MORPH_RELATION (v1.20 note/task targets)

    @property
    def join_column(self) -> str | None:
        # A MORPH_RELATION of attachments / timeline activities has no relation here and no join column.
        if (
            self.type in ("RELATION", "MORPH_RELATION")
            and self.relation
            and self.relation["type"] == "MANY_TO_ONE"
        ):
            return self.name + "Id"
        return None

    @property
    def option_values(self) -> list[str]:
        if self.type == "RATING" and not self.options:
            return RATING_VALUES
        return [o["value"] for o in self.options or []]

    def record_default(self):
        """Value of this field on a freshly inserted record when the client did not send it."""
        if (
            self.type in ("SELECT", "BOOLEAN", "RATING", "NUMBER", "NUMERIC")
            and self.defaultValue is not None
        ):
            return _strip_sql_literal(self.defaultValue)
        if self.type == "MULTI_SELECT" and isinstance(self.defaultValue, list):
            return [_strip_sql_literal(v) for v in self.defaultValue]
        return copy.deepcopy(default_record_value(self.type))


@dataclass
class ObjectMeta:
    id: str
    nameSingular: str
    namePlural: str
    labelSingular: str
    labelPlural: str
    description: str | None
    icon: str | None
    isCustom: bool
    isActive: bool
    isSystem: bool
    labelIdentifierField: str | None
    imageIdentifierField: str | None
    fields: dict[str, Field] = field(default_factory=dict)
    base_record_keys: list[str] | None = None
    createdAt: str = ""

    # Derived lookups, rebuilt by refresh() whenever fields change.
    record_keys: list[str] = field(default_factory=list)
    join_columns: dict[str, Field] = field(default_factory=dict)
    unique_fields: list[Field] = field(default_factory=list)

    def refresh(self) -> None:
        self.join_columns = {f.join_column: f for f in self.fields.values() if f.join_column}
        self.unique_fields = [f for f in self.fields.values() if f.isUnique]
        output = [n for n, f in self.fields.items() if f.type not in ("RELATION", "MORPH_RELATION")]
        output += list(self.join_columns)
        keys = [k for k in (self.base_record_keys or []) if k in output]
        keys += [k for k in output if k not in keys]
        self.record_keys = keys

    @property
    def table(self) -> str:
        return "t_" + self.nameSingular

    @property
    def has_actor(self) -> bool:
        return "createdBy" in self.fields


# Junction objects whose targets became one MORPH_RELATION in v1.20; favorites keep plain relations.
MORPH_JUNCTIONS = ("noteTarget", "taskTarget")


def _cap(name: str) -> str:
    return name[0].upper() + name[1:]


def _with_morph_targets(raw: dict) -> dict:
    """The recorded metadata as v1.20 names it: noteTarget.person -> targetPerson (join column targetPersonId)."""
    raw = copy.deepcopy(raw)
    renamed: dict[tuple[str, str], str] = {}
    for o in raw["objects"]:
        if o["nameSingular"] not in MORPH_JUNCTIONS:
            continue
        morph_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "twenty-emulator/morph/" + o["nameSingular"]))
        for f in o["fields"]:
            rel = f.get("relation") or {}
            if (
                f["type"] == "RELATION"
                and rel.get("type") == "MANY_TO_ONE"
                and f["name"] != o["nameSingular"][:-6]
            ):
                new = "target" + _cap(f["name"])
                renamed[(o["nameSingular"], f["name"])] = new
                o["recordKeys"] = [new + "Id" if k == f["name"] + "Id" else k for k in o["recordKeys"]]
                f.update(name=new, type="MORPH_RELATION", morphId=morph_id)
    for o in raw["objects"]:
        for f in o["fields"]:
            rel = f.get("relation") or {}
            if (rel.get("target"), rel.get("targetField")) in renamed:
                rel["targetField"] = renamed[(rel["target"], rel["targetField"])]
    return raw


class Workspace:
    """All object metadata of the one emulated workspace, named as ``version`` names it."""

    def __init__(self, version: TwentyVersion = CURRENT) -> None:
        self.version = version
        raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
        if version.morph_targets:
            raw = _with_morph_targets(raw)
        self._custom_template = raw["customObject"]
        self._fk_names = raw["foreignKeyNames"]
        self.objects: dict[str, ObjectMeta] = {}  # by nameSingular
        self.by_plural: dict[str, ObjectMeta] = {}
        created = now_iso()
        for o in raw["objects"]:
            obj = ObjectMeta(
                id=str(uuid.uuid4()),
                nameSingular=o["nameSingular"],
                namePlural=o["namePlural"],
                labelSingular=o["labelSingular"],
                labelPlural=o["labelPlural"],
                description=o["description"],
                icon=o["icon"],
                isCustom=o["isCustom"],
                isActive=o["isActive"],
                isSystem=o["isSystem"],
                labelIdentifierField=o["labelIdentifierField"],
                imageIdentifierField=o["imageIdentifierField"],
                base_record_keys=o["recordKeys"],
                createdAt=created,
            )
            for f in o["fields"]:
                obj.fields[f["name"]] = self._make_field(f, created)
            self._register(obj)

    # ----------------------------------------------------------------- lookups
    def _register(self, obj: ObjectMeta) -> None:
        obj.refresh()
        self.objects[obj.nameSingular] = obj
        self.by_plural[obj.namePlural] = obj

    @staticmethod
    def _make_field(f: dict, created: str) -> Field:
        options = None
        if f.get("options"):
            options = [
                {
                    "id": o.get("id") or str(uuid.uuid4()),
                    "color": o.get("color"),
                    "label": o.get("label"),
                    "value": o.get("value"),
                    "position": o.get("position", i),
                }
                for i, o in enumerate(f["options"])
            ]
        return Field(
            id=str(uuid.uuid4()),
            name=f["name"],
            type=f["type"],
            label=f.get("label") or f["name"],
            description=f.get("description"),
            icon=f.get("icon"),
            isCustom=f.get("isCustom", True),
            isActive=f.get("isActive", True),
            isSystem=f.get("isSystem", False),
            isNullable=f.get("isNullable", True),
            defaultValue=f.get("defaultValue"),
            options=options,
            relation=f.get("relation"),
            isUnique=bool(f.get("isUnique", False)),
            createdAt=created,
            morphId=f.get("morphId"),
        )

    def resolve_plural(self, segment: str) -> ObjectMeta:
        obj = self.by_plural.get(segment)
        if obj is not None:
            return obj
        singular = self.objects.get(segment)
        if singular is not None:
            raise bad_request(f"object '{segment}' not found. Did you mean '{singular.namePlural}'?")
        raise bad_request(f"object '{segment}' not found. eg: companies")

    def fk_constraint_name(self, obj: ObjectMeta, column: str) -> str:
        key = f"{obj.nameSingular}.{column}"
        if key in self._fk_names:
            return self._fk_names[key]
        # TypeORM's DefaultNamingStrategy.foreignKeyName (typeorm src/naming-strategy/DefaultNamingStrategy.ts):
        # "FK_" + the first 27 hex digits of sha1("<table>_<column>"); it reproduces every name recorded
        # (person.companyId, opportunity.companyId / pointOfContactId, noteTarget.noteId, taskTarget.taskId).
        return "FK_" + hashlib.sha1(f"{self.table_name(obj)}_{column}".encode()).hexdigest()[:27]

    def table_name(self, obj: ObjectMeta) -> str:
        """The Postgres table name the real server would use (custom objects get a leading underscore)."""
        return ("_" if obj.isCustom else "") + obj.nameSingular

    # ---------------------------------------------------------------- metadata API
    def object_to_api(self, obj: ObjectMeta) -> dict:
        by_name = obj.fields
        label_field = by_name.get(obj.labelIdentifierField or "")
        image_field = by_name.get(obj.imageIdentifierField or "")
        api = {
            "id": obj.id,
            "nameSingular": obj.nameSingular,
            "namePlural": obj.namePlural,
            "isCustom": obj.isCustom,
            "isActive": obj.isActive,
            "isSystem": obj.isSystem,
            "createdAt": obj.createdAt,
            "updatedAt": obj.createdAt,
            "labelIdentifierFieldMetadataId": label_field.id if label_field else None,
            "imageIdentifierFieldMetadataId": image_field.id if image_field else None,
            "labelSingular": obj.labelSingular,
            "labelPlural": obj.labelPlural,
            "description": obj.description,
            "icon": obj.icon,
            "fields": [self.field_to_api(obj, f) for f in sorted(obj.fields.values(), key=lambda f: f.name)],
        }
        if self.version.paged_metadata:
            del api["isCustom"]  # the v2 line's listing has none
        return api

    def field_to_api(self, obj: ObjectMeta, f: Field) -> dict:
        relation = None
        if f.relation:
            target = self.objects.get(f.relation["target"])
            target_field = target.fields.get(f.relation["targetField"]) if target else None
            relation = {
                "type": f.relation["type"],
                "targetObjectMetadata": {
                    "id": target.id if target else None,
                    "nameSingular": f.relation["target"],
                    "namePlural": target.namePlural if target else None,
                },
                "targetFieldMetadata": {
                    "id": target_field.id if target_field else None,
                    "name": f.relation["targetField"],
                },
                "sourceObjectMetadata": {
                    "id": obj.id,
                    "nameSingular": obj.nameSingular,
                    "namePlural": obj.namePlural,
                },
                "sourceFieldMetadata": {"id": f.id, "name": f.name},
            }
        extra = {"morphId": f.morphId} if f.morphId else {}
        if self.version.paged_metadata:
            return self._field_to_v2_api(obj, f, extra)
        return {
            "id": f.id,
            "type": self.type_name(f.type),
            "name": f.name,
            "label": f.label,
            "description": f.description,
            "icon": f.icon,
            "isCustom": f.isCustom,
            "isActive": f.isActive,
            "isSystem": f.isSystem,
            "isNullable": f.isNullable,
            "createdAt": f.createdAt,
            "updatedAt": f.createdAt,
            "defaultValue": f.defaultValue,
            "options": copy.deepcopy(f.options),
            "relation": relation,
            **extra,
        }

    def _field_to_v2_api(self, obj: ObjectMeta, f: Field, extra: dict) -> dict:
        """A field as the v2 line's REST metadata shows it: `settings` (relationType, joinColumnName, onDelete)
        and `isUnique`, no `relation` and no `isCustom` (as seen on the v2 server)."""
        out = {
            "id": f.id,
            "type": self.type_name(f.type),
            "name": f.name,
            "label": f.label,
            "description": f.description,
            "icon": f.icon,
            "isActive": f.isActive,
            "isSystem": f.isSystem,
            "isNullable": f.isNullable,
            "isUnique": f.isUnique,
            "defaultValue": f.defaultValue,
            "settings": self.relation_settings(obj, f),
            "objectMetadataId": obj.id,
            "createdAt": f.createdAt,
            "updatedAt": f.createdAt,
            **extra,
        }
        if f.options:
            out["options"] = copy.deepcopy(f.options)
        return out

    @staticmethod
    def relation_settings(obj: ObjectMeta, f: Field) -> dict | None:
        if f.type not in ("RELATION", "MORPH_RELATION") or not f.relation:
            return None
        if f.relation["type"] != "MANY_TO_ONE":
            return {"relationType": f.relation["type"]}
        # As seen: a junction row goes with its note, task or target (CASCADE); other links are cleared.
        on_delete = "CASCADE" if obj.nameSingular in MORPH_JUNCTIONS else "SET_NULL"
        return {"onDelete": on_delete, "relationType": "MANY_TO_ONE", "joinColumnName": f.join_column}

    def relation_to_api(self, obj: ObjectMeta, f: Field) -> dict | None:
        """The GraphQL metadata API's `relation` of a field (`RelationDTO`): null for a MORPH_RELATION, whose
        targets are its `morphRelations`."""
        if not f.relation or f.type == "MORPH_RELATION":
            return None
        return self._relation(obj, f)

    def morph_relations_to_api(self, obj: ObjectMeta, f: Field) -> list[dict] | None:
        """A MORPH_RELATION field's `morphRelations`: one entry per field of its morph group, its own first
        (as the v2 server lists them)."""
        if f.type != "MORPH_RELATION" or not f.relation:
            return None
        group = [g for g in obj.fields.values() if g.morphId == f.morphId and g.relation]
        group.sort(key=lambda g: g is not f)
        return [self._relation(obj, g) for g in group]

    def _relation(self, obj: ObjectMeta, f: Field) -> dict:
        target = self.objects.get(f.relation["target"])
        target_field = target.fields.get(f.relation["targetField"]) if target else None
        name = f.relation["targetField"]
        if target_field is not None and target_field.morphId and target is not None:
            name = name[: -len(obj.nameSingular)] or name  # the morph group's name: targetPerson -> target
        return {
            "type": f.relation["type"],
            "sourceObjectMetadata": self._object_ref(obj),
            "targetObjectMetadata": self._object_ref(target) if target else None,
            "sourceFieldMetadata": {"id": f.id, "name": f.name},
            "targetFieldMetadata": {"id": target_field.id if target_field else None, "name": name},
        }

    @staticmethod
    def _object_ref(obj: ObjectMeta) -> dict:
        return {
            "id": obj.id,
            "nameSingular": obj.nameSingular,
            "namePlural": obj.namePlural,
            "labelSingular": obj.labelSingular,
            "labelPlural": obj.labelPlural,
        }

    def type_name(self, ftype: str) -> str:
        """The metadata name of a field type (the rich-text composite was renamed at v1.20)."""
        return self.version.rich_text_type if ftype == "RICH_TEXT_V2" else ftype

    def junction_field(self, junction: str, singular: str) -> str:
        """The relation field a junction object gets for a new custom object (noteTarget.pet, or targetPet)."""
        if self.version.morph_targets and junction in MORPH_JUNCTIONS:
            return "target" + _cap(singular)
        return singular

    def junction_column(self, junction: str, singular: str) -> str:
        return self.junction_field(junction, singular) + "Id"

    def find_object_by_id(self, object_id: str) -> ObjectMeta | None:
        return next((o for o in self.objects.values() if o.id == object_id), None)

    def create_object(self, body: dict) -> ObjectMeta:
        """POST /rest/metadata/objects: a custom object with the default fields of the recording."""
        if not isinstance(body, dict):
            raise bad_request("Invalid input")
        singular, plural = body.get("nameSingular"), body.get("namePlural")
        for key in ("nameSingular", "namePlural", "labelSingular", "labelPlural"):
            if not isinstance(body.get(key), str) or not body.get(key):
                raise bad_request(f"{key} is required")
        for name in (singular, plural):
            if not name.isidentifier() or not name[0].islower():
                raise bad_request(f"{name} should be in camelCase")
            if name in self.objects or name in self.by_plural:
                raise bad_request("Object already exists")
        created = now_iso()
        obj = ObjectMeta(
            id=str(uuid.uuid4()),
            nameSingular=singular,
            namePlural=plural,
            labelSingular=body["labelSingular"],
            labelPlural=body["labelPlural"],
            description=body.get("description"),
            icon=body.get("icon"),
            isCustom=True,
            isActive=True,
            isSystem=False,
            labelIdentifierField="name",
            imageIdentifierField=None,
            base_record_keys=list(self._custom_template["recordKeys"]),
            createdAt=created,
        )
        for tf in self._custom_template["fields"]:
            spec = copy.deepcopy(tf)
            if isinstance(spec.get("description"), str):
                spec["description"] = spec["description"].replace("{labelPlural}", obj.labelPlural)
            if spec["relation"] and spec["relation"]["targetField"] != "target":
                spec["relation"]["targetField"] = self.junction_field(spec["relation"]["target"], singular)
            obj.fields[spec["name"]] = self._make_field(spec, created)
        # Give the junction objects a join column to the new object (noteTargets.petId, ...).
        for source_name, inverse in (
            ("noteTarget", "noteTargets"),
            ("taskTarget", "taskTargets"),
            ("favorite", "favorites"),
        ):
            source = self.objects[source_name]
            name = self.junction_field(source_name, singular)
            morph_ids = {f.morphId for f in source.fields.values() if f.morphId}
            source.fields[name] = self._make_field(
                {
                    "name": name,
                    "type": "MORPH_RELATION" if morph_ids else "RELATION",
                    "morphId": next(iter(morph_ids), None),
                    "label": obj.labelSingular,
                    "description": f"{source.labelPlural.replace(' ', '')} {obj.labelSingular}",
                    "icon": "IconCheckbox",
                    "isCustom": True,
                    "isSystem": True,
                    "isNullable": True,
                    "relation": {"type": "MANY_TO_ONE", "target": singular, "targetField": inverse},
                },
                created,
            )
            source.refresh()
        self._register(obj)
        return obj

    def create_field(self, body: dict) -> tuple[ObjectMeta, Field]:
        """POST /rest/metadata/fields on a custom (or standard) object."""
        if not isinstance(body, dict):
            raise bad_request("Invalid input")
        obj = self.find_object_by_id(str(body.get("objectMetadataId")))
        if obj is None:
            raise ApiError(404, "NotFoundException", "Object metadata not found")
        name, ftype = body.get("name"), body.get("type")
        if self.version.rich_text_type != "RICH_TEXT_V2":
            if ftype == "RICH_TEXT_V2":  # renamed away: no longer a member of the type enum (wording a guess)
                raise bad_request(f'Value "{ftype}" does not exist in "FieldMetadataType" enum.')
            if ftype == self.version.rich_text_type:
                ftype = "RICH_TEXT_V2"  # one internal name; type_name() shows the version's
        if not isinstance(name, str) or not name.isidentifier():
            raise bad_request("Name is not valid")
        if ftype not in SUPPORTED_CUSTOM_TYPES:
            raise bad_request(f"Field type {ftype} is not supported by the emulator")
        if name in obj.fields or name in obj.join_columns:
            raise bad_request(f'Field name "{name}" is not available')
        if ftype in ("SELECT", "MULTI_SELECT") and not body.get("options"):
            raise bad_request("Options are required for select fields")
        is_unique = bool(body.get("isUnique"))
        if is_unique and ftype not in ("TEXT", "EMAILS", "LINKS", "PHONES", "NUMBER", "UUID"):
            raise bad_request(f"Unique constraint is not supported for {ftype} fields in the emulator")
        created = now_iso()
        f = self._make_field(
            {
                "name": name,
                "type": ftype,
                "label": body.get("label") or name,
                "description": body.get("description"),
                "icon": body.get("icon"),
                "isCustom": True,
                "isSystem": False,
                "isNullable": body.get("isNullable", True) is not False,
                "defaultValue": body.get("defaultValue"),
                "options": body.get("options"),
                "relation": None,
                "isUnique": is_unique,
            },
            created,
        )
        obj.fields[name] = f
        obj.refresh()
        return obj, f
