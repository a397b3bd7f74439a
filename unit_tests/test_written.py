"""Issue 19, item 6, pure logic: what a sync wrote is known by its keys, and the resolver asks Twenty about
every key it does not know, even after reading a small target whole."""

from destination_twenty.mapping.relations import Lookup
from destination_twenty.write.links import Resolver
from destination_twenty.write.written import WrittenKeys

DOMAIN = "domainName.primaryLinkUrl"


def company(record_id, url, name="C"):
    return {"id": record_id, "name": name, "domainName": {"primaryLinkUrl": url}}


def watching(kept=200_000):
    written = WrittenKeys(kept)
    written.watch("companies", DOMAIN)
    return written


def test_written_keys_are_found_by_their_normalised_value():
    written = watching()
    written.wrote("companies", [company("c1", "https://Acme.example/"), {"no": "id"}], [DOMAIN, "id"])
    assert written.get("companies", DOMAIN, "https://acme.example") == "c1"
    assert written.get("people", DOMAIN, "https://acme.example") is None  # per object


def test_a_record_whose_key_changed_is_no_longer_found_by_the_old_one():
    written = watching()
    written.wrote("companies", [company("c1", "https://old.example")], [DOMAIN])
    written.wrote("companies", [company("c1", "https://new.example")], [DOMAIN])
    assert written.get("companies", DOMAIN, "https://old.example") is None
    assert written.get("companies", DOMAIN, "https://new.example") == "c1"
    written.wrote("companies", [{"id": "c1", "createdAt": "…"}], [DOMAIN])  # an answer without the field
    assert written.get("companies", DOMAIN, "https://new.example") == "c1"


def test_written_keys_are_bounded_oldest_first():
    written = watching(kept=3)
    written.wrote("companies", [company(f"c{n}", f"https://{n}.example") for n in range(5)], [DOMAIN])
    assert len(written) == 3
    assert written.get("companies", DOMAIN, "https://0.example") is None
    assert written.get("companies", DOMAIN, "https://4.example") == "c4"


class FakeTwenty:
    """The calls the resolver makes, answered from `rows`; counts them."""

    def __init__(self, rows):
        self.rows = rows
        self.calls = []

    def find_all_if_at_most(self, plural, at_most):
        self.calls.append(("whole", plural))
        return list(self.rows) if len(self.rows) <= at_most else None

    def find(self, plural, expression):
        self.calls.append(("find", expression))
        wanted = expression.split("[in]:[", 1)[1].rstrip("]").split(",")
        return [r for r in self.rows if r["domainName"]["primaryLinkUrl"] in wanted]


def lookup():
    return Lookup(
        index=0,
        column="domain",
        field="company." + DOMAIN,
        relation="company",
        join_column="companyId",
        target="companies",
        target_singular="company",
        path=DOMAIN,
        leave_unset=False,
        is_target=False,
    )


def test_a_key_missing_from_a_small_target_read_whole_is_looked_up_before_it_is_a_miss():
    twenty = FakeTwenty([company("c1", "https://acme.example")])
    resolver = Resolver(twenty)
    first = resolver.ids([(lookup(), "https://acme.example")])
    assert first == {("companies", DOMAIN, "https://acme.example"): ("c1",)}
    assert twenty.calls == [("whole", "companies")]  # a hit from the whole read: no other call
    twenty.rows.append(company("c2", "https://fresh.example"))  # created since, by someone else
    later = resolver.ids([(lookup(), "https://fresh.example"), (lookup(), "https://nope.example")])
    assert later[("companies", DOMAIN, "https://fresh.example")] == ("c2",)
    assert later[("companies", DOMAIN, "https://nope.example")] == ()
    assert twenty.calls[1:] == [("find", f"{DOMAIN}[in]:[https://fresh.example,https://nope.example]")]


def test_what_the_sync_wrote_resolves_without_a_call():
    twenty = FakeTwenty([])
    written = watching()
    resolver = Resolver(twenty, written)
    written.wrote("companies", [company("c9", "https://mine.example")], [DOMAIN])  # a batch of this sync
    found = resolver.ids([(lookup(), "https://mine.example")])
    assert found == {("companies", DOMAIN, "https://mine.example"): ("c9",)}
    assert twenty.calls == [("whole", "companies")]  # the sizing read only; the key itself cost nothing


def test_only_watched_keys_are_kept():
    written = WrittenKeys()
    written.wrote("companies", [company("c1", "https://a.example")], [DOMAIN])
    assert len(written) == 0 and written.get("companies", DOMAIN, "https://a.example") is None
