"""The dependency rules of design.md, checked on the source: no import cycles among the
core's and the adapters' modules, the core imports no adapter and no framework.

Every import counts, wherever it is written (module level, inside a function, under
`if TYPE_CHECKING:`): a lazy import only hides a cycle from the interpreter, not from
whoever has to change one side without the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("axis", "adapters")

# Libraries that belong to the edges (design.md, "Layout"): the core defines ports and
# the adapters implement them with these.
FRAMEWORKS = frozenset(
    {
        "fastapi",
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "alembic",
        "pika",
        "httpx",
        "apscheduler",
        "structlog",
        "prometheus_client",
        "zeep",
    }
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # alembic scripts: loaded by alembic, never imported
            found[_module_name(path)] = path
    return found


def _imported(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """Every module name that `path` imports (absolute form), known or foreign."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = name.split(".")
                drop = node.level - 1 if is_package else node.level
                base_parts = base_parts[: len(base_parts) - drop]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                # `from axis import errors` imports the module axis.errors
                yield candidate if candidate in known else base


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of axis/ and adapters/ it imports (packages included)."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for imported in _imported(path, name, known):
            target = imported
            while target and target not in known:
                target = target.rpartition(".")[0]  # `import axis.x.y` → nearest module
            if target and target != name and target.split(".")[0] in PACKAGES:
                edges.add(target)
        graph[name] = edges
    return graph


def foreign_imports(prefix: str) -> dict[str, set[str]]:
    """For each module under `prefix`, the top-level names of everything it imports."""
    modules = _modules()
    known = set(modules)
    out: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name == prefix or name.startswith(prefix + "."):
            out[name] = {t.split(".")[0] for t in _imported(path, name, known) if t}
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            # A package's __init__ importing its own submodules is how packages expose
            # a face; that edge alone is not a design cycle, so parent → child is left
            # out (the child → parent edge stays).
            if w.startswith(v + "."):
                continue
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_cycle() -> None:
    """The check itself: a graph with a cycle is reported, one without is not."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert "axis.errors" in import_graph()["axis.route.exchange"]


def test_no_import_cycles_among_core_and_adapters() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_core_imports_no_adapter() -> None:
    graph = import_graph()
    offenders = {
        name: sorted(t for t in targets if t.startswith("adapters"))
        for name, targets in graph.items()
        if name.startswith("axis")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_imports_no_framework() -> None:
    offenders = {
        name: sorted(tops & FRAMEWORKS) for name, tops in foreign_imports("axis").items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}
