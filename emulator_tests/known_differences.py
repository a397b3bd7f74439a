"""The recorded cases an emulator mode does not replay yet, with the reason, per server line.

test_recordings.py marks each as xfail(strict=True): a case listed here that starts passing fails the run, so the
list stays true. Each reason says what the real server answered that the mode does not (the first difference the
replay meets; fixing it may show the next). docs/emulator.md lists them for readers.
"""

from __future__ import annotations

# Replayed against --twenty-version v1.3 (conformance/recorded/v1.3.jsonl, da560afb).
V1_3_GROUPS: list[tuple[str, list[str]]] = [
    (
        "Record shape: v1.3 records have no updatedBy (opportunities no ownerId), and empty composite arrays read back as null; the v1.3 mode serves today's record fields",
        [
            "address_subfields",
            "batch_61_companies",
            "batch_create_companies",
            "batch_create_pets",
            "batch_one_invalid_nothing_created",
            "batch_one_invalid_record_rejected",
            "create_company",
            "create_note_markdown",
            "create_opportunity_with_stage",
            "create_person",
            "create_pet",
            "create_task_status_due_at",
            "currency_amount_fraction",
            "currency_amount_numeric_string",
            "currency_lowercase_code",
            "currency_without_code",
            "datetime_date_only",
            "emails_invalid_string_accepted",
            "empty_string_values",
            "get_companies_filter_domain_eq",
            "get_people_filter_email_eq",
            "get_people_filter_id_in",
            "get_people_page_1",
            "get_people_page_2",
            "get_person_by_id",
            "graphql_batch_61_companies_read_back",
            "graphql_upsert_61_people_read_back",
            "graphql_upsert_people_read_back",
            "links_bare_domain",
            "links_trailing_slash",
            "long_text_10000_chars",
            "number_float_accepted",
            "number_numeric_string",
            "number_word_string",
            "patch_links_partial_wipes_link",
            "patch_person",
            "phones_international_string",
            "probe_date_month_name",
            "rest_batch_connect_company_by_domain",
            "rest_connect_company_by_domain",
            "rest_connect_read_back",
            "unicode_emoji_text",
        ],
    ),
    (
        "Error class: the v1.3 REST handlers answer duplicates as UserInputError (the mode says BadRequestException)",
        [
            "batch_duplicate_emails_no_upsert",
            "batch_duplicate_emails_with_upsert",
            "batch_upsert_people_mixed_order",
            "create_duplicate_email_no_upsert",
            "upsert_company_by_domain",
            "upsert_person_by_email_merges",
            "upsert_person_uppercase_email",
        ],
    ),
    (
        "Error class: v1.3 answers 'Error' (not BadRequestException) for an unknown field, targetPersonId and a composite-order cursor",
        [
            "note_target_target_person_id_rejected",
            "patch_unknown_field",
            "probe_cursor_with_composite_order_by",
            "task_target_target_person_id_rejected",
            "unknown_field",
        ],
    ),
    (
        "v1.3 validates less: Postgres refuses the value (a 500 with its own words: enum, uuid, timestamp) or the value is accepted, where the mode answers today's 400",
        [
            "boolean_string_true",
            "datetime_day_first_rejected",
            "datetime_not_a_date",
            "null_values",
            "pet_select_wrong_case",
            "probe_currency_nan",
            "relation_invalid_uuid",
            "select_unknown_value",
            "select_wrong_case",
            "unknown_composite_subfield",
        ],
    ),
    (
        # The mode plays v1.3's destroying REST DELETE and GraphQL deletePeople (issue 21); what still differs:
        "Deletes: the read-back list's pageInfo has no hasPreviousPage on v1.3; the upsert after a destroying "
        "DELETE answers no updatedBy there",
        [
            "graphql_delete_many_read_back",
            "upsert_revives_soft_deleted_person",
        ],
    ),
    (
        "Batch maxima: v1.3 takes 201 records on REST and GraphQL; the mode refuses more than 200 as today",
        [
            "batch_over_limit",
            "graphql_batch_201_companies",
        ],
    ),
    (
        "GraphQL error bodies: v1.3 errors carry no path (and their own userFriendlyMessage)",
        [
            "graphql_connect_unknown_domain",
            "graphql_create_people_without_upsert_existing_email",
            "graphql_upsert_people_twice_same_email",
        ],
    ),
    (
        "Metadata: v1.3's standard objects differ (a field fewer on person, a custom object's default fields, TEXT fields not nullable, relation target field names), POST /metadata is not served, and a query string is a 400 with a singular message",
        [
            "metadata_create_field_pet_text",
            "metadata_create_object_pet",
            "metadata_graphql_morph_relations",
            "metadata_graphql_relation_fields",
            "metadata_objects_list",
            "metadata_rest_limit_200",
            "metadata_rest_relation_fields",
        ],
    ),
    (
        "Other v1.3 wordings: the TypeORM not-found text with its select, the REST unknown filter field ('field ... does not exist in ... object'), the REST blocknote-only note refused by zod (markdown required)",
        ["create_note_blocknote_only", "patch_unknown_id", "probe_unknown_filter_field"],
    ),
    (
        "Limiter: v1.3 pageInfo has no hasPreviousPage; its /graphql refusal is 'Too many requests.' (INTERNAL_SERVER_ERROR), where the mode answers 'Limit reached'; POST /metadata is not served by the mode",
        ["limiter_graphql", "limiter_metadata_graphql", "limiter_rest_records"],
    ),
]

# Replayed against --twenty-version v2 (conformance/recorded/v2.jsonl, 88cf2a02). The cases the server could not
# run (not_run) are listed by test_recordings.py itself.
V2_GROUPS: list[tuple[str, list[str]]] = [
    (
        "Record shape: v2 people carry avatarFile and no xLink, companies carry annualRevenue; the v2 mode serves the January 2026 standard fields",
        [
            "address_subfields",
            "batch_61_companies",
            "batch_create_companies",
            "batch_upsert_people_mixed_order",
            "create_company",
            "create_person",
            "empty_string_values",
            "get_companies_filter_domain_eq",
            "get_people_filter_email_eq",
            "get_people_filter_id_in",
            "get_people_page_1",
            "get_people_page_2",
            "get_person_by_id",
            "graphql_batch_61_companies_read_back",
            "graphql_upsert_61_people_read_back",
            "graphql_upsert_people_read_back",
            "links_bare_domain",
            "links_trailing_slash",
            "long_text_10000_chars",
            "null_values",
            "number_float_accepted",
            "patch_links_partial_wipes_link",
            "patch_person",
            "phones_international_string",
            "probe_cursor_with_composite_order_by",
            "rest_batch_connect_company_by_domain",
            "rest_connect_company_by_domain",
            "rest_connect_read_back",
            "soft_delete_person",
            "unicode_emoji_text",
            "upsert_company_by_domain",
            "upsert_person_by_email_merges",
            "upsert_person_by_existing_id",
            "upsert_person_uppercase_email",
            "upsert_revives_soft_deleted_person",
        ],
    ),
    (
        "noteTarget/taskTarget records: the fork adds targets of its own objects (targetBrandBrainPageId, targetCampaignId, targetCreatorId) and createdBy, position, searchVector, updatedBy",
        ["note_target_target_person_id_rejected", "task_target_target_person_id_rejected"],
    ),
    (
        "Rich text: the v2 line's markdown-to-blocknote conversion differs (heading props such as isToggleable; a blocknote-only body is re-serialised)",
        [
            "create_note_blocknote_only",
            "create_note_markdown",
            "create_task_status_due_at",
            "graphql_create_note_markdown",
        ],
    ),
    (
        'Wording of v2 validation errors: SELECT lists its valid values (Invalid value "todo" for field "status". Valid values are: \u2026), DATE_TIME says Expected format: \'YYYY-MM-DDTHH:mm:ssZ\' and refuses an epoch number with a 400',
        [
            "datetime_day_first_rejected",
            "datetime_epoch_milliseconds",
            "datetime_not_a_date",
            "select_unknown_value",
            "select_wrong_case",
        ],
    ),
    (
        "A missing foreign key is a 400 BadRequestException on the v2 line (same constraint names); the mode answers today's 500",
        [
            "probe_fk_note_target_note",
            "probe_fk_opportunity_company",
            "probe_fk_opportunity_point_of_contact",
            "probe_fk_task_target_task",
            "relation_nonexistent_uuid",
        ],
    ),
    (
        "v2 validates emails: an address without @ is a 400",
        ["emails_invalid_string_accepted"],
    ),
    (
        "A garbage token is 401 Token invalid. on the v2 line",
        ["auth_invalid_token"],
    ),
    (
        "GraphQL error bodies: v2 errors carry no path (and a userFriendlyMessage, conflictingRecordId \u2026)",
        [
            "graphql_batch_201_companies",
            "graphql_connect_unknown_domain",
            "graphql_create_people_without_upsert_existing_email",
            "graphql_upsert_people_twice_same_email",
        ],
    ),
    (
        "Metadata: the v2 line's objects carry applicationId, universalIdentifier, workspaceId, duplicateCriteria and more, and its metadata create answers the object itself; the fork's own objects add morph targets (brandBrainPage, campaign, creator)",
        [
            "limiter_metadata_rest",
            "metadata_create_object_pet",
            "metadata_graphql_morph_relations",
            "metadata_note_body_type",
            "metadata_objects_list",
            "metadata_rest_limit_200",
            "metadata_rest_relation_fields",
        ],
    ),
    (
        "Limiter on GraphQL: the v2 refusal answers data: {people: null} and errors with subCode LIMIT_REACHED; the mode answers data: null",
        ["limiter_graphql"],
    ),
    (
        "The limiter probe on /metadata lists the workspace's first object, which depends on what the workspace holds (messageThread there, person here)",
        ["limiter_metadata_graphql"],
    ),
]


def by_case(groups: list[tuple[str, list[str]]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for reason, cases in groups:
        for case in cases:
            assert case not in out, f"{case} is listed twice"
            out[case] = reason
    return out


KNOWN_DIFFERENCES = {"v1.3": by_case(V1_3_GROUPS), "v2": by_case(V2_GROUPS)}
