"""The layering stays one-way and every raised exception has the one root.

Read from the source with ``ast`` (every import counts: module level, inside
functions, under ``TYPE_CHECKING``), so a shortcut taken in a lazy import
fails here just as a top-level one does.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "qwen_gui_agent"
LIBRARY = ("actions", "envs", "model", "trajectories", "agent", "cli")
BASE = {"errors", "version", "_lazy", "_cache", "_text", "__init__", "__main__"}
"""Top-level modules: the bottom everyone may import (``__init__`` / ``__main__`` only name things lazily)."""
ALLOWED: dict[str, set[str]] = {
    "actions": {"actions"},
    "envs": {"actions", "envs"},
    "model": {"actions", "model"},
    "trajectories": {"actions", "trajectories"},
    "agent": {"actions", "envs", "model", "trajectories", "agent"},
    "cli": {"actions", "envs", "model", "trajectories", "agent", "cli"},
}
"""Which layers each layer may import (besides the base modules)."""


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] not in (*LIBRARY, *(f"{name}.py" for name in BASE)):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join([PACKAGE, *parts]) if parts else PACKAGE, path


def _imports(path: Path) -> set[str]:
    """Every ``qwen_gui_agent`` module ``path`` imports (``from pkg import submodule`` resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(PACKAGE)}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if (ROOT / Path(*f"{node.module}.{alias.name}".split(".")[1:])).with_suffix(".py").exists()
                      or (ROOT / Path(*f"{node.module}.{alias.name}".split(".")[1:]) / "__init__.py").exists()}
    return found


MODULES = dict(_modules())
GRAPH = {name: _imports(path) & MODULES.keys() for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_walk_sees_the_whole_package() -> None:
    assert {"qwen_gui_agent.agent.loop", "qwen_gui_agent.cli.run", "qwen_gui_agent.envs.base",
            "qwen_gui_agent.actions.models", "qwen_gui_agent.errors"} <= MODULES.keys()
    assert len(MODULES) > 60


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in LIBRARY))
def test_no_layer_imports_a_layer_above_it(module: str) -> None:
    layer = _layer(module)
    wrong = sorted(target for target in GRAPH[module]
                   if _layer(target) not in BASE and _layer(target) not in ALLOWED[layer])
    assert not wrong, f"{module} ({layer}) may import only {sorted(ALLOWED[layer])}, not {wrong}"


def test_nothing_in_the_library_imports_the_cli() -> None:
    users = sorted(m for m, targets in GRAPH.items()
                   if _layer(m) not in ("cli", "__main__") and any(_layer(t) == "cli" for t in targets))
    assert not users


def test_the_base_modules_import_no_layer() -> None:
    for module in ("qwen_gui_agent.errors", "qwen_gui_agent.version", "qwen_gui_agent._lazy",
                   "qwen_gui_agent._cache", "qwen_gui_agent._text"):
        assert not GRAPH[module], f"{module} imports {GRAPH[module]}"


def test_there_is_no_import_cycle() -> None:
    """Tarjan's strongly connected components over the module graph (package parents excluded)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH[node]:
            if node.startswith(target + "."):
                continue  # importing a submodule loads its package first; not a dependency
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def _raised_names(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, name)`` of each ``raise Name(...)`` / ``raise Name``, outside pydantic validators."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    validators = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
                "validator" in ast.unparse(decorator) for decorator in node.decorator_list):
            validators |= {id(inner) for inner in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None and id(node) not in validators:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name):
                yield node.lineno, target.id


ALLOWED_BUILTINS = {"KeyboardInterrupt", "SystemExit", "AttributeError", "StopIteration"}
"""Builtins with a protocol meaning: Ctrl-C passed on, the CLI's exit, ``__getattr__``, iteration."""


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in (*LIBRARY, "errors")))
def test_library_code_raises_only_the_package_exceptions(module: str) -> None:
    wrong = [f"line {line}: {name}" for line, name in _raised_names(MODULES[module])
             if hasattr(builtins, name) and name not in ALLOWED_BUILTINS]
    assert not wrong, f"{module} raises builtins (use qwen_gui_agent.errors): {wrong}"


def test_every_exception_class_derives_from_the_root() -> None:
    from qwen_gui_agent.errors import QwenAgentError

    outside = []
    for module in MODULES:
        if module.endswith("__main__"):
            continue
        loaded = importlib.import_module(module)
        for name, value in vars(loaded).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module and not issubclass(value, QwenAgentError)):
                outside.append(f"{module}.{name}")
    assert not outside
