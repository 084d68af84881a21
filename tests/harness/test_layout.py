"""The harness's layout: sub-packages by concept, imported in one direction, with no import
hidden in a function to get around a cycle.

Type-only imports (under ``if TYPE_CHECKING:``) may point the other way: an oracle's
parameter is an ``Outcome``, which the scenario's ``check()`` hands it.
"""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import async_durable_execution_runner

PACKAGE = Path(async_durable_execution_runner.__file__).parent
HARNESS = PACKAGE / "_harness"
PREFIX = "async_durable_execution_runner."
FACADES = (
    "strategies",
    "scenarios",
    "oracles",
    "stateful",
    "coverage",
    "pytest_plugin",
    "programs",
)

#: What each part of the harness may import at run time (besides itself and the layers below
#: the harness). A part is a sub-package or a module at the harness's root.
ALLOWED: dict[str, set[str]] = {
    "settings": set(),
    "recorder": set(),
    "handoff": set(),
    "faults": {"handoff"},
    "programs": set(),
    "checkpoint_model": set(),
    "world": {"faults"},
    "oracles": {"faults", "programs", "world", "recorder"},
    "scenario": {"faults", "programs", "oracles", "world", "recorder", "handoff"},
    "coverage": {"faults"},
    "coverage_plugin": {"coverage"},
    "durable_machine": {"faults", "oracles", "recorder"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[tuple[str, ast.stmt, bool, bool]]:
    """(module imported, node, inside a function, type-only) for every import of the package."""
    found: list[tuple[str, ast.stmt, bool, bool]] = []

    def visit(node: ast.AST, in_function: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, True, type_only)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                visit(child, in_function, True)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module.startswith(PREFIX) or child.module == PREFIX[:-1]:
                    for alias in child.names:
                        name = f"{child.module}.{alias.name}"
                        found.append((name, child, in_function, type_only))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith(PREFIX):
                        found.append((alias.name, child, in_function, type_only))
            else:
                visit(child, in_function, type_only)

    visit(tree, False, False)
    return found


def _harness_files() -> list[Path]:
    return sorted(HARNESS.rglob("*.py")) + [PACKAGE / f"{name}.py" for name in FACADES]


def _part(module: str) -> str | None:
    """The harness part a module (``_harness.faults.kinds`` ...) belongs to."""
    parts = module.removeprefix(PREFIX).split(".")
    if parts[0] != "_harness" or len(parts) < 2:
        return None
    return parts[1]


def test_no_import_of_the_package_hides_in_a_function() -> None:
    hidden = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} imports {name} inside a function"
        for path in _harness_files()
        for name, node, in_function, _ in _imports(ast.parse(path.read_text()))
        if in_function
    ]
    assert hidden == [], (
        "import at module level instead; if that makes a cycle, the code is in the wrong part "
        "(see docs/architecture.md, 'The harness'):\n" + "\n".join(hidden)
    )


def test_the_harness_parts_import_in_one_direction() -> None:
    wrong = []
    for path in sorted(HARNESS.rglob("*.py")):
        mine = _part(_module_name(path))
        if mine is None:
            continue
        assert mine in ALLOWED, f"{path.relative_to(PACKAGE)}: a new part; add it to ALLOWED"
        for name, node, _, type_only in _imports(ast.parse(path.read_text())):
            theirs = _part(name)
            if type_only or theirs is None or theirs == mine:
                continue
            if theirs not in ALLOWED[mine]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {mine} imports {name}")
    assert wrong == [], "\n".join(wrong)


def test_no_module_of_the_harness_imports_in_a_cycle() -> None:
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p) for p in _harness_files()}
    for path in _harness_files():
        deps = set()
        for name, _, _, type_only in _imports(ast.parse(path.read_text())):
            if type_only:
                continue
            target = name.removeprefix(PREFIX)
            # "from package.module import name" names a module or an attribute of one.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target:
                deps.add(target)
        graph[_module_name(path)] = deps - {_module_name(path)}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            module, trail = stack.pop()
            for dep in graph.get(module, ()):
                if dep == start:
                    return [*trail, dep]
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*trail, dep]))
        return None

    cycles = [" -> ".join(c) for m in sorted(graph) if (c := cycle_from(m)) is not None]
    assert cycles == [], "\n".join(cycles)


def test_each_facade_exports_exactly_what_it_imports() -> None:
    """A facade holds no logic: every public name it has is in its ``__all__`` (so that
    ``from facade import *``, which reproducers use, gives all of it) and nothing else is."""
    for name in FACADES:
        if name == "pytest_plugin":
            continue  # a pytest plugin: hooks and fixtures, no __all__
        module = importlib.import_module(f"{PREFIX}{name}")
        public = {
            attr
            for attr, value in vars(module).items()
            if not attr.startswith("_")
            and not isinstance(value, types.ModuleType)
            and attr != "annotations"
        }
        assert set(module.__all__) == public, (
            f"{name}.py: __all__ and its public names differ: "
            f"{sorted(set(module.__all__) ^ public)}"
        )
