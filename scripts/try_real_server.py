"""Try links and targets on a real Twenty server, as a user would: through the console script, then read back.

Usage: .venv/bin/python scripts/try_real_server.py URL KEY_FILE
  e.g. .venv/bin/python scripts/try_real_server.py http://127.0.0.1:3001 ~/twenty-rig/v2/api-key.txt

It runs `check` and `discover`, then `write` for companies, people linked to them by domain, an opportunity
linked to its company (by domain) and point of contact (by email), and a note and a task on a person, a company
and an opportunity; then it reads every record back over REST and checks each link. Every name, email and
domain carries a run token, so runs never meet each other's records (nothing is deleted). About 60 API calls:
a v2-line server allows 100 a minute for the whole workspace. The key is read from the file and never printed.
Exit status 0 when every link is stored as written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

CONNECTOR = Path(sys.executable).with_name("destination-twenty")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    url, key = argv[0].rstrip("/"), Path(argv[1]).expanduser().read_text().strip()
    token = f"try{int(time.time())}"
    with tempfile.TemporaryDirectory() as tmp:
        run = Runner(url, key, Path(tmp))
        checked = run.connector(["check"], "people", [("email", "emails.primaryEmail"), DOMAIN])
        status = next(m["connectionStatus"] for m in checked if m["type"] == "CONNECTION_STATUS")
        report(f"check: {status['status']}", status["status"] == "SUCCEEDED")
        for line in logs(checked):
            if line.startswith("Twenty server:"):
                print(f"  {line}")
        catalog = next(
            m for m in run.connector(["discover"], "people", []) if m["type"] == "DESTINATION_CATALOG"
        )
        people_schema = next(
            op["json_schema"]["properties"]
            for op in catalog["destination_catalog"]["operations"]
            if op["object_name"] == "people"
        )
        report(
            "discover: people.company is a lookup by domain",
            "domainName" in people_schema["company"]["properties"],
        )

        domains = {name: f"https://{name}-{token}.example" for name in ("acme", "globex")}
        run.write(
            "companies",
            [("name", "name"), ("domain", "domainName.primaryLinkUrl")],
            [{"name": f"{name.title()} {token}", "domain": d} for name, d in domains.items()],
        )
        people = {f"ada-{token}@try.example": "acme", f"bo-{token}@try.example": "globex"}
        run.write(
            "people",
            [("email", "emails.primaryEmail"), DOMAIN],
            [{"email": email, "domain": domains[company].upper() + "/"} for email, company in people.items()],
        )
        deal = f"Deal {token}"
        ada = f"ada-{token}@try.example"
        run.write(
            "opportunities",
            [("deal", "name"), DOMAIN, ("contact", "pointOfContact.emails.primaryEmail")],
            [{"deal": deal, "domain": domains["globex"], "contact": ada.upper()}],
        )
        targets = [
            ("title", "title"),
            ("who", "targets.person.emails.primaryEmail"),
            ("where", "targets.company.domainName.primaryLinkUrl"),
            ("deal", "targets.opportunity.name"),
        ]
        row = {"title": f"Call {token}", "who": ada, "where": domains["acme"], "deal": deal}
        run.write("notes", targets, [row])
        run.write("tasks", targets, [row])

        company_ids = {
            c["domainName"]["primaryLinkUrl"]: c["id"] for c in run.read("companies", f"name[like]:%{token}%")
        }
        person_ids = {}
        for p in run.read("people", f"emails.primaryEmail[like]:%{token}%"):
            person_ids[p["emails"]["primaryEmail"]] = p["id"]
            expected = company_ids.get(domains[people[p["emails"]["primaryEmail"]]])
            report(
                f"person {p['emails']['primaryEmail']} → company {p['companyId']}", p["companyId"] == expected
            )
        report("both people stored", len(person_ids) == 2)
        (opportunity,) = run.read("opportunities", f"name[eq]:{deal}")
        report(
            f"opportunity → company {opportunity['companyId']}, point of contact {opportunity['pointOfContactId']}",
            (opportunity["companyId"], opportunity["pointOfContactId"])
            == (company_ids[domains["globex"]], person_ids[ada]),
        )
        for plural, junction, owner_column in (
            ("notes", "noteTargets", "noteId"),
            ("tasks", "taskTargets", "taskId"),
        ):
            (owner,) = run.read(plural, f"title[eq]:Call {token}")
            rows = run.read(junction, f"{owner_column}[eq]:{owner['id']}")
            old = ("personId", "companyId", "opportunityId")  # before the MORPH targets of v1.20+
            names = ("targetPersonId", "targetCompanyId", "targetOpportunityId")
            names = names if rows and "targetPersonId" in rows[0] else old
            links = sorted((column, row[column]) for row in rows for column in names if row.get(column))
            wanted = (person_ids[ada], company_ids[domains["acme"]], opportunity["id"])
            expected = sorted(zip(names, wanted, strict=True))
            report(f"{plural[:-1]} {owner['id']}: {len(rows)} {junction} {links}", links == expected)
    print(f"run token {token}: {'every link stored' if not FAILED else f'{len(FAILED)} checks failed'}")
    return 1 if FAILED else 0


DOMAIN = ("domain", "company.domainName.primaryLinkUrl")
FAILED: list[str] = []


def report(line: str, ok: bool) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {line}")
    if not ok:
        FAILED.append(line)


def logs(messages: list[dict[str, Any]]) -> list[str]:
    return [m["log"]["message"] for m in messages if m["type"] == "LOG"]


class Runner:
    def __init__(self, url: str, key: str, tmp: Path):
        self.url, self.key, self.tmp = url, key, tmp
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def connector(
        self, args: list[str], mode: str, mapping: list[tuple[str, str]], stdin: str = ""
    ) -> list[dict]:
        config = {
            "api_key": self.key,
            "api_url": self.url,
            "mode": mode,
            "upsert": True,
            "column_mapping": [{"column": c, "field": f} for c, f in mapping],
        }
        path = self.tmp / "config.json"
        path.write_text(json.dumps(config))
        os.chmod(path, 0o600)
        argv = [str(CONNECTOR), *args, "--config", str(path)]
        if args[0] == "write":
            catalog = {
                "streams": [
                    {
                        "stream": {
                            "name": mode,
                            "json_schema": {"type": "object"},
                            "supported_sync_modes": ["full_refresh"],
                        },
                        "sync_mode": "full_refresh",
                        "destination_sync_mode": "append",
                    }
                ]
            }
            (self.tmp / "catalog.json").write_text(json.dumps(catalog))
            argv += ["--catalog", str(self.tmp / "catalog.json")]
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=600)
        messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0:
            errors = [m["trace"]["error"]["message"] for m in messages if m["type"] == "TRACE"]
            report(f"{' '.join(args)} {mode}: exit {proc.returncode} {errors}", False)
        return messages

    def write(self, mode: str, mapping: list[tuple[str, str]], rows: list[dict]) -> None:
        stdin = "".join(
            json.dumps({"type": "RECORD", "record": {"stream": mode, "data": row, "emitted_at": 0}}) + "\n"
            for row in rows
        )
        messages = self.connector(["write"], mode, mapping, stdin)
        summary = [line for line in logs(messages) if "created" in line and "rejected" in line]
        print(f"     write {mode}: {summary[-1] if summary else 'no summary'}")

    def read(self, plural: str, filter_expression: str) -> list[dict]:
        for _attempt in range(5):  # the workspace's budget is shared: wait out a 429
            response = self.session.get(
                f"{self.url}/rest/{plural}", params={"filter": filter_expression, "limit": "200"}, timeout=30
            )
            if response.status_code != 429:
                break
            time.sleep(15)
        response.raise_for_status()
        return response.json()["data"][plural]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
