"""The house's import rules, read from the source (ast, nothing imported):

- no import cycle between hotswap's modules, imports inside functions included
  (`if TYPE_CHECKING:` blocks excepted: they never run);
- hotswap modules are imported inside functions only in the CLI layer (hotswap.cli), where
  a lazy import buys start-up time; everywhere else the imports at the top say it all;
- the process environment (os.environ, os.getenv) is read only by config and the command
  lines (hotswap.cli, and the switch commands' own, sessions/switch.py);
- nothing but the entry point imports the command-line layer (hotswap.cli).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# A known exception, with its reason: each entry is work left, not a licence.
LAZY_OUTSIDE_CLI_ALLOWED: set[tuple[str, str]] = set()
ENV_READERS = ("hotswap.config", "hotswap.cli", "hotswap.sessions.switch")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted((SRC / "hotswap").rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The hotswap module an imported name lives in (`hotswap.a.b.func` -> `hotswap.a.b`)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _ids(nodes: list[ast.AST]) -> set[int]:
    return {id(n) for node in nodes for n in ast.walk(node)}


def imports_of(module: str) -> list[tuple[str, bool]]:
    """(imported hotswap module, inside a function?) for each import that can run."""
    tree = ast.parse(MODULES[module].read_text())
    type_checking = _ids(
        [n for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n)]
    )
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    in_function = {i for f in functions for i in _ids(f.body)}
    found = []
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            target = resolve(name)
            if target is not None and target != module:
                found.append((target, id(node) in in_function))
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w, _ in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in GRAPH:
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles() -> None:
    assert cycles() == []


def test_lazy_imports_of_hotswap_modules_only_in_the_cli_layer() -> None:
    lazy = {
        (m, target)
        for m, found in GRAPH.items()
        for target, inside in found
        if inside and not m.startswith("hotswap.cli")
    }
    assert lazy - LAZY_OUTSIDE_CLI_ALLOWED == set()
    assert lazy >= LAZY_OUTSIDE_CLI_ALLOWED, "an allowed exception is gone: drop it"


def test_only_the_entry_points_import_the_command_line_layer() -> None:
    """hotswap.cli is the top: the dashboard, the router and the stores never import a
    command (what two of them share lives below both)."""
    outside = {
        (m, target)
        for m, found in GRAPH.items()
        for target, _ in found
        if target.startswith("hotswap.cli") and not m.startswith("hotswap.cli")
    }
    assert outside == {("hotswap.__main__", "hotswap.cli.entry")}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_environment_is_read_only_by_config_and_the_command_lines(module: str) -> None:
    if module.startswith(ENV_READERS):
        return
    text = ast.unparse(ast.parse(MODULES[module].read_text()))
    assert "os.environ" not in text and "os.getenv" not in text and "getenv(" not in text


def test_the_checks_see_a_planted_cycle_and_a_planted_lazy_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rules can fail: a cycle and a lazy import planted in the graph are found."""
    planted = dict(GRAPH)
    planted["hotswap.errors"] = [*GRAPH["hotswap.errors"], ("hotswap.router.proxy", True)]
    monkeypatch.setitem(globals(), "GRAPH", planted)
    assert any("hotswap.errors" in group for group in cycles())


def test_config_names_the_wires_the_registry_has() -> None:
    """A wire is one adapter in wire/registry.py; config validation admits the same names."""
    from hotswap.config.backends import WIRES
    from hotswap.wire.registry import ADAPTERS

    assert set(WIRES) == set(ADAPTERS)
    for name, adapter in ADAPTERS.items():
        assert adapter.name == name
