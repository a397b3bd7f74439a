"""Try links by connect on a real Twenty server, through the console script, then read back.

Usage: .venv/bin/python scripts/try_connect.py URL KEY_FILE [--seed]
  e.g. .venv/bin/python scripts/try_connect.py http://127.0.0.1:3000 ~/twenty-rig/v1.3/api-key.txt --seed

It creates one company with a run token, runs `check` (which probes connect, writing nothing: the probe's id is
read back and must not exist), then `write` of three people linked by domain (one to that company, written as
`HTTPS://…/` so the key is normalised; one to a domain no company has, so its batch's connect is refused and the
batch is sent again with a lookup; one more to the company), and reads the people back. The connector links by
connect only when the target object is too large to read whole (over 2,000 records): `--seed` first adds 2,001
companies (11 batch calls, all named with the run token) so the write takes that path, and destroys them
afterwards (two GraphQL calls). Use `--seed` only on a server whose REST is not rate-limited (the v1.3 line);
without it about 12 calls. The key is read from the file and never printed. Exit status 0 when every link is as
expected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

CONNECTOR = Path(sys.executable).with_name("destination-twenty")
PROBE_ID = "0c0ec7a0-0000-4000-8000-00000000c0ec"  # capabilities.connect_works


def main(argv: list[str]) -> int:
    seed = "--seed" in argv
    args = [a for a in argv if a != "--seed"]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    url, key = args[0].rstrip("/"), Path(args[1]).expanduser().read_text().strip()
    token = f"cx{int(time.time())}"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    ok = True
    company = session.post(
        f"{url}/rest/companies",
        json={"name": f"Connect {token}", "domainName": {"primaryLinkUrl": f"https://{token}.example"}},
        timeout=30,
    ).json()["data"]["createCompany"]["id"]
    if seed:
        for start in range(0, 2001, 200):
            body = [
                {
                    "name": f"Seed {token} {i}",
                    "domainName": {"primaryLinkUrl": f"https://s{i}-{token}.example"},
                }
                for i in range(start, min(start + 200, 2001))
            ]
            session.post(f"{url}/rest/batch/companies", json=body, timeout=60).raise_for_status()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = {
                "api_key": key,
                "api_url": url,
                "mode": "people",
                "partial_success": True,
                "column_mapping": [
                    {"column": "email", "field": "emails.primaryEmail"},
                    {"column": "domain", "field": "company.domainName.primaryLinkUrl"},
                ],
            }
            path = Path(tmp, "config.json")
            path.write_text(json.dumps(config))
            os.chmod(path, 0o600)
            checked = run([str(CONNECTOR), "check", "--config", str(path)])
            line = next((m for m in logs(checked) if "Twenty server:" in m), "")
            print("check:", line)
            probe = session.get(f"{url}/rest/people/{PROBE_ID}", timeout=30)
            print(f"the probe's id read back: {probe.status_code} (must not exist)")
            ok &= probe.status_code in (400, 404)
            catalog = {
                "streams": [
                    {
                        "stream": {
                            "name": "contacts",
                            "json_schema": {},
                            "supported_sync_modes": ["full_refresh"],
                        },
                        "sync_mode": "full_refresh",
                        "destination_sync_mode": "append",
                    }
                ]
            }
            Path(tmp, "catalog.json").write_text(json.dumps(catalog))
            rows = [
                {"email": f"a@{token}.example", "domain": f"HTTPS://{token.upper()}.example/"},
                {"email": f"b@{token}.example", "domain": f"https://nowhere-{token}.example"},
                {"email": f"c@{token}.example", "domain": f"https://{token}.example"},
            ]
            lines = [
                json.dumps({"type": "RECORD", "record": {"stream": "contacts", "data": r, "emitted_at": 0}})
                for r in rows
            ]
            written = run(
                [str(CONNECTOR), "write", "--config", str(path), "--catalog", str(Path(tmp, "catalog.json"))],
                "\n".join(lines) + "\n",
            )
            for message in logs(written):
                if "Sync summary" in message or "rejected" in message:
                    print("write:", message)
        stored = session.get(
            f"{url}/rest/people",
            params={"filter": f"emails.primaryEmail[like]:%@{token}.example"},
            timeout=30,
        ).json()["data"]["people"]
        links = {p["emails"]["primaryEmail"]: p.get("companyId") for p in stored}
        print("stored:", json.dumps(links))
        expected = {f"a@{token}.example": company, f"c@{token}.example": company}
        ok &= links == expected
    finally:
        if seed:
            for mutation in ("deleteCompanies", "destroyCompanies"):
                query = f'mutation {{ {mutation}(filter: {{name: {{like: "Seed {token} %"}}}}) {{ id }} }}'
                session.post(f"{url}/graphql", json={"query": query}, timeout=60)
    print("OK" if ok else "NOT AS EXPECTED")
    return 0 if ok else 1


def run(argv: list[str], stdin: str = "") -> str:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=600).stdout


def logs(stdout: str) -> list[str]:
    out = []
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("type") == "LOG":
            out.append(message["log"]["message"])
        elif message.get("type") == "CONNECTION_STATUS":
            out.append(json.dumps(message["connectionStatus"]))
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
