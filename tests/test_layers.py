"""The import graph of harness/: no cycle, and the reading side flows one way.

Every `import` and `from … import` in harness/ counts, wherever it is written (module level, inside a
function, under TYPE_CHECKING): an import deferred to call time is still a dependency. `from P import m`
of a submodule m is an import of P.m; of any other name, an import of P itself.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "harness"

# The reading side, lowest first: a module may import from its own layer or lower ones, never higher.
# Within a layer, packages may import each other as long as no cycle forms (checked below).
LAYERS: list[tuple[str, ...]] = [
    ("harness.errors", "harness.stats", "harness.results", "harness.metrics", "harness.numbers", "harness.flags"),
    ("harness.claims", "harness.compare", "harness.history"),  # judging: verdicts, changes, trends
    ("harness.report",),  # documents: blocks and their renderers, the run's report
    ("harness.present", "harness.exporters"),  # the terminal's tables; compare's, ab's and history's files
    ("harness.commands",),
]


Graph = Mapping[str, set[str]]


def module_name(path: Path, root: Path = HARNESS) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = HARNESS) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def _owner(name: str, known: Iterable[str]) -> str:
    """The longest known module that `name` is or lies inside (harness.x.Y -> harness.x)."""
    known = set(known)
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {_owner(alias.name, known) for alias in node.names if alias.name.split(".")[0] == "harness"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            if base.split(".")[0] != "harness":
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else _owner(base, known))
    return found - {name}


def module_graph(root: Path = HARNESS) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports_of(name, path, known) for name, path in known.items()}


@functools.cache
def harness_graph() -> Mapping[str, set[str]]:
    return module_graph()


def package(name: str) -> str:
    """harness.compare.rules -> harness.compare; a top-level module is its own node (harness.flags)."""
    return ".".join(name.split(".")[:2])


def package_graph(graph: Graph) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for name, imported in graph.items():
        packages.setdefault(package(name), set()).update(package(i) for i in imported if package(i) != package(name))
    return packages


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan 1972), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while (top := stack.pop()) != node:
                component.append(top)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(name: str) -> int | None:
    for level, members in enumerate(LAYERS):
        if package(name) in members:
            return level
    return None


def upward_imports(graph: Graph) -> list[str]:
    """"a -> b" for every import from a layer to a higher one."""
    found = []
    for name, imported in sorted(graph.items()):
        for target in sorted(imported):
            low, high = layer_of(name), layer_of(target)
            if low is not None and high is not None and high > low:
                found.append(f"{name} -> {target}")
    return found


def _edges_within(graph: Graph, component: list[str]) -> list[str]:
    return [f"{a} -> {b}" for a in component for b in sorted(graph[a]) if b in component]


def test_no_module_imports_a_module_that_imports_it_back():
    graph = harness_graph()
    assert [_edges_within(graph, c) for c in cycles(graph)] == []


def test_no_package_imports_a_package_that_imports_it_back():
    graph = harness_graph()
    found = [[f"{m} -> {i}" for m in sorted(graph) if package(m) in c for i in sorted(graph[m])
              if package(i) in c and package(i) != package(m)]
             for c in cycles(package_graph(graph))]
    assert found == []


def test_the_reading_side_never_imports_a_higher_layer():
    assert upward_imports(harness_graph()) == []


def test_every_layer_names_a_package_that_exists():
    """A renamed package would silently leave the layer rules."""
    names = {package(name) for name in modules()}
    assert [member for members in LAYERS for member in members if member not in names] == []


def test_the_checks_see_a_cycle_and_an_upward_import(tmp_path):
    """The graph builder itself: a relative import, a deferred one and one under TYPE_CHECKING all count."""
    root = tmp_path / "harness"
    (root / "compare").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "compare" / "__init__.py").write_text("from .rules import judge\n")
    (root / "compare" / "rules.py").write_text("def judge():\n    from harness.report import blocks\n")
    (root / "report").mkdir()
    (root / "report" / "__init__.py").write_text("")
    (root / "report" / "blocks.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from harness.compare import judge\n")
    graph = module_graph(root)
    assert graph["harness.compare"] == {"harness.compare.rules"}
    assert graph["harness.compare.rules"] == {"harness.report.blocks"}
    assert cycles(package_graph(graph)) == [["harness.compare", "harness.report"]]
    assert cycles(graph) == [["harness.compare", "harness.compare.rules", "harness.report.blocks"]]
    assert upward_imports(graph) == ["harness.compare.rules -> harness.report.blocks"]
