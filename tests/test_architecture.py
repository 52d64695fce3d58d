"""The package reads like its architecture: no import circles, lower floors never import upper
ones, and the plugin's routes follow one convention.

The import graph is read from the source (every ``import``, at module level or inside a
function, except those under ``if TYPE_CHECKING:``, which never run), so an import that only
happens on some code path still counts. Each module is also imported alone in a fresh
interpreter, which is where an import circle shows up as an ImportError.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGES = ("vexy_catalog", "datasette_plugins")


def module_files() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skipped.update(id(n) for n in ast.walk(node))
    return skipped


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of our packages that ``name`` imports, anywhere in its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from . import db` imports the module db; `from .db import x` imports db.
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names]
        else:
            continue
        for target in targets:
            # `import a.b.c` runs a, a.b and a.b.c: the deepest one of ours is the edge.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_reader_sees_cycles_and_function_level_imports():
    """The checks below are only as good as the reader: it must see what they look for."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    graph = import_graph()
    # history imports db at module level; cli imports serve inside a function;
    # db imports fetch only under TYPE_CHECKING, which is not an import at run time.
    assert "vexy_catalog.db" in graph["vexy_catalog.history"]
    assert "vexy_catalog.serve" in graph["vexy_catalog.cli"]
    assert "vexy_catalog.fetch" not in graph["vexy_catalog.db"]
    assert {"datasette_plugins.pages", "datasette_plugins.health"} <= graph["datasette_plugins"]


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_vexy_catalog_never_imports_the_plugin():
    graph = import_graph()
    upward = {
        name: sorted(t for t in targets if t.split(".")[0] == "datasette_plugins")
        for name, targets in graph.items()
        if name.split(".")[0] == "vexy_catalog"
    }
    assert not {k: v for k, v in upward.items() if v}, upward


def test_times_and_ages_stand_on_nothing_of_ours():
    assert import_graph()["vexy_catalog.timeutil"] == set()


_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("vexy_catalog", "datasette_plugins"))))
"""


def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = sorted(module_files())
    # All at once: each is a separate interpreter, so they cannot see each other's imports.
    running = {
        name: subprocess.Popen(
            [sys.executable, "-c", _PROBE, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True
        )
        for name in names
    }
    failures = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        if process.returncode != 0:
            failures[name] = err.strip().splitlines()[-1:]
            continue
        loaded = json.loads(out)
        if name.split(".")[0] == "vexy_catalog":
            plugin = [m for m in loaded if m.split(".")[0] == "datasette_plugins"]
            if plugin:
                failures[name] = f"imports the plugin: {plugin}"
    assert not failures, failures


def test_every_module_that_serves_routes_is_registered():
    """A module of routes is one import and one entry in _ROUTE_MODULES; forgetting the entry
    would leave its routes silently unserved."""
    import datasette_plugins

    registered = set(datasette_plugins._ROUTE_MODULES)
    patterns: list[str] = []
    for info in pkgutil.iter_modules(datasette_plugins.__path__):
        module = importlib.import_module(f"datasette_plugins.{info.name}")
        if callable(getattr(module, "routes", None)):
            assert module in registered, f"datasette_plugins.{info.name} has routes() but is not in _ROUTE_MODULES"
            found = module.routes()
            assert found and all(isinstance(p, str) and callable(view) for p, view in found), info.name
            patterns += [p for p, _ in found]
    assert len(patterns) == len(set(patterns)), f"a route pattern is served twice: {sorted(patterns)}"
    served = datasette_plugins.register_routes(datasette=None)
    assert sorted(p for p, _ in served) == sorted(patterns)


def test_serve_only_builds_and_runs_datasette():
    """`vexy serve`'s module has no routes, views or hooks: those live in datasette_plugins."""
    from vexy_catalog import serve

    for name in ("routes", "render_cell", "menu_links", "table_actions", "extra_template_vars", "health_report"):
        assert not hasattr(serve, name), f"vexy_catalog.serve.{name} belongs in datasette_plugins"
