"""The import graph of rfctl/: no circles, and nothing imports upward.

Layers, bottom to top: errors, console, redact, atomic, appendlog (usable by all) <
providers < routing (with the modules it uses: settings, ledger, config, ...)
< commands < cli. Read from the source with ast, so an import inside a
function counts as much as one at the top of a file; only imports under
`if TYPE_CHECKING:` (never run) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rfctl"

BOTTOM = ("rfctl.errors", "rfctl.console", "rfctl.redact", "rfctl.atomic", "rfctl.appendlog")

# (modules the rule is about, modules they must not import)
RULES = [
    (
        "rfctl.providers",
        (
            "rfctl.routing",
            "rfctl.router",
            "rfctl.ledger",
            "rfctl.settings",
            "rfctl.batch",
            "rfctl.commands",
            "rfctl.cli",
            "rfctl.docs",
        ),
    ),
    ("rfctl.routing", ("rfctl.commands", "rfctl.cli")),
    ("rfctl.commands", ("rfctl.cli",)),
    ("rfctl.docs", ("rfctl.commands", "rfctl.cli")),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Every import statement, at any depth, except under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking_only(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve(name: str) -> str | None:
    """The rfctl module `name` stands for: itself, else its nearest package."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from rfctl import config` imports the module rfctl.config;
            # `from rfctl.config import KINDS` (not a module) imports rfctl.config.
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            if target == "rfctl" or target.startswith("rfctl."):
                resolved = _resolve(target)
                if resolved and resolved != module:
                    out.add(resolved)
    return out


GRAPH = {m: imports_of(m) for m in MODULES}


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan),
    each as one circle through all of its modules where one is easy to find."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _path(graph, start: str, goal: str, inside: set[str]) -> list[str]:
    """A shortest import path start -> ... -> goal through `inside` (breadth first)."""
    seen = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & inside):
            if w == goal:
                return [*seen[v], w]
            if w not in seen:
                seen[w] = [*seen[v], w]
                todo.append(w)
    return [start, goal]


def test_the_graph_is_read_right():
    # A check on the checker: imports it must see, function-level ones included.
    assert "rfctl.errors" in GRAPH["rfctl.cli"]
    assert "rfctl.commands.parser" in GRAPH["rfctl.cli"]  # imported inside program()
    assert "rfctl.commands.models" in GRAPH["rfctl.cli"]
    assert "rfctl.docs.tree" in GRAPH["rfctl.docs.bash"]
    assert "rfctl" in GRAPH["rfctl.commands.parser"]  # from rfctl import __version__
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    circles = []
    for component in _cycles(GRAPH):
        first = component[0]
        inside = set(component)
        back = next(m for m in component if first in GRAPH[m])
        circle = " -> ".join([*_path(GRAPH, first, back, inside), first])
        circles.append(f"{circle}  (all of: {', '.join(component)})")
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize(("layer", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_nothing_imports_upward(layer, forbidden):
    wrong = sorted(
        f"{m} imports {t}"
        for m, targets in GRAPH.items()
        if _within(m, layer)
        for t in targets
        if any(_within(t, f) for f in forbidden)
    )
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_cli():
    wrong = sorted(m for m, targets in GRAPH.items() if "rfctl.cli" in targets)
    assert wrong == ["rfctl.__main__"], wrong


def test_bottom_modules_import_only_each_other():
    wrong = sorted(f"{m} imports {t}" for m in BOTTOM for t in GRAPH[m] if t not in BOTTOM)
    assert not wrong, "\n".join(wrong)
