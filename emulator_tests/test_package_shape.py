"""The emulator's modules import each other without a circle, and never import the connector (issue 8)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "twenty_emulator"


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(sibling modules this module imports, anywhere in the file, lazy imports included; top-level packages)."""
    siblings, packages = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                if node.module:
                    siblings.add(node.module.split(".")[0])
                else:
                    siblings.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module:
                packages.add(node.module.split(".")[0])
                if node.module.startswith("twenty_emulator."):
                    siblings.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
    return siblings, packages


def _graph() -> dict[str, set[str]]:
    return {p.stem: _imports(p)[0] for p in PACKAGE.glob("*.py")}


def test_no_import_circle():
    graph = _graph()
    assert "validation" in graph["records"]  # the walk sees real imports
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                raise AssertionError("import circle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_never_imports_the_connector():
    for path in PACKAGE.rglob("*.py"):
        assert "destination_twenty" not in _imports(path)[1], path
