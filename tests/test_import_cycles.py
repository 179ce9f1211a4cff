"""No import cycles among the project's modules, counting imports made inside functions.

A cycle hidden in a function body still couples the two modules: neither can be read,
tested or moved without the other, and which one runs first decides whether the import
succeeds. Only imports under ``if TYPE_CHECKING:`` are exempt (they never run).
``importlib.import_module("literal")`` counts like an import statement.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = "mtl_pipeline"
SRC = REPO / "src"


def module_files(root: Path = SRC / PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (``__init__`` included)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Every dotted name ``module`` imports, outside ``if TYPE_CHECKING:`` blocks."""
    names: list[str] = []
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names.append(source)
            names.extend(f"{source}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports. ``from pkg import name`` is an edge to
    ``pkg.name`` when that is a module, else to ``pkg``; ``import a.b`` is an edge to ``a.b``."""
    modules = module_files()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets: set[str] = set()
        for name in _imported_names(tree, module, path.name == "__init__.py"):
            if name in modules:
                targets.add(name)
        # `from pkg import submodule` adds both `pkg` and `pkg.submodule`; keep only the
        # submodule when the name resolved to one (the package's own attribute otherwise).
        for name in list(targets):
            parent = name.rpartition(".")[0]
            if parent in targets and _only_via_submodules(tree, module, parent, modules, path):
                targets.discard(parent)
        targets.discard(module)
        graph[module] = targets
    return graph


def _only_via_submodules(
    tree: ast.AST, module: str, parent: str, modules: dict[str, Path], path: Path
) -> bool:
    """True when every ``from parent import ...`` in ``tree`` names only submodules."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source == parent and any(f"{parent}.{a.name}" not in modules for a in node.names):
                return False
        elif isinstance(node, ast.Import) and any(a.name == parent for a in node.names):
            return False
    return True


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return [_cycle_path(graph, set(c)) for c in components]


def _cycle_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first)."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, start]
                if w not in previous:
                    previous[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def test_graph_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from .. import a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
    )
    modules = module_files(pkg)
    names = {
        m: _imported_names(ast.parse(p.read_text()), m, p.name == "__init__.py")
        for m, p in modules.items()
    }
    assert "pkg.sub.b" in names["pkg.a"]
    assert "pkg.a" in names["pkg.sub.b"]
    assert not [n for n in names["pkg.c"] if n.startswith("pkg")]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
