"""The Twenty versions the emulator can answer as (``--twenty-version``), as data: one flag per difference a
client depends on. The modules that behave differently read these flags; nothing else knows version names.

Paths are files of twentyhq/twenty; see docs/emulator.md for the list of differences and what is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TwentyVersion:
    name: str
    # REST creates honour ?upsert=true. The v1.3 line still served REST through the pre-common-API handlers,
    # whose handle() never reads the flag (engine/api/rest/core/handlers/rest-api-create-one.handler.ts and
    # rest-api-create-many.handler.ts, the handle() method beside commonHandle()).
    rest_upsert: bool = True
    # Those handlers' error wording: 'Record already exists' for a known id, handleDuplicateKeyError's
    # 'Duplicate <label> with value <v>. Please set a unique one.' for a unique field
    # (engine/api/graphql/workspace-query-runner/utils/handle-duplicate-key-error.util.ts), TypeORM's
    # EntityNotFoundError for an unknown id on update or delete, 'Body must be an array' and
    # 'Input must not be empty' for a bad batch body.
    legacy_errors: bool = False
    # The pre-common-API record input transformer did not type-check NUMBER: text was written and Postgres
    # stored null (observed, real-server-notes.md).
    lenient_numbers: bool = False
    # The REST API spends throttler tokens (common-base-query-runner.service.ts throttleQueryExecution); the
    # v1.3 REST handlers did not call the throttler (its /graphql is throttled, as in every version serving it).
    rest_throttled: bool = True
    # POST /graphql serves create<Plural>(data, upsert) / create<Singular>(data, upsert) mutations
    # (engine/api/graphql/graphql-query-runner/resolvers/graphql-query-create-many-resolver.service.ts).
    graphql: bool = False
    # POST /graphql serves delete<Plural>(filter: ...), which soft-deletes every record the filter matches in
    # one call and answers them all (graphql-query-delete-many-resolver.service.ts: applyFilterToBuilder, then
    # softDelete().returning('*'); 150 in one call on the real v1.3 line). Every version serves it; `graphql`
    # above adds the create mutations.
    graphql_deletes: bool = True
    # POST /graphql serves the record query <plural>(filter, first, after) { edges { node } pageInfo } in every
    # line the connector meets: upstream main serves it (engine/api/graphql/graphql-query-runner/resolvers/
    # graphql-query-find-many-resolver.service.ts), as do the v1.3 and v2 lines. A page holds at most
    # graphql_answer_max records (QUERY_MAX_RECORDS). The emulator's --no-graphql-queries plays a deployment
    # whose proxy forwards only /rest.
    graphql_queries: bool = True
    # REST DELETE /rest/{plural}/{id} destroys the row whatever ?soft_delete says: the v1.3 line's
    # rest-api-delete-one.handler.ts calls repository.delete, not softDelete. Later lines read the flag
    # (parse-soft-delete-rest-request.util.ts, true only for soft_delete=true).
    rest_delete_destroys: bool = False
    # How many records a create<Plural> answer lists at most: the resolver reads what it wrote back with
    # .take(QUERY_MAX_RECORDS), whatever the batch held (graphql-query-create-many-resolver.service.ts,
    # fetchUpsertedRecords; twenty-shared/src/constants/QueryMaxRecords.ts: 60 on the v1.3 line, 10_000 from
    # v1.20). Seen on the real v1.3 server: an upsert of 200 records answers 60.
    graphql_answer_max: int = 10_000
    # graphql-rate-limit on every root field of /graphql and /metadata, metadata REST included (field_limit.py):
    # the v1.3 line answers the metadata REST API's refusal with 400 "Too many requests.".
    field_limiter: bool = False
    # Metadata type name of the rich-text composite: RICH_TEXT_V2 until v1.20 renamed it RICH_TEXT
    # (database/commands/upgrade-version-command/1-20/, twenty-shared FieldMetadataType).
    rich_text_type: str = "RICH_TEXT_V2"
    # noteTarget / taskTarget point at their targets through a MORPH_RELATION from v1.20: fields
    # targetPerson, targetCompany, ... with join columns targetPersonId, ...
    # (modules/note/standard-objects/note-target.workspace-entity.ts, task-target.workspace-entity.ts).
    morph_targets: bool = False
    # 429s carry Retry-After and X-RateLimit-* and the usage-limit body (error RATE_LIMITED, limitKind, scope,
    # limit, remaining, periodCount, periodUnit, retryAfterSeconds):
    # core-modules/usage-limit/utils/usage-limit-to-rest-api-exception-handler.util.ts and
    # build-rate-limit-response-headers.util.ts.
    usage_limit_429: bool = False
    # Records per batch call, and the default and largest page of GET /rest/{plural}: 200 / 60 / 200 as
    # recorded; from v1.20 twenty-shared/src/constants/QueryMaxRecords.ts (10_000) and
    # QueryDefaultLimitRecords.ts (1000).
    max_batch: int = 200
    default_page: int = 60
    max_page: int = 200
    # The REST metadata listing of the v2 line: `{"data": [objects], "pageInfo", "totalCount"}`, paged by id
    # (60 by default, `?limit=` up to 200, `starting_after=` / `ending_before=`:
    # engine/api/rest/metadata/utils/paginate-by-id-cursor.util.ts, object-metadata.controller.ts), fields with
    # `isUnique` and `settings` and no `relation` (from-field-metadata-entity-to-field-metadata-dto.util.ts).
    # Paths are files of the v2 snapshot (T3-Venture-Labs-Limited/myah-v4 at 88cf2a02, Twenty ≈ v2.19).
    paged_metadata: bool = False
    # POST /metadata, the GraphQL metadata API: `objects` and their `fields` with `relation` and
    # `morphRelations` (field-metadata.resolver.ts), the only place the v2 line names a relation's target.
    metadata_graphql: bool = False
    # A cursor (starting_after / ending_before) works with an order on a composite sub-field (name.firstName).
    # Upstream main of January 2026 answers 400 'Invalid cursor' (the cursor carries every sub-field, the order
    # one: engine/api/utils/build-cursor-composite-field-where-condition.utils.ts); the v2 line merges them
    # (validate-and-get-order-by.utils.ts, validateAndGetOrderByForCompositeField) and pages (recorded).
    composite_cursor: bool = False
    # A many-to-one field takes {"connect": {"where": {<unique field>: value}}} over REST, REST batch and GraphQL:
    # the ORM finds the one target before inserting, and a key matching none fails the whole call with
    # "Expected 1 record to connect to <field>, but found <n> for <column> = <value>"
    # (twenty-orm/relation-nested-queries/relation-nested-queries.ts, formatConnectRecordNotFoundErrorMessage).
    # Recorded on the v1.3 line (with its workspace flag IS_RELATION_CONNECT_ENABLED on) and the v2 line; the
    # other modes keep connect by id only, and so play a server without it.
    relation_connect: bool = False


VERSIONS = {
    "current": TwentyVersion("current"),
    "v1.3": TwentyVersion(
        "v1.3",
        rest_upsert=False,
        legacy_errors=True,
        lenient_numbers=True,
        rest_throttled=False,
        graphql=True,
        rest_delete_destroys=True,
        graphql_answer_max=60,
        field_limiter=True,
        relation_connect=True,
    ),
    "v1.20": TwentyVersion(
        "v1.20",
        graphql=True,
        rich_text_type="RICH_TEXT",
        morph_targets=True,
        usage_limit_429=True,
        max_batch=10_000,
        default_page=1000,
        max_page=10_000,
    ),
    # The v2 line as the real server built from the v2 snapshot answers (docs/emulator.md lists what was
    # checked on it): REST upsert honoured, every record call throttled with no rate-limit headers (the
    # throttler's HttpException body, as current), 200-record batches, MORPH note/task targets.
    "v2": TwentyVersion(
        "v2",
        graphql=True,
        rich_text_type="RICH_TEXT",
        morph_targets=True,
        paged_metadata=True,
        metadata_graphql=True,
        composite_cursor=True,
        relation_connect=True,
    ),
}
CURRENT = VERSIONS["current"]


def get_version(name: str) -> TwentyVersion:
    try:
        return VERSIONS[name]
    except KeyError:
        raise ValueError(f"unknown Twenty version {name!r}; expected one of {', '.join(VERSIONS)}") from None
