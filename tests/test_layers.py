"""Imports point down: core/ imports nothing of ours, projections/ only core/, app/ both; no cycles."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("core", "projections", "app", "migrations", "tests", "bench")
# What each package may import from the others (itself aside).
ALLOWED = {
    "core": set(),
    "projections": {"core"},
    "migrations": {"core"},
    "app": {"core", "projections"},
    "bench": {"core", "projections", "app"},
    "tests": {"core", "projections", "app", "migrations", "bench"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every module of ours and the modules of ours it imports, anywhere in its body."""
    graph: dict[str, set[str]] = {}
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            found: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module)
                    found |= {f"{node.module}.{alias.name}" for alias in node.names}
            graph[module_name(path)] = {name for name in found if name.split(".")[0] in OURS}
    # Keep names that are modules; "from core.sql import query" names core.sql.
    return {module: {name for name in names if name in graph} for module, names in graph.items()}


def test_every_import_points_down() -> None:
    upward = [
        f"{module} imports {imported}"
        for module, names in imports().items()
        for imported in names
        if imported.split(".")[0] != module.split(".")[0]
        and imported.split(".")[0] not in ALLOWED[module.split(".")[0]]
    ]
    assert upward == []


def test_no_test_module_imports_another() -> None:
    offending = [
        f"{module} imports {imported}"
        for module, names in imports().items()
        for imported in names
        if module.startswith("tests.") and imported.split(".")[-1].startswith(("test_", "conftest"))
    ]
    assert offending == []


def test_no_module_imports_itself_back() -> None:
    graph = imports()
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(graph[module]):
            if imported == path[0]:
                cycles.append([*path, imported])
            elif imported not in path and imported > path[0]:
                visit(imported, [*path, imported])

    for module in sorted(graph):
        visit(module, [module])
    assert cycles == []
