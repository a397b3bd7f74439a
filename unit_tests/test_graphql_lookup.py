"""The GraphQL form of a batch's lookup finds what the REST filters find: `in` lists for keys that fit in a
REST list, the same lone `like` pattern for those that do not, composite sub-fields nested."""

from destination_twenty.twenty.filters import any_of, graphql_any_of
from destination_twenty.twenty.graphql import find_query, found_page


def test_the_graphql_filter_holds_every_key_of_the_rest_filters():
    values = {
        "id": ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"],
        "domainName.primaryLinkUrl": ["https://a.example", "https://odd.example/a(1),b", "https://a.example"],
    }
    assert graphql_any_of(values) == {
        "or": [
            {"id": {"in": values["id"]}},
            {"domainName": {"primaryLinkUrl": {"in": ["https://a.example"]}}},
            {"domainName": {"primaryLinkUrl": {"like": "https://odd.example/a_1__b"}}},
        ]
    }
    # The same lone pattern as REST's, so both read the same rows (compared exactly afterwards).
    assert "domainName.primaryLinkUrl[like]:https://odd.example/a_1__b" in any_of(values)


def test_find_query_names_the_filter_type_and_pages():
    query = find_query("companies", "company", ["id", "domainName { primaryLinkUrl }"])
    assert "$filter: CompanyFilterInput" in query
    assert "companies(filter: $filter, first: $first, after: $after)" in query
    rows, after = found_page(
        {
            "companies": {
                "edges": [{"node": {"id": "x"}}],
                "pageInfo": {"hasNextPage": True, "endCursor": "c"},
            }
        },
        "companies",
    )
    assert rows == [{"id": "x"}] and after == "c"
    assert found_page({"companies": {"edges": [], "pageInfo": {"hasNextPage": False}}}, "companies") == (
        [],
        None,
    )
