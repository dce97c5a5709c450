"""The layers point one way: no module of kneevision imports, even inside a function,
a module that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import kneevision

PACKAGE = Path(kneevision.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """kneevision modules imported anywhere in a file (module level and inside functions)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))  # fmt: skip
            # `from pkg import mod` imports the module pkg.mod when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                     for a in node.names]  # fmt: skip
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != here:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {module_name(p) for p in files}
    graph = {module_name(p): imports_of(p, modules) for p in files}
    # The root package is a facade: it holds __version__ (read by every layer) and
    # re-exports the API lazily; it is the top, not a layer between others.
    graph.pop("kneevision")
    return {m: {d for d in deps if d != "kneevision"} for m, deps in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path a → … → a), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return [*stack[stack.index(d) :], d]
            if d not in state and (cycle := visit(d)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_the_walker_sees_function_level_imports():
    graph = import_graph()
    assert "kneevision.api" in graph["kneevision.cli"]  # imported inside cmd_analyze
    assert "kneevision.report.document" in graph["kneevision.api"]  # inside finish_folder


def test_no_import_cycle_between_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, " → ".join(cycle)


def test_layers_point_one_way():
    graph = import_graph()
    low = ("kneevision.settings", "kneevision.analysis", "kneevision.pipeline")
    for m in low:
        # report.overlay only draws on frames (a leaf); the documents read the analysis
        assert not {"kneevision.report.document", "kneevision.report.history"} & graph[m], m
        assert "kneevision.api" not in graph[m] and "kneevision.live" not in graph[m], m
    assert "kneevision.pipeline" not in graph["kneevision.analysis"]
    assert "kneevision.pipeline" not in graph["kneevision.report.document"]
