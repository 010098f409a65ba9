"""Imports stay layered: a module imports only from its own layer or the layers below it, and no group
of modules imports each other in a loop. Read from the source (every import, also those inside functions
and under TYPE_CHECKING), so it holds whether or not a module is ever loaded."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HELIX = Path(__file__).resolve().parent.parent / "helix"

# Bottom to top. A module belongs to the layer of the longest name that prefixes it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "helix",
            "helix.errors",
            "helix.durations",
            "helix.dburl",
            "helix.dates",
            "helix.logs",
            "helix.runtime",
            "helix.format",
            "helix.periods",
            "helix.startup",
            "helix.tally",
        ),
    ),
    ("domain", ("helix.virtual_keys", "helix.call")),
    ("settings", ("helix.pii.config", "helix.routing_config", "helix.config", "helix.pricing", "helix.models")),
    ("store", ("helix.store",)),
    (
        "engines",
        (
            "helix.cache",
            "helix.pii",
            "helix.quota",
            "helix.providers",
            "helix.alerts",
            "helix.model_install",
            "helix.routing",
            "helix.translate",
            "helix.metrics",
        ),
    ),
    ("pipeline", ("helix.pipeline",)),
    ("gateway", ("helix.gateway", "helix.doctor", "helix.reload", "helix.server")),
    ("surfaces", ("helix.api", "helix.web", "helix.commands")),
    # `helix serve` builds and runs the app: an entry point, though it lives beside the other sub-commands.
    ("entry points", ("helix.app", "helix.cli", "helix.__main__", "helix.commands.serve")),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(HELIX.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best, found = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # The bare package name covers only helix/__init__.py, so a new top-level module must be placed.
            covers = module == prefix or (prefix != "helix" and module.startswith(prefix + "."))
            if covers and len(prefix) > best:
                best, found = len(prefix), index
    return found


def imports(path: Path, modules: set[str]) -> set[str]:
    """The helix modules `path` imports (`from helix.x import y` counts as helix.x.y when that is a module)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in modules else base)
    return {name for name in found if name in modules and name != here}


def graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in HELIX.rglob("*.py")}
    modules = set(files)
    return {name: imports(path, modules) for name, path in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_every_module_has_a_layer() -> None:
    assert [name for name in graph() if layer_of(name) < 0] == []


def upward(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{name} ({LAYERS[layer_of(name)][0]}) imports {other} ({LAYERS[layer_of(other)][0]})"
        for name, others in sorted(edges.items())
        for other in sorted(others)
        if layer_of(other) > layer_of(name)
    ]


def test_no_import_runs_up_a_layer() -> None:
    assert upward(graph()) == []


def test_no_modules_import_each_other_in_a_loop() -> None:
    assert cycles(graph()) == []


def package_of(module: str) -> str:
    """helix.cache.entries -> helix.cache; a top-level module (helix.gateway) is its own."""
    return ".".join(module.split(".")[:2])


def test_no_packages_import_each_other_in_a_loop() -> None:
    """Folders too: a package that imports another package that imports it back is one tangle, even when
    the modules themselves form no loop (a settings module inside an engine's folder, say)."""
    packages: dict[str, set[str]] = {}
    for name, others in graph().items():
        packages.setdefault(package_of(name), set()).update(
            package_of(other) for other in others if package_of(other) != package_of(name)
        )
    for others in list(packages.values()):
        for other in others:
            packages.setdefault(other, set())
    assert cycles(packages) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_the_loop_finder_finds_loops(edges: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(edges) == expected


def test_an_upward_import_is_seen() -> None:
    """The checker itself: the request log importing the pipeline would be caught, the reverse is fine."""
    edges = {"helix.store.request_log": {"helix.pipeline.log", "helix.call"}, "helix.pipeline.log": set()}
    assert upward(edges) == ["helix.store.request_log (store) imports helix.pipeline.log (pipeline)"]
    assert upward({"helix.pipeline.log": {"helix.store.request_log"}}) == []
    assert layer_of("helix.pii.config") < layer_of("helix.pii.redact")  # settings sit below the engine


def test_imports_are_read_from_the_source() -> None:
    edges = graph()
    assert {"helix.store.migrations", "helix.store.vec"} <= edges["helix.store.db"]
    assert "helix.call" in edges["helix.pipeline.log"]  # `from helix.call import ...`
    assert "helix.store.keys" in edges["helix.api.admin"]  # `from helix.store import keys as key_store`
