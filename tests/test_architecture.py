"""The house's shape, checked: no import cycle between modules, plug-ins reached only through their
registries, and no module over ~300 lines without a reason in its docstring.

``lint-imports`` (pyproject.toml) checks the layers and package-level cycles in CI; this suite adds
the module-level cycle check over *every* import grimp sees (function-level and ``TYPE_CHECKING``
ones included) and a registry-driven check that grows with the registries.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

import crawler.notifiers
import sources
import verifiers

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "sources", "verifiers")
MAX_LINES = 300


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False)


def strongly_connected(graph: grimp.ImportGraph) -> Iterator[list[str]]:
    """Tarjan's algorithm over module-level imports; yields every cycle (component of size > 1)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = [0]
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
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
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph.modules):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    yield from found


def test_no_module_imports_one_that_imports_it_back(graph: grimp.ImportGraph) -> None:
    cycles = list(strongly_connected(graph))
    assert cycles == [], f"import cycles: {cycles}"


def test_the_cycle_check_finds_a_planted_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "cyclic"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from cyclic import b\n")  # function-level imports count
    (pkg / "b.py").write_text("from cyclic import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert list(strongly_connected(grimp.build_graph("cyclic"))) == [["cyclic.a", "cyclic.b"]]


def _plugin_modules() -> dict[str, str]:
    """Every concrete plug-in module → the registry package that may import it."""
    out: dict[str, str] = {}
    for registry, package in ((sources.SOURCES, "sources"), (verifiers.VERIFIERS, "verifiers"),
                              (crawler.notifiers.NOTIFIERS, "crawler.notifiers")):
        for cls in registry.values():
            out[cls.__module__] = package
    return out


def test_only_the_registry_imports_a_concrete_plugin(graph: grimp.ImportGraph) -> None:
    modules = _plugin_modules()
    assert len(modules) >= 3 + 1 + 2  # the registries are really read
    illegal = {module: sorted(graph.find_modules_that_directly_import(module) - {registry})
               for module, registry in modules.items()}
    assert {m: who for m, who in illegal.items() if who} == {}


def test_only_crawler_plugins_imports_the_registries(graph: grimp.ImportGraph) -> None:
    for registry in ("sources", "verifiers", "crawler.notifiers"):
        importers = graph.find_modules_that_directly_import(registry)
        assert importers <= {"crawler.plugins"}, f"{registry} is imported by {sorted(importers)}"


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_long_modules_say_why_in_their_docstring() -> None:
    """Over ~300 lines a module needs a ``Size:`` line in its docstring explaining why it is one module."""
    unexplained = []
    for path in _modules():
        text = path.read_text("utf-8")
        if text.count("\n") <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if not any(line.startswith("Size:") for line in doc.splitlines()):
            unexplained.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert unexplained == []
