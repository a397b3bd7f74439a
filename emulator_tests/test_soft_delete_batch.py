"""Soft delete by batch, as Twenty plays it (issue 21): `delete<Plural>(filter)` over GraphQL soft-deletes every
record the filter matches in one call and answers them (graphql-query-delete-many-resolver.service.ts), in every
mode; the v1.3 line's REST DELETE destroys whatever soft_delete says (rest-api-delete-one.handler.ts)."""

from __future__ import annotations

import pytest
from emulator_client import Client

from twenty_emulator.testing import run_emulator

DELETE = "mutation D($filter: CompanyFilterInput!) { deleteCompanies(filter: $filter) { id deletedAt name } }"


def seed(client: Client, n: int) -> list[str]:
    body = [
        {"name": f"C{i}", "domainName": {"primaryLinkUrl": f"https://c{i}.del.example"}} for i in range(n)
    ]
    response = client.post("/rest/batch/companies", json=body)
    assert response.status_code == 201, response.text
    return [c["id"] for c in response.json()["data"]["createCompanies"]]


def delete(client: Client, where) -> dict:
    response = client.post("/graphql", json={"query": DELETE, "variables": {"filter": where}})
    assert response.status_code == 200, response.text
    return response.json()


def test_delete_many_soft_deletes_what_the_filter_matches_and_answers_it(client, emulator):
    ids = seed(client, 4)
    where = {
        "or": [
            {"id": {"in": ids[:2]}},
            {"domainName": {"primaryLinkUrl": {"in": ["https://c3.del.example"]}}},
        ]
    }
    answer = delete(client, where)["data"]["deleteCompanies"]
    assert sorted(r["name"] for r in answer) == ["C0", "C1", "C3"] and all(r["deletedAt"] for r in answer)
    live = client.get("/rest/companies").json()["data"]["companies"]
    assert [c["name"] for c in live] == ["C2"]
    stored = emulator.records("companies")  # the inspection door shows the soft-deleted ones
    assert len(stored) == 4 and sorted(c["name"] for c in stored if c["deletedAt"]) == ["C0", "C1", "C3"]
    # Deleting again answers the same records again, as both real lines do.
    again = delete(client, where)["data"]["deleteCompanies"]
    assert sorted(r["name"] for r in again) == ["C0", "C1", "C3"]


def test_delete_many_refuses_a_missing_filter_a_bad_id_and_an_unknown_field(client):
    seed(client, 1)
    assert delete(client, {})["errors"][0]["message"] == "Filter is required"
    assert "Invalid UUID" in delete(client, {"id": {"in": ["nope"]}})["errors"][0]["message"]
    assert "is not defined" in delete(client, {"domian": {"eq": "x"}})["errors"][0]["message"]
    assert len(client.get("/rest/companies").json()["data"]["companies"]) == 1  # nothing was deleted


@pytest.mark.parametrize(("version", "kept"), [("current", True), ("v1.3", False)])
def test_rest_delete_with_soft_delete_keeps_the_row_except_on_the_v1_3_line(version, kept):
    with run_emulator("--rate-limit", "off", api_key="test-key", twenty_version=version) as emu:
        client = Client(emu)
        (record_id,) = seed(client, 1)
        response = client.delete(f"/rest/companies/{record_id}", params={"soft_delete": "true"})
        assert response.status_code == 200, response.text
        assert bool(emu.records("companies")) is kept
        answer = delete(client, {"id": {"in": [record_id]}})["data"]["deleteCompanies"]
        assert [r["id"] for r in answer] == ([record_id] if kept else [])  # a destroyed row cannot be deleted
