"""Links by connect (write/connects.py): the body Twenty's ORM reads, taking connects back out of a batch, and the
links that never probe the server (note/task targets, non-unique fields, ids)."""

from __future__ import annotations

from destination_twenty.mapping.relations import Lookup
from destination_twenty.write.connects import Connects, is_connect, strip, where
from destination_twenty.write.items import Item


def lookup(**changes) -> Lookup:
    values = dict(
        index=1,
        column="domain",
        field="company.domainName.primaryLinkUrl",
        relation="company",
        join_column="companyId",
        target="companies",
        target_singular="company",
        path="domainName.primaryLinkUrl",
        leave_unset=False,
        is_target=False,
        unique=True,
    )
    values.update(changes)
    return Lookup(**values)


class NoCalls:
    def create_many(self, *args, **kwargs):
        raise AssertionError("no probe expected")


def test_where_nests_the_path_as_the_orm_reads_it():
    assert where("domainName.primaryLinkUrl", "https://acme.example") == {
        "connect": {"where": {"domainName": {"primaryLinkUrl": "https://acme.example"}}}
    }
    assert where("name", "Acme") == {"connect": {"where": {"name": "Acme"}}}


def test_strip_takes_only_the_connects_out():
    company, owner = lookup(), lookup(relation="accountOwner", join_column="accountOwnerId", path="userEmail")
    item = Item(1, "s", 1, {"company": where(company.path, "k")}, frozenset(), 0)
    item.payload["accountOwnerId"] = "4a3b…"
    item.lookups = ((company, "k"), (owner, "o@x.example"))
    assert strip([item]) == [(item, company, "k")]
    assert item.payload == {"accountOwnerId": "4a3b…"}
    assert not is_connect(item.payload.get("company"))


def test_targets_non_unique_fields_and_ids_never_probe():
    connects = Connects(NoCalls())
    assert not connects.usable("notes", lookup(is_target=True))
    assert not connects.usable("people", lookup(unique=False))
    assert not connects.usable("people", lookup(path="id"))
    assert not Connects(NoCalls(), enabled=False).usable("people", lookup())
    assert connects.seen() == {}


class Yes:
    def create_many(self, plural, records, upsert):
        from destination_twenty.errors import DataError

        raise DataError(
            "Expected 1 record to connect to company, but found 0 for domainNamePrimaryLinkUrl = x"
        )


def test_a_refusal_about_connect_itself_turns_connect_off_a_missing_target_does_not():
    connects = Connects(Yes())
    assert connects.usable("people", lookup())
    connects.refused("people", [lookup()], "Expected 1 record to connect to company, but found 0 for x = y")
    connects.refused("people", [lookup()], "Invalid value 'x' for field \"city\"")
    assert connects.usable("people", lookup())
    connects.refused("people", [lookup()], 'Field "connect" is not defined by type "CompanyCreateInput".')
    assert not connects.usable("people", lookup())
