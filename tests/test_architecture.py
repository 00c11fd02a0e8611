"""The layers point one way: read statically (ast; nothing is imported) from every module of dashboard/ and ganlib/.

Every import counts, including those inside functions: a late import is still a dependency, and hiding a circle
behind one is what these tests are here to prevent.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dashboard", "ganlib")

# The pages reach ganlib only through dashboard/services.py. The one exception: the training panel derives its form
# from ganlib.config, which holds plain declarations (no torch), so it reads them directly.
GANLIB_ALLOWED = {"dashboard.training_panel": {"ganlib.config"}}
# What a page must never import: the modules above it, which import the pages themselves.
ABOVE_VIEWS = {"dashboard.app", "dashboard.navigation", "dashboard.sidebar", "dashboard.training_panel"}


def _module_files() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


MODULES = _module_files()


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _project_module(name: str) -> str | None:
    """The module of the project that ``name`` (a module or a name inside one) belongs to, None if outside."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imported_names(module: str) -> set[str]:
    """Everything ``module`` imports, as absolute dotted names ("ganlib.config", "streamlit", "dashboard.state")."""
    path, is_package = MODULES[module]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            # "from ganlib import runs" imports the module ganlib.runs; "from ganlib.runs import Progress" a name
            names.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names)
    return names


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports."""
    graph = {}
    for module in MODULES:
        if module == package or module.startswith(package + "."):
            targets = {_project_module(name) for name in imported_names(module)}
            graph[module] = {t for t in targets if t and t != module and (t == package or t.startswith(package + "."))}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or round a circle (Tarjan's strongly connected
    components of more than one module)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle_and_nothing_else():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_dashboard_imports_point_one_way():
    assert cycles(import_graph("dashboard")) == []


def test_every_dashboard_module_is_reached_from_app():
    """From app.py, or from the one command that runs the app's own code outside a server (the bundled checkpoints'
    first-start results: it computes what a server's first start computes)."""
    graph = import_graph("dashboard")
    reached, todo = set(), ["dashboard.app", "dashboard.bundled_cache"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph[module])
    assert set(graph) - reached - {"dashboard", "dashboard.views"} == set()


def test_views_never_import_the_modules_above_them():
    for module, targets in import_graph("dashboard").items():
        if module.startswith("dashboard.views."):
            assert not targets & ABOVE_VIEWS, f"{module} imports {sorted(targets & ABOVE_VIEWS)}"


def test_only_services_reaches_ganlib():
    for module in MODULES:
        if module.startswith("dashboard") and module != "dashboard.services":
            reached = {_project_module(name) for name in imported_names(module) if name.split(".")[0] == "ganlib"}
            extra = reached - GANLIB_ALLOWED.get(module, set())
            assert not extra, f"{module} imports {sorted(extra)}; reach ganlib through dashboard.services"


def test_ganlib_never_imports_streamlit():
    for module in MODULES:
        if module.split(".")[0] == "ganlib":
            assert not {n for n in imported_names(module) if n.split(".")[0] == "streamlit"}, module


def test_ganlib_imports_have_no_cycles():
    assert cycles(import_graph("ganlib")) == []
