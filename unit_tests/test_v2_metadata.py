"""Relation targets on the v2 line (issue 18 §1): the REST metadata gives relation fields only `settings`, the
GraphQL metadata API gives their targets. The shapes below are trimmed from the real v2 server's answers."""

from destination_twenty.config import ColumnMap
from destination_twenty.mapping import relations
from destination_twenty.mapping.schema import ObjectSchema, find_object, with_relation_targets


def field(name, kind="TEXT", **extra):
    return {"name": name, "type": kind, "isActive": True, "isNullable": True, **extra}


def many_to_one(name, join, kind="RELATION", on_delete="SET_NULL"):
    settings = {"onDelete": on_delete, "relationType": "MANY_TO_ONE", "joinColumnName": join}
    return field(name, kind, settings=settings)


REST = [  # GET /rest/metadata/objects on the v2 line: `data` is this list
    {
        "nameSingular": "person",
        "namePlural": "people",
        "fields": [
            field("emails", "EMAILS", isUnique=True),
            many_to_one("company", "companyId"),
            field("noteTargets", "RELATION", settings={"relationType": "ONE_TO_MANY"}),
        ],
    },
    {
        "nameSingular": "company",
        "namePlural": "companies",
        "fields": [field("name"), field("domainName", "LINKS", isUnique=True)],
    },
    {"nameSingular": "note", "namePlural": "notes", "fields": [field("title")]},
    {
        "nameSingular": "noteTarget",
        "namePlural": "noteTargets",
        "isSystem": True,
        "fields": [
            many_to_one("note", "noteId", on_delete="CASCADE"),
            many_to_one("targetPerson", "targetPersonId", "MORPH_RELATION", "CASCADE"),
            many_to_one("targetCompany", "targetCompanyId", "MORPH_RELATION", "CASCADE"),
        ],
    },
]


def target(singular, plural):
    return {"type": "MANY_TO_ONE", "targetObjectMetadata": {"nameSingular": singular, "namePlural": plural}}


MORPHS = [target("person", "people"), target("company", "companies")]
GRAPHQL = [  # POST /metadata, edges and nodes unwrapped as the client does
    {
        "namePlural": "people",
        "fields": [
            {"name": "emails", "type": "EMAILS", "relation": None, "morphRelations": None},
            {"name": "company", "type": "RELATION", "relation": target("company", "companies")},
        ],
    },
    {
        "namePlural": "noteTargets",
        "fields": [
            {"name": "note", "type": "RELATION", "relation": target("note", "notes"), "morphRelations": None},
            {"name": "targetPerson", "type": "MORPH_RELATION", "relation": None, "morphRelations": MORPHS},
            # The real server lists a group's own target first; the name decides, not the order.
            {"name": "targetCompany", "type": "MORPH_RELATION", "relation": None, "morphRelations": MORPHS},
        ],
    },
]


def test_settings_only_relations_have_join_columns_but_no_targets():
    people = find_object(REST, "people")
    assert people.join_columns == {"company": "companyId"}
    assert people.many_to_one == {} and people.untargeted == ["company"]
    assert people.writable("companyId").type == "UUID"


def test_graphql_targets_fill_in_relations_and_pick_each_morph_fields_own_target():
    merged = with_relation_targets(REST, GRAPHQL)
    assert find_object(merged, "people").many_to_one == {"company": ("companies", "company")}
    junction = find_object(merged, "noteTargets")
    assert junction.many_to_one == {
        "note": ("notes", "note"),
        "targetPerson": ("people", "person"),
        "targetCompany": ("companies", "company"),
    }
    assert junction.untargeted == []
    assert find_object(REST, "people").untargeted == ["company"]  # the input is left as it was


def test_a_morph_field_named_after_a_longer_target_gets_that_one():
    morphs = [target("company", "companies"), target("bigCompany", "bigCompanies")]
    raw = {"name": "targetBigCompany", "type": "MORPH_RELATION", "morphRelations": morphs}
    raw["settings"] = {"relationType": "MANY_TO_ONE", "joinColumnName": "targetBigCompanyId"}
    schema = ObjectSchema.from_metadata({"nameSingular": "x", "namePlural": "xs", "fields": [raw]})
    assert schema.many_to_one == {"targetBigCompany": ("bigCompanies", "bigCompany")}


def test_the_plan_asks_for_targets_only_when_a_lookup_needs_them():
    by_domain = [ColumnMap("domain", "company.domainName.primaryLinkUrl")]
    assert relations.targets_wanted(by_domain, "people", REST)
    assert not relations.targets_wanted([ColumnMap("cid", "company.id")], "people", REST)
    assert not relations.targets_wanted([ColumnMap("e", "emails.primaryEmail")], "people", REST)
    assert relations.targets_wanted([ColumnMap("who", "targets.person.emails.primaryEmail")], "notes", REST)


def test_a_raw_id_goes_to_the_join_column_from_settings_without_targets():
    plan = relations.plan([ColumnMap("cid", "company.id")], "people", REST)
    assert plan.problems == [] and [m.field for m in plan.columns] == ["companyId"]


def test_without_targets_a_lookup_is_refused_with_the_reason():
    plan = relations.plan([ColumnMap("domain", "company.domainName.primaryLinkUrl")], "people", REST)
    (problem,) = plan.problems
    assert "does not say which object the relation company points to" in problem
    notes = relations.plan([ColumnMap("who", "targets.person.emails.primaryEmail")], "notes", REST)
    assert "does not say which object" in notes.problems[0]


def test_with_targets_lookups_and_note_targets_use_the_v2_join_columns():
    merged = with_relation_targets(REST, GRAPHQL)
    plan = relations.plan([ColumnMap("domain", "company.domainName.primaryLinkUrl")], "people", merged)
    (lookup,) = plan.lookups
    assert (lookup.join_column, lookup.target, lookup.path) == (
        "companyId",
        "companies",
        "domainName.primaryLinkUrl",
    )
    notes = relations.plan(
        [ColumnMap("who", "targets.person.emails.primaryEmail"), ColumnMap("co", "targets.company.name")],
        "notes",
        merged,
    )
    assert notes.problems == []
    assert [(lk.join_column, lk.target) for lk in notes.lookups] == [
        ("targetPersonId", "people"),
        ("targetCompanyId", "companies"),
    ]
    assert (notes.junction.plural, notes.junction.owner_column) == ("noteTargets", "noteId")
