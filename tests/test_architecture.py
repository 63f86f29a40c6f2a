"""The package's import rules, read from its source with `ast`: the low packages (masking, augment, runs,
text) never import the workflows built on them (selective, study, cli), text imports none of the packages
that share it, and no set of modules imports itself in a circle (imports inside functions count; those
under `if TYPE_CHECKING:` do not run and do not)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "maskkit"
LOW = ("maskkit.masking", "maskkit.augment", "maskkit.runs", "maskkit.text")
HIGH = ("maskkit.selective", "maskkit.study", "maskkit.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.AST) -> list[str]:
    """The maskkit modules a module imports when it runs (TYPE_CHECKING blocks left out)."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("maskkit"):
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names if alias.name.startswith("maskkit"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): {m for m in runtime_imports(ast.parse(p.read_text())) if m in modules} for p in paths}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected sets of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in graph:
        if v not in index:
            connect(v)
    return found


def package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without the edges into a package's __init__ from its own modules (`from maskkit.x import
    y` names the package first: it is not an import of the re-exports)."""
    return {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}


def test_the_low_packages_never_import_the_workflows_built_on_them():
    graph = import_graph()
    wrong = sorted((m, d) for m, deps in graph.items() if m.startswith(LOW) for d in deps if d.startswith(HIGH))
    assert wrong == []
    shared = [(m, d) for m, deps in graph.items() if m.startswith("maskkit.text") for d in deps
              if d.startswith(("maskkit.masking", "maskkit.augment", "maskkit.training", *HIGH))]  # fmt: skip
    assert shared == []


def test_no_module_imports_itself_in_a_circle():
    assert circles(package_inits(import_graph())) == []


def test_the_checks_find_a_wrong_way_import_and_a_circle():
    graph = {"maskkit.runs.a": {"maskkit.study.b"}, "maskkit.study.b": {"maskkit.runs.a"}, "maskkit.c": set()}
    assert circles(graph) == [["maskkit.runs.a", "maskkit.study.b"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from maskkit.study import x\n"
                     "def f():\n    from maskkit.cli.main import main\n")  # fmt: skip
    assert runtime_imports(tree) == ["maskkit.cli.main", "maskkit.cli.main.main"]
