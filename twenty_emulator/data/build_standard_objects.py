"""Regenerate ``standard_objects.json`` from the conformance recording.

The recording (``conformance/cases.jsonl`` in the repository) is the ground truth for the standard objects: the
field lists of person, company, opportunity, note, task, noteTarget and taskTarget come from the recorded
``GET /rest/metadata/objects``, the record key order from the recorded create responses, and the default
fields of a custom object from the recorded ``POST /rest/metadata/objects``. The objects that the standard
relations point to (workspaceMember, attachment, favorite, ...) are not in the recording; they are written
by hand below with just the fields the relations need.

Run: ``python -m twenty_emulator.data.build_standard_objects [path/to/cases.jsonl]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CASES = HERE.parents[1] / "conformance" / "cases.jsonl"

FIELD_KEYS = (
    "name",
    "type",
    "label",
    "description",
    "icon",
    "isCustom",
    "isActive",
    "isSystem",
    "isNullable",
)
# The recording's create cases that show the key order of each standard object's records.
RECORD_KEY_CASES = {
    "person": ("create_person", "createPerson"),
    "company": ("create_company", "createCompany"),
    "opportunity": ("create_opportunity_with_stage", "createOpportunity"),
    "note": ("create_note_markdown", "createNote"),
    "task": ("create_task_status_due_at", "createTask"),
    "noteTarget": ("note_target_person_id", "createNoteTarget"),
    "taskTarget": ("task_target_person_id", "createTaskTarget"),
}
# Unique fields (the REST metadata does not expose isUnique; these are the documented standard ones).
UNIQUE_FIELDS = {("person", "emails"), ("company", "domainName")}
# Foreign-key constraint names: the recorded one, others are derived at runtime.
FK_NAMES = {"person.companyId": "FK_ee066ddacfce46c9a7cb90edd1a"}


def _field(name, ftype, label, *, nullable=True, system=False, default=None, relation=None, icon="IconAbc"):
    return {
        "name": name,
        "type": ftype,
        "label": label,
        "description": label,
        "icon": icon,
        "isCustom": False,
        "isActive": True,
        "isSystem": system,
        "isNullable": nullable,
        "defaultValue": default,
        "options": None,
        "relation": relation,
    }


def _system_fields(actor=True):
    fields = [
        _field("id", "UUID", "Id", nullable=False, system=True, default="uuid", icon="Icon123"),
        _field("createdAt", "DATE_TIME", "Creation date", nullable=False, default="now", icon="IconCalendar"),
        _field(
            "updatedAt", "DATE_TIME", "Last update", nullable=False, default="now", icon="IconCalendarClock"
        ),
        _field("deletedAt", "DATE_TIME", "Deleted at", icon="IconCalendarClock"),
    ]
    if actor:
        fields += [
            _field(
                "position",
                "POSITION",
                "Position",
                nullable=False,
                system=True,
                default=0,
                icon="IconHierarchy2",
            ),
            _field(
                "createdBy",
                "ACTOR",
                "Created by",
                nullable=False,
                default={"name": "'System'", "source": "'MANUAL'", "workspaceMemberId": None},
            ),
            _field(
                "updatedBy",
                "ACTOR",
                "Updated by",
                nullable=False,
                default={"name": "'System'", "source": "'MANUAL'", "workspaceMemberId": None},
            ),
        ]
    return fields


def _rel(kind, target, target_field):
    return {"type": kind, "target": target, "targetField": target_field}


def _extra_objects():
    """Objects that the recorded relations point to, with the fields those relations need."""

    def obj(singular, plural, label_s, label_p, fields, *, system=True, label_field=None):
        return {
            "nameSingular": singular,
            "namePlural": plural,
            "labelSingular": label_s,
            "labelPlural": label_p,
            "description": f"A {label_s.lower()}",
            "icon": "IconBox",
            "isCustom": False,
            "isActive": True,
            "isSystem": system,
            "labelIdentifierField": label_field or "id",
            "imageIdentifierField": None,
            "recordKeys": None,
            "fields": fields,
        }

    member = obj(
        "workspaceMember",
        "workspaceMembers",
        "Workspace Member",
        "Workspace Members",
        _system_fields()
        + [
            _field("name", "FULL_NAME", "Name"),
            _field("userEmail", "TEXT", "User Email"),
            _field("userId", "UUID", "User Id", nullable=False),
            _field("locale", "TEXT", "Language", nullable=False, default="'en'"),
            _field("colorScheme", "TEXT", "Color Scheme", nullable=False, default="'System'"),
            _field("timeZone", "TEXT", "Time zone", nullable=False, default="'system'"),
            _field("avatarUrl", "TEXT", "Avatar Url"),
            _field(
                "accountOwnerForCompanies",
                "RELATION",
                "Account Owner For Companies",
                system=False,
                relation=_rel("ONE_TO_MANY", "company", "accountOwner"),
            ),
            _field(
                "ownedOpportunities",
                "RELATION",
                "Owned opportunities",
                relation=_rel("ONE_TO_MANY", "opportunity", "owner"),
            ),
            _field(
                "assignedTasks",
                "RELATION",
                "Assigned tasks",
                relation=_rel("ONE_TO_MANY", "task", "assignee"),
            ),
        ],
        system=True,
        label_field="name",
    )
    attachment = obj(
        "attachment",
        "attachments",
        "Attachment",
        "Attachments",
        _system_fields()
        + [
            _field("name", "TEXT", "Name"),
            _field("fullPath", "TEXT", "Full path"),
            _field("target", "MORPH_RELATION", "Target", relation=None),
        ],
        label_field="name",
    )
    favorite_fields = _system_fields() + [
        _field(t, "RELATION", t.capitalize(), relation=_rel("MANY_TO_ONE", t, "favorites"))
        for t in ("person", "company", "opportunity", "note", "task")
    ]
    favorite = obj("favorite", "favorites", "Favorite", "Favorites", favorite_fields)
    timeline = obj(
        "timelineActivity",
        "timelineActivities",
        "Timeline Activity",
        "Timeline Activities",
        _system_fields()
        + [
            _field("name", "TEXT", "Event name"),
            _field("happensAt", "DATE_TIME", "Creation date", nullable=False, default="now"),
            _field("target", "MORPH_RELATION", "Target", relation=None),
        ],
        label_field="name",
    )
    participants = [
        obj(
            singular,
            singular + "s",
            label,
            label + "s",
            _system_fields()
            + [
                _field("handle", "TEXT", "Handle"),
                _field("displayName", "TEXT", "Display Name"),
                _field("person", "RELATION", "Person", relation=_rel("MANY_TO_ONE", "person", inverse)),
            ],
            label_field="handle",
        )
        for singular, label, inverse in (
            ("messageParticipant", "Message Participant", "messageParticipants"),
            ("calendarEventParticipant", "Calendar Event Participant", "calendarEventParticipants"),
        )
    ]
    return [member, attachment, favorite, timeline, *participants]


def _field_from_recording(field: dict, by_id: dict[str, str]) -> dict:
    out = {k: field[k] for k in FIELD_KEYS}
    out["defaultValue"] = field["defaultValue"]
    out["options"] = (
        [{k: o[k] for k in ("value", "label", "color", "position")} for o in field["options"]]
        if field["options"]
        else None
    )
    rel = field["relation"]
    out["relation"] = (
        _rel(rel["type"], rel["targetObjectMetadata"]["nameSingular"], rel["targetFieldMetadata"]["name"])
        if rel
        else None
    )
    return out


def build(cases_path: Path) -> dict:
    cases = {}
    for line in cases_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            cases[case["case"]] = case
    listing = cases["metadata_objects_list"]["response"]["body"]["data"]["objects"]
    objects = []
    for o in listing:
        by_id = {f["id"]: f["name"] for f in o["fields"]}
        fields = [
            _field_from_recording(f, by_id)
            for f in o["fields"]
            # The custom object made during the recording is not standard: it is added at runtime.
            if not (
                f["isCustom"]
                and f["relation"]
                and f["relation"]["targetObjectMetadata"]["nameSingular"] == "pet"
            )
        ]
        for f in fields:
            if (o["nameSingular"], f["name"]) in UNIQUE_FIELDS:
                f["isUnique"] = True
        case_name, key = RECORD_KEY_CASES[o["nameSingular"]]
        record = cases[case_name]["response"]["body"]["data"][key]
        objects.append(
            {
                **{
                    k: o[k]
                    for k in (
                        "nameSingular",
                        "namePlural",
                        "labelSingular",
                        "labelPlural",
                        "description",
                        "icon",
                    )
                },
                **{k: o[k] for k in ("isCustom", "isActive", "isSystem")},
                "labelIdentifierField": by_id.get(
                    o["labelIdentifierFieldMetadataId"].replace("{ID:", "").rstrip("}")
                )
                or o["labelIdentifierFieldMetadataId"].split("_")[-1].rstrip("}"),
                "imageIdentifierField": (o["imageIdentifierFieldMetadataId"] or "").split("_")[-1].rstrip("}")
                or None,
                "recordKeys": [k for k in record if k != "petId"],
                "fields": fields,
            }
        )
    objects += _extra_objects()

    pet = cases["metadata_create_object_pet"]["response"]["body"]["data"]["createOneObject"]
    template = []
    for f in pet["fields"]:
        t = _field_from_recording(f, {})
        for key in ("description",):
            if isinstance(t[key], str):
                t[key] = t[key].replace("Pets", "{labelPlural}")
        template.append(t)
    pet_record = cases["create_pet"]["response"]["body"]["data"]["createPet"]
    base_keys = [k for k in pet_record if k not in ("breed", "age", "species")]
    return {
        "source": "conformance/cases.jsonl (Twenty main e0d44920, Jan 2026) + hand-written extras",
        "objects": objects,
        "customObject": {"fields": template, "recordKeys": base_keys},
        "foreignKeyNames": FK_NAMES,
    }


def main() -> None:
    cases_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CASES
    data = build(cases_path)
    out = HERE / "standard_objects.json"
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(data['objects'])} objects)")


if __name__ == "__main__":
    main()
