"""Pure pieces of issue 21: the GraphQL delete filter, matching-key comparison, and which STATE counts a record
that waited for its link target."""

from __future__ import annotations

from types import SimpleNamespace

from destination_twenty.mapping.keys import match_text
from destination_twenty.write.deferred import Deferred
from destination_twenty.write.items import Item
from destination_twenty.write.operations import delete_filter, describe_key, matches


def item(keys=(), match=(), stream="s", lookups=()):
    return Item(1, stream, 1, {}, frozenset(keys), 0, match=tuple(match), lookups=tuple(lookups))


def test_the_delete_filter_puts_ids_and_unique_values_in_lists_and_composite_keys_in_ands():
    items = [
        item({("id", "a"), ("emails.primaryEmail", "x@y.org")}),
        item({("id", "b")}),
        item(match=[("name.firstName", "Ada"), ("city", "Lyon")]),
    ]
    assert delete_filter(items) == {
        "or": [
            {"emails": {"primaryEmail": {"in": ["x@y.org"]}}},
            {"id": {"in": ["a", "b"]}},
            {"and": [{"name": {"firstName": {"eq": "Ada"}}}, {"city": {"eq": "Lyon"}}]},
        ]
    }
    assert delete_filter(items[1:2]) == {"id": {"in": ["b"]}}


def test_a_row_matches_on_any_unique_key_or_on_every_part_of_a_composite_key():
    assert matches(
        item({("emails.primaryEmail", "x@y.org")}), {"id": "z", "emails": {"primaryEmail": "X@y.org"}}, None
    )
    composite = item(match=[("name.firstName", "Ada"), ("name.lastName", ""), ("city", "Lyon")])
    row = {"id": "1", "name": {"firstName": "Ada", "lastName": ""}, "city": "Lyon"}
    assert matches(composite, row, None)
    assert not matches(composite, {**row, "city": "Paris"}, None)
    assert describe_key(composite) == "name.firstName=Ada + name.lastName= + city=Lyon"


def test_match_text_normalises_as_twenty_compares():
    assert match_text("emails.primaryEmail", " A@B.org ") == "a@b.org"
    assert match_text("domainName.primaryLinkUrl", "HTTPS://Acme.example/") == "https://acme.example"
    assert match_text("city", {"x": 1}) is None and match_text("city", "") is None


class _Resolver:
    def __init__(self):
        self.known_keys = set()

    def known(self, lookup, key):
        return (lookup.target, key) in self.known_keys


def test_a_waiting_record_is_counted_by_the_first_state_after_it_that_covers_its_stream():
    resolver = _Resolver()
    deferred = Deferred(resolver, {"companies"})
    sink = SimpleNamespace(target=SimpleNamespace(plural="people"))
    lookup = SimpleNamespace(target="companies", path="domainName.primaryLinkUrl")
    waiting = item({("id", "p1")}, stream="people", lookups=[(lookup, "https://c.example")])
    wait, _ = deferred.waits(sink, waiting, lambda key: False)
    assert wait
    deferred.add(sink, waiting)
    assert deferred.holding
    # a later version of the same record waits behind it
    assert deferred.waits(sink, item({("id", "p1")}, stream="people"), lambda key: False)[0]
    companies_state = deferred.close(SimpleNamespace(streams=["companies"])).span
    people_state = deferred.close(SimpleNamespace(streams=["people"])).span
    companies_state.emerged = people_state.emerged = True
    assert deferred.covering(companies_state, "people") is people_state
    assert deferred.ready(final=False) == []  # its company is still unknown
    resolver.known_keys.add(("companies", "https://c.example"))
    ((span, pairs),) = deferred.ready(final=False)
    assert span is companies_state and [i for _, i in pairs] == [waiting]
    span.in_flight -= 1
    assert [s.state.streams for s in deferred.echoable()] == [["companies"], ["people"]]
    assert not deferred.holding
