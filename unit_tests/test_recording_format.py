"""The recording format's pure parts (conformance/recording.py): refusals, timestamps, reductions."""

from conformance.recording import is_throttled, reduce, timestamp_order


def test_every_limiter_refusal_recorded_is_recognised_and_a_record_error_is_not() -> None:
    v2_rest = {
        "statusCode": 429,
        "error": "HttpException",
        "messages": ["Limit reached (100 tokens per 60000 ms)"],
    }
    v13_metadata = {"statusCode": 400, "messages": ["Too many requests."], "error": "Bad Request"}
    v13_graphql = {
        "errors": [{"message": "Too many requests.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    }
    v2_graphql = {"errors": [{"message": "Limit reached (100 tokens per 60000 ms)", "extensions": {}}]}
    assert is_throttled("/rest/people", 429, v2_rest)
    assert is_throttled("/rest/metadata/objects", 400, v13_metadata)
    assert is_throttled("/graphql", 200, v13_graphql) and is_throttled("/metadata", 200, v13_graphql)
    assert is_throttled("/graphql", 200, v2_graphql)
    duplicate = {
        "errors": [{"message": "A duplicate entry was detected", "extensions": {"code": "BAD_USER_INPUT"}}]
    }
    assert not is_throttled("/graphql", 200, duplicate)
    assert not is_throttled("/rest/people", 400, {"messages": ["Invalid value 'todo' for field \"status\""]})


def test_timestamps_say_for_each_record_whether_it_was_created_or_updated() -> None:
    body = {
        "data": {
            "createPeople": [
                {"id": "a", "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-02T00:00:00.000Z"},
                {"id": "b", "createdAt": "2026-01-02T00:00:00.000Z", "updatedAt": "2026-01-02T00:00:00.000Z"},
            ]
        }
    }
    assert timestamp_order(body) == {
        "body.data.createPeople[0]": "differ",
        "body.data.createPeople[1]": "equal",
    }


def _field(name: str, target: str | None = None, custom: bool = False, type_: str = "RELATION") -> dict:
    relation = {"targetObjectMetadata": {"nameSingular": target}} if target else None
    return {"name": name, "type": type_ if target else "TEXT", "isCustom": custom, "relation": relation}


def test_a_listing_keeps_the_listed_objects_and_drops_what_others_added_to_a_shared_server() -> None:
    person = {
        "nameSingular": "person",
        "fields": [
            _field("jobTitle"),
            _field("company", "company"),
            _field("gadgets", "gadget", custom=True),
        ],
    }
    body = {"data": {"objects": [{"nameSingular": "gadget", "fields": []}, person]}}
    kept = reduce({"case": "metadata_objects_list"}, body)["data"]["objects"]
    assert [o["nameSingular"] for o in kept] == ["person"]
    assert [f["name"] for f in kept[0]["fields"]] == ["company", "jobTitle"]
    # the v2 shape, relation fields only
    v2 = reduce({"case": "x", "reduce": "metadata_relations"}, {"data": [person], "totalCount": 41})
    assert [f["name"] for f in v2["data"][0]["fields"]] == ["company"] and v2["totalCount"] == 1
