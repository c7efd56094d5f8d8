"""The house's rules, read from the code's import statements (``ast``; nothing is run).

Every import counts, at the top of a module or inside a function: a lazy import is still
an arrow. The layers, from the bottom: ``sebn.core`` < ``sebn.curricula`` <
``sebn.runner`` < ``sebn.report`` < ``sebn.cli``; ``agents/`` and ``domains/`` stand beside
the runner and speak to it only through ``sebn.runner.interface``; ``benchmarks/`` stands
above all of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sebn", "agents", "domains", "benchmarks")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module an import statement of ``path`` names (``from a import b`` names ``a.b``
    when that is a module, else ``a``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                whole = f"{base}.{alias.name}"
                named.add(whole if whole in known else base)
    return named


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    known = modules()
    graph = nx.DiGraph()
    for name, path in known.items():
        graph.add_node(name)
        for target in imports_of(name, path, known):
            graph.add_edge(name, target)
    return graph


def arrows(graph: nx.DiGraph, source: str, target: str) -> list[str]:
    """Imports from modules under ``source`` of modules under ``target`` (prefixes)."""
    return sorted(
        f"{a} -> {b}"
        for a, b in graph.edges
        if (a == source or a.startswith(source + ".")) and (b == target or b.startswith(target + "."))
    )


@pytest.mark.parametrize("outside", ["agents", "domains"])
@pytest.mark.parametrize("runner_part", ["sebn.cli", "sebn.runner.experiment", "sebn.runner.sweep"])
def test_agents_and_domains_never_import_the_runner_above_its_interface(graph, outside, runner_part):
    assert arrows(graph, outside, runner_part) == []


@pytest.mark.parametrize("outside", ["agents", "domains"])
def test_agents_and_domains_import_only_the_interface_and_the_model_layers(graph, outside):
    allowed = ("sebn.runner.interface", "sebn.core", "sebn.curricula")
    wrong = [a for a in arrows(graph, outside, "sebn") if not a.split(" -> ")[1].startswith(allowed)]
    assert wrong == []


@pytest.mark.parametrize("above", ["gymnasium", "sebn.curricula", "sebn.runner", "sebn.report", "sebn.cli"])
def test_the_core_knows_no_gym_and_nothing_above_it(graph, above):
    assert arrows(graph, "sebn.core", above) == []


@pytest.mark.parametrize(
    ("layer", "above"),
    [
        ("sebn.curricula", "sebn.runner"),
        ("sebn.curricula", "sebn.report"),
        ("sebn.curricula", "sebn.cli"),
        ("sebn.runner", "sebn.report"),
        ("sebn.runner", "sebn.cli"),
        ("sebn.report", "sebn.cli"),
    ],
)
def test_every_arrow_points_down(graph, layer, above):
    assert arrows(graph, layer, above) == []


def test_nothing_below_the_benchmarks_imports_the_command_line(graph):
    """The benchmarks stand above everything, the command line included (their flags take
    its argument types); the library, agents and domains never import it."""
    outside = [
        (a, b) for a, b in graph.edges if b.startswith("sebn.cli") and not a.startswith(("sebn.cli", "benchmarks"))
    ]
    assert outside == []


def test_no_import_cycles(graph):
    assert list(nx.simple_cycles(graph)) == []


def test_the_rules_see_the_imports_they_judge(graph):
    """A broken reader would pass every rule above: it must see the arrows we know are there."""
    assert graph.has_edge("sebn.runner.experiment", "sebn.curricula.registry")
    assert graph.has_edge("agents.ppo", "sebn.runner.interface")
    assert graph.has_edge("sebn.cli.run_commands", "sebn.runner.experiment")  # an import inside a function
