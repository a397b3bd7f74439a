"""The connector's folders keep the direction data flows in (README, "How the code is laid out").

mapping/ is pure (record → payload: no I/O, nothing of the other folders), twenty/ talks to Twenty and knows nothing
of writing or of Airbyte, only airbyte/ speaks the protocol, and no module imports another back in a circle. The rules
are checked on the real tree, and once on a small fake tree, so that the checker itself is seen to fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "destination_twenty"
NAME = "destination_twenty"

# Standard-library and third-party modules that do I/O or concurrency: none of them belongs in pure mapping code.
IO_MODULES = {
    "requests",
    "urllib3",
    "socket",
    "http",
    "threading",
    "concurrent",
    "subprocess",
    "os",
    "sys",
    "io",
}
# folder → the folders of the package it must not import.
FORBIDDEN = {
    "mapping": {"twenty", "write", "airbyte"},
    "twenty": {"write", "airbyte"},
    "write": {"airbyte"},
    "": {"twenty", "write", "airbyte", "mapping"},  # config.py and errors.py sit under everything
}


def _module_name(package: Path, path: Path, name: str) -> str:
    parts = path.relative_to(package).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((name, *parts))


def imports(package: Path, name: str) -> dict[str, set[str]]:
    """Every module of the package → the modules it imports anywhere in its file (lazy imports included)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        module = _module_name(package, path, name)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
                if node.module == name or node.module.count(".") == 1 and node.module.startswith(name + "."):
                    # `from destination_twenty.mapping import keys` imports the module keys
                    found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{module}: relative import; the project imports by absolute name")
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[module] = found
    return graph


def folder(module: str, name: str) -> str:
    """'destination_twenty.mapping.keys' → 'mapping'; a top-level module ('destination_twenty.config') → ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else ""


def violations(package: Path, name: str) -> list[str]:
    graph = imports(package, name)
    own = set(graph)
    found: list[str] = []
    for module, targets in graph.items():
        where = folder(module, name)
        for target in sorted(targets):
            if target.split(".")[0] != name:
                if where == "mapping" and target.split(".")[0] in IO_MODULES:
                    found.append(f"{module} imports {target}: mapping/ does no I/O")
                continue
            if target not in own or module == name:
                # a name, not a module; or the package's own lazy entry point (DestinationTwenty for Airbyte)
                continue
            other = folder(target, name)
            if other in FORBIDDEN.get(where, set()) and target != module:
                found.append(
                    f"{module} imports {target}: {where or 'the top level'}/ must not import {other}/"
                )
            if target.endswith(".airbyte.protocol") and where != "airbyte":
                found.append(f"{module} imports {target}: only airbyte/ speaks the protocol")
    found.extend(_circles({m: {t for t in ts if t in own and t != m} for m, ts in graph.items()}))
    return found


def _circles(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, str] = {}
    found: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if nxt.endswith("__init__"):
                continue
            if state.get(nxt) == "open":
                found.append("import circle: " + " -> ".join([*trail, node, nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    return found


def test_the_connector_keeps_its_import_rules():
    graph = imports(PACKAGE, NAME)
    # The walk sees real imports, so an empty result means something.
    assert f"{NAME}.mapping.schema" in graph[f"{NAME}.mapping.mapper"]
    assert violations(PACKAGE, NAME) == []


def _fake_tree(root: Path, files: dict[str, str]) -> Path:
    package = root / "fakepkg"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for sub in {p.parent for p in package.rglob("*.py")}:
        (sub / "__init__.py").touch()
    return package


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"mapping/keys.py": "import requests\n"}, "mapping/ does no I/O"),
        (
            {"mapping/keys.py": "from fakepkg.write.batch import x\n", "write/batch.py": ""},
            "must not import write/",
        ),
        (
            {"twenty/client.py": "from fakepkg.airbyte import commands\n", "airbyte/commands.py": ""},
            "import airbyte/",
        ),
        (
            {"write/writer.py": "from fakepkg.airbyte.protocol import emit\n", "airbyte/protocol.py": ""},
            "only airbyte/ speaks the protocol",
        ),
        (
            {
                "write/a.py": "from fakepkg.write.b import x\n",
                "write/b.py": "from fakepkg.write.a import y\n",
            },
            "import circle",
        ),
    ],
)
def test_the_rules_fail_on_a_forbidden_arrow(tmp_path, files, expected):
    package = _fake_tree(tmp_path, files)
    found = violations(package, "fakepkg")
    assert any(expected in line for line in found), found


def test_the_rules_pass_a_tree_that_keeps_them(tmp_path):
    package = _fake_tree(
        tmp_path,
        {
            "mapping/keys.py": "import re\n",
            "twenty/client.py": "import requests\nfrom fakepkg.mapping.keys import k\n",
            "write/writer.py": "from fakepkg.twenty.client import c\n",
            "airbyte/commands.py": "from fakepkg.write.writer import w\nfrom fakepkg.airbyte.protocol import e\n",
            "airbyte/protocol.py": "",
        },
    )
    assert violations(package, "fakepkg") == []
