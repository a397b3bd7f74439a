"""`make demo`: start the local Twenty emulator, run a real sync through the console script, show the result.

The connector runs exactly as Airbyte would run it (`destination-twenty write --config … --catalog …` with
messages on stdin); the table at the end is read back from what the emulator stored.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from twenty_emulator.testing import run_emulator

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CONNECTOR = Path(sys.executable).with_name("destination-twenty")
API_KEY = "demo-key-0f3c9a7e21"  # as long as a real key must be (config.MIN_API_KEY_LENGTH)


def main() -> int:
    with (
        run_emulator("--demo-data", "--rate-limit", "off", api_key=API_KEY) as emulator,
        tempfile.TemporaryDirectory() as tmp,
    ):
        print(f"Twenty emulator at {emulator.url} (fresh workspace with demo data)\n")
        config = json.loads((EXAMPLES / "companies_config.json").read_text())
        config.update(api_key=API_KEY, api_url=emulator.url)
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        catalog = str(EXAMPLES / "companies_catalog.json")

        print("$ destination-twenty check --config config.json")
        check = subprocess.run(
            [str(CONNECTOR), "check", "--config", str(config_path)], capture_output=True, text=True
        )
        show(check.stdout)

        print(
            "\n$ destination-twenty write --config config.json --catalog companies_catalog.json < companies_messages.jsonl"
        )
        write = sync(config_path, catalog)
        show(write.stdout)
        print(f"(exit code {write.returncode})\n")

        print("$ destination-twenty write …   (the same data again: upsert updates, nothing is duplicated)")
        again = sync(config_path, catalog)
        show("\n".join(line for line in again.stdout.splitlines() if "Sync summary" in line))
        print()

        print("Companies stored in the emulator:")
        rows = [
            (
                c["name"],
                c["domainName"]["primaryLinkUrl"],
                c["employees"],
                c["annualRecurringRevenue"]["amountMicros"],
                c["annualRecurringRevenue"]["currencyCode"],
                c["idealCustomerProfile"],
                c["address"]["addressCity"],
            )
            for c in emulator.records("companies")
            if not c.get("deletedAt")
        ]
        table(("name", "domain", "employees", "ARR micros", "currency", "ICP", "city"), rows)

        # A second stream: people at those companies, linked by the company's domain (no Twenty id needed).
        people_config = json.loads((EXAMPLES / "people_config.json").read_text())
        people_config.update(api_key=API_KEY, api_url=emulator.url)
        people_path = Path(tmp) / "people_config.json"
        people_path.write_text(json.dumps(people_config))
        print(
            "\n$ destination-twenty write --config people_config.json --catalog people_catalog.json "
            "< people_messages.jsonl   (people linked to their company by domain)"
        )
        people = sync(people_path, str(EXAMPLES / "people_catalog.json"), "people_messages.jsonl")
        show(people.stdout)
        print(f"(exit code {people.returncode})\n")
        names = {c["id"]: c["name"] for c in emulator.records("companies")}
        print("People stored in the emulator:")
        table(
            ("email", "name", "phone", "company"),
            [
                (
                    p["emails"]["primaryEmail"],
                    f"{p['name']['firstName']} {p['name']['lastName']}",
                    f"{p['phones']['primaryPhoneCallingCode']} {p['phones']['primaryPhoneNumber']}".strip(),
                    names.get(p.get("companyId"), ""),
                )
                for p in emulator.records("people")
                if not p.get("deletedAt") and p["emails"]["primaryEmail"].endswith(".example")
            ],
        )
        return 0 if write.returncode == 0 and again.returncode == 0 and people.returncode == 0 else 1


def sync(
    config_path: Path, catalog: str, messages: str = "companies_messages.jsonl"
) -> subprocess.CompletedProcess:
    """`destination-twenty write` with the example messages on stdin, as Airbyte runs it."""
    with open(EXAMPLES / messages) as stdin:
        return subprocess.run(
            [str(CONNECTOR), "write", "--config", str(config_path), "--catalog", catalog],
            stdin=stdin,
            capture_output=True,
            text=True,
        )


def show(stdout: str) -> None:
    """One readable line per Airbyte message."""
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            print("  " + line)
            continue
        kind = message.get("type")
        if kind == "LOG":
            print(f"  LOG   {message['log']['message']}")
        elif kind == "STATE":
            state = message["state"]
            print(
                f"  STATE id={state.get('id')} destinationStats={json.dumps(state.get('destinationStats'))}"
            )
        elif kind == "TRACE":
            print(f"  ERROR {message['trace']['error']['message']}")
        elif kind == "CONNECTION_STATUS":
            print(f"  CONNECTION_STATUS {json.dumps(message['connectionStatus'])}")
        else:
            print(f"  {kind}")


def table(header: tuple[str, ...], rows: list[tuple]) -> None:
    cells = [tuple("" if v is None else str(v) for v in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  " + "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))
        if n == 0:
            print("  " + "  ".join("-" * width for width in widths))


if __name__ == "__main__":
    sys.exit(main())
