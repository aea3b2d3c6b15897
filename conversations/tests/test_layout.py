"""The shape of the code: which of our modules import which.

The modules are parsed with ``ast``, not imported, and an import inside a
function counts like one at the top: a lazy import that closes a circle is
still a circle (only imports under ``if TYPE_CHECKING:`` never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Our own top-level packages: imports of anything else are not part of the graph.
OURS = {
    "conversations",
    "whatsapp",
    "inbox",
    "simulator",
    "templates_app",
    "campaigns",
    "analytics",
}
# The packages whose modules are parsed (their tests and migrations left out).
PARSED = ("conversations", "whatsapp", "templates_app", "inbox")
# Who may import whom: ``inbox`` -> ``analytics``, ``campaigns`` -> ``templates_app``
# -> ``conversations`` -> ``whatsapp``. What a package may never import:
NEVER = {
    "whatsapp": {"conversations", "templates_app", "campaigns", "analytics", "inbox"},
    "conversations": {"templates_app", "campaigns", "analytics", "inbox"},
    "templates_app": {"campaigns", "analytics", "inbox"},
}
SERVICES = "conversations.services"
SERVICES_MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for package in PARSED:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if "tests" in parts or "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _import_nodes(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    path = MODULES[module]
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(module: str) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import of ``module``;
    ``from package import submodule`` counts as importing the submodule."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
            continue
        source = _absolute(module, node)
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in MODULES:
                found.append((submodule, []))
            else:
                found.append((source, [alias.name]))
    return found


def _ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def _edges(module: str) -> set[str]:
    """Our modules that importing ``module`` runs: each one it imports, and the
    packages above that one (Python runs a package's ``__init__`` before its
    modules) unless ``module`` is inside them already."""
    edges = set()
    for target, _ in _imported(module):
        if not _ours(target):
            continue
        edges.add(target)
        parts = target.split(".")
        for end in range(1, len(parts)):
            package = ".".join(parts[:end])
            if package in MODULES and not module.startswith(package + "."):
                edges.add(package)
    edges.discard(module)
    return edges


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle in ``graph`` (its modules in order, the first repeated at the end), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_modules_are_found() -> None:
    assert {"conversations.jobs", "conversations.enqueue", SERVICES} <= set(MODULES)
    assert f"{SERVICES}.common" in MODULES
    assert "whatsapp.client" in MODULES


def test_no_circle_among_our_modules_even_through_a_lazy_import() -> None:
    graph = {module: _edges(module) for module in MODULES}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_a_circle_is_seen_through_a_function_level_import() -> None:
    """The check above would catch ``enqueue`` importing the services in a function."""
    graph = {module: _edges(module) for module in MODULES}
    graph["conversations.enqueue"] = graph["conversations.enqueue"] | {SERVICES}
    assert _cycle(graph) is not None


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.split(".")[0] == "whatsapp"))
def test_whatsapp_imports_nothing_of_ours(module: str) -> None:
    ours = {target for target in _edges(module) if target.split(".")[0] != "whatsapp"}
    assert ours == set()


@pytest.mark.parametrize("package", sorted(NEVER))
def test_dependencies_point_one_way(package: str) -> None:
    """The core offers hooks to the apps built on it; it never imports them."""
    wrong = sorted(
        f"{module} -> {target}"
        for module in MODULES
        if module.split(".")[0] == package
        for target in _edges(module)
        if target.split(".")[0] in NEVER[package]
    )
    assert wrong == []


def test_nothing_imports_the_simulator() -> None:
    importers = {
        module
        for module in MODULES
        if any(target.split(".")[0] == "simulator" for target in _edges(module))
    }
    assert importers == set()


def test_services_take_no_underscore_names_from_each_other() -> None:
    """Helpers that several service modules need are public names (in ``common``)."""
    private = []
    for module in (m for m in MODULES if m.startswith(SERVICES + ".")):
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        siblings = set()  # names bound to a sibling module
        for node in _import_nodes(tree):
            if isinstance(node, ast.Import):
                siblings.update(
                    alias.asname for alias in node.names if alias.asname in _service_modules()
                )
                continue
            source = _absolute(module, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES and source == SERVICES:
                    siblings.add(alias.asname or alias.name)
                elif source == SERVICES or source.startswith(SERVICES + "."):
                    if alias.name.startswith("_"):
                        private.append(f"{module}: from {source} import {alias.name}")
        private += [
            f"{module}: {node.value.id}.{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in siblings
            and node.attr.startswith("_")
        ]
    assert private == []


def _service_modules() -> set[str]:
    return {m.rsplit(".", 1)[-1] for m in MODULES if m.startswith(SERVICES + ".")}


def test_no_services_module_is_over_600_lines() -> None:
    lengths = {
        module: len(MODULES[module].read_text(encoding="utf-8").splitlines())
        for module in MODULES
        if module == SERVICES or module.startswith(SERVICES + ".")
    }
    assert {module: n for module, n in lengths.items() if n > SERVICES_MAX_LINES} == {}
