"""The README's layout table ("How the code is laid out") names every module of the connector, and only modules
that exist: a module added, moved or removed without the table fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "destination_twenty"


def table_modules(readme: str) -> set[str]:
    section = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    found: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `destination_twenty/"):
            continue
        first = line.split("|")[1]
        folder = ""
        for name in re.findall(r"`([^`]+\.py)`", first):
            path = name.removeprefix("destination_twenty/")
            if "/" in path:
                folder = path.rsplit("/", 1)[0] + "/"
            elif folder and not name.startswith("destination_twenty/"):
                path = folder + path
            found.add(path)
    return found


def test_the_layout_table_names_every_module_and_no_other():
    modules = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"}
    listed = table_modules((ROOT / "README.md").read_text(encoding="utf-8"))
    assert sorted(modules - listed) == [], "modules the README's layout table leaves out"
    assert sorted(listed - modules) == [], "modules the README's layout table names that do not exist"


def test_the_table_reader_sees_a_missing_module():
    readme = "## How the code is laid out\n\n| module | job |\n|---|---|\n| `destination_twenty/a/b.py`, `a/c.py` | x |\n"
    assert table_modules(readme) == {"a/b.py", "a/c.py"}
