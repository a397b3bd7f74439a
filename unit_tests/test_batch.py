"""Pure helpers of the batch sender: which writes Twenty would wipe, and the lookup filters built for them."""

from destination_twenty.mapping.replaced import is_partial
from destination_twenty.write.items import Item
from destination_twenty.write.reconcile import lookup_filters


def item(payload, keys=()):
    return Item(seq=1, stream="s", position=1, payload=payload, keys=frozenset(keys), size=10)


def test_partial_links_and_emails():
    assert is_partial("LINKS", {"primaryLinkUrl": "https://a.example"})
    assert is_partial("LINKS", {"primaryLinkUrl": "u", "primaryLinkLabel": "l"})
    assert not is_partial("LINKS", {"primaryLinkUrl": "u", "primaryLinkLabel": "l", "secondaryLinks": []})
    assert is_partial("EMAILS", {"additionalEmails": ["a@x.example"]})
    assert not is_partial("EMAILS", {"primaryEmail": "a@x.example"})  # Twenty keeps additionalEmails then


def test_lookup_filters_use_in_lists_and_look_up_odd_keys_alone():
    items = [
        item({"id": "00000000-0000-4000-8000-000000000001"}),
        item({"emails": {"primaryEmail": "a@x.example"}}, [("emails.primaryEmail", "a@x.example")]),
        item({"emails": {"primaryEmail": "b@x.example"}}, [("emails.primaryEmail", "b@x.example")]),
        item({}, [("domainName.primaryLinkUrl", "https://a.example/x,y")]),
        item({}, [("domainName.primaryLinkUrl", 'say "hi"')]),
        item({}, [("domainName.primaryLinkUrl", 'it\'s "both"')]),
    ]
    # Twenty's or() splitter toggles on quotes and brackets, and it counts parentheses even inside quotes, so no
    # quoting carries such a value: each odd key is a lone [like] with `_` for every syntax character (issue 19,
    # item 9; the rows found are compared by their own key).
    assert lookup_filters(items) == [
        "or(id[in]:[00000000-0000-4000-8000-000000000001],emails.primaryEmail[in]:[a@x.example,b@x.example])",
        "domainName.primaryLinkUrl[like]:https://a.example/x_y",
        "domainName.primaryLinkUrl[like]:say%%hi%",  # `%` where Twenty may store %20, %22 (keys.link_key)
        "domainName.primaryLinkUrl[like]:it%s%%both%",
    ]


def test_long_lookups_are_split_to_keep_urls_short():
    items = [
        item({}, [("emails.primaryEmail", f"person.number.{i}@a-rather-long-domain.example")])
        for i in range(200)
    ]
    expressions = lookup_filters(items)
    assert len(expressions) > 1
    assert all(len(e) < 6500 for e in expressions)
    assert sum(e.count("@") for e in expressions) == 200  # every value looked up, once
