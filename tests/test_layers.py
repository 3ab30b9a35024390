"""The package reads top-down: no module imports from a layer above its own, and the top-level packages import
each other without a cycle.

Layers, top to bottom (the README's Development section says what each holds):

    cli                  the `curate` command (`curate/cli/`, `python -m curate`)
    run, train           the two pipelines: curating a recipe (`curate run`) and fine-tuning on its output
    outputs              the output folder: its work folder, manifest, card, and reading them back
    stages               the steps, one per file, and their registry
    libraries            what the steps and the trainer are built from (langid, dedup, pii, quality, ...)
    io                   reading and writing files
    core                 rows, text, languages, errors and other small pieces everything uses

Every import counts, wherever it is written: at the top of a module, inside a function (an import put there to
dodge a cycle is still a dependency) or under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "curate"

LAYERS: list[tuple[str, set[str]]] = [
    ("cli", {"cli", "__main__"}),
    ("pipelines", {"run", "train"}),
    ("outputs", {"outputs"}),
    ("stages", {"stages"}),
    (
        "libraries",
        {"langid", "dedup", "pii", "quality", "pairs", "content", "standardize", "augment", "review", "models"},
    ),
    ("io", {"io"}),
    ("core", {"core", "__init__"}),
]
LEVEL = {package: level for level, (_, packages) in enumerate(LAYERS) for package in packages}

# Imports allowed to point upwards, each with its reason: (importing module, imported module) -> why.
ALLOWED: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    return _imports_in(path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py")


def _imports_in(source: str, name: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, curate module) for every import in the source of module `name`, wherever it is written:
    `from curate.x import y` is an import of `curate.x.y` when that is a module, else of `curate.x`."""
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else module))
    return [(line, module) for line, module in found if module == "curate" or module.startswith("curate.")]


def _top(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_every_module_has_a_layer():
    loose = sorted({_top(m) for m in MODULES} - set(LEVEL))
    assert not loose, f"modules or packages under curate/ without a layer in tests/test_layers.py: {loose}"


def test_no_import_from_a_lower_layer_to_a_higher_one():
    violations = []
    for name, imports in GRAPH.items():
        for line, module in imports:
            here, there = _top(name), _top(module)
            if LEVEL[there] < LEVEL[here] and (name, module) not in ALLOWED:
                violations.append(
                    f"{MODULES[name].relative_to(ROOT.parent)}:{line}: {name} ({LAYERS[LEVEL[here]][0]}) "
                    f"imports {module} ({LAYERS[LEVEL[there]][0]})"
                )
    assert not violations, "imports from a lower layer to a higher one:\n" + "\n".join(violations)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_top_level_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], str] = {}
    for name, imports in GRAPH.items():
        for line, module in imports:
            a, b = _top(name), _top(module)
            if a != b and (name, module) not in ALLOWED:
                graph[a].add(b)
                where.setdefault((a, b), f"{MODULES[name].relative_to(ROOT.parent)}:{line} imports {module}")
    cycle = _cycle(graph)
    assert cycle is None, (
        "import cycle between packages: "
        + " -> ".join(cycle)
        + "\n"
        + "\n".join(where[edge] for edge in zip(cycle, cycle[1:]))
    )


@pytest.mark.parametrize("package", ["run", "outputs"])
def test_no_import_cycle_between_the_modules_of(package):
    """The engine, the Ray engine and the manifest used to import each other (some of it inside functions)."""
    graph = {
        name: {m for _, m in imports if m != name and _top(m) == package}
        for name, imports in GRAPH.items()
        if _top(name) == package
    }
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_see_every_kind_of_import():
    """Imports inside functions, under TYPE_CHECKING, relative ones, and `from package import module`."""
    source = """
from typing import TYPE_CHECKING
import curate.core.rows
from curate.core import text
from ..outputs import manifest

if TYPE_CHECKING:
    from curate.run.recipe import Recipe


def late():
    from curate.cli import main
"""
    assert sorted(_imports_in(source, "curate.stages.example")) == [
        (3, "curate.core.rows"),
        (4, "curate.core.text"),
        (5, "curate.outputs.manifest"),
        (8, "curate.run.recipe"),
        (12, "curate.cli"),
    ]
