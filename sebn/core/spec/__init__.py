"""Requirement specs: the ``*.sebn`` text format, parsed and validated into a :class:`Spec`.

A spec says what an agent must be able to do. Each requirement line names a head (a
target, or a level of a derived competency), the environment conditions under which
the line applies, and the competency levels (or parent targets) it requires::

    env wall : {0, 1}
    competency move : 0..2
    target goalreached (success=0.95, slip=0.05)
    goalreached : (wall=1 | move=1, avoid_wall=1)
    goalreached : (| move=1)

Declarations are optional: a name first seen in a condition is an env variable, in a
requirement a competency, in a head a target; its domain is ``0..max(value seen)``.
Every error is a :class:`SpecError` naming ``file:line:col``, what was expected, and a
hint. Nothing in a spec is ever executed.

Example:
    >>> spec = parse_spec("goalreached : (wall=1 | move=1, avoid_wall=1)\\n", "demo.sebn")
    >>> spec.env
    {'wall': (0, 1)}
    >>> spec.competencies
    {'move': 1, 'avoid_wall': 1}
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from pathlib import Path

from sebn.core.spec.structure import (
    DEFAULT_RATES,
    KEYWORDS,
    Condition,
    Declaration,
    Kind,
    Location,
    Rates,
    Requirement,
    Rule,
    Spec,
    SpecError,
    line_of,
)
from sebn.core.spec.syntax import parse_statements

__all__ = [
    "Condition",
    "Location",
    "Rates",
    "Requirement",
    "Rule",
    "Spec",
    "SpecError",
    "dependency_graph",
    "load_spec",
    "parse_spec",
    "shipped_spec",
]


def parse_spec(text: str, file: str = "<spec>") -> Spec:
    """Parse and validate spec text.

    Args:
        text: the spec source.
        file: the name used in error messages.

    Returns:
        The validated :class:`Spec`.

    Raises:
        SpecError: on any syntax or semantic error (never any other exception).
    """
    statements = parse_statements(text, file)
    try:
        return _validate(statements, text, file)
    except SpecError as err:
        if not err.source_line:
            raise SpecError(err.location, err.message, err.hint, line_of(text, err.location.line)) from None
        raise


def shipped_spec(name: str) -> Path:
    """The path of a spec installed with the package: the repository's ``specs/NAME.sebn``
    (``doorkey``, ``bipedalwalker``, ``robosuite_door``).

    Example:
        >>> shipped_spec("doorkey").name
        'doorkey.sebn'
    """
    from importlib.resources import files

    return Path(str(files("sebn.specs").joinpath(f"{name}.sebn")))


def load_spec(path: str | Path) -> Spec:
    """Read and parse a spec file.

    Raises:
        SpecError: if the file is unreadable or invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(
            Location(str(path), 1, 1),
            f"cannot read spec: {err.__class__.__name__}: {err}",
            "check the path and that the file is UTF-8 text",
        ) from None
    return parse_spec(text, str(path))


# --- validation --------------------------------------------------------------------------


def _validate(statements: list, text: str, file: str) -> Spec:
    decls = [s for s in statements if isinstance(s, Declaration)]
    rules = tuple(s for s in statements if isinstance(s, Rule))

    kinds: dict[str, tuple[Kind, Location]] = {}

    def claim(name: str, kind: Kind, loc: Location) -> None:
        if name in kinds and kinds[name][0] != kind:
            first_kind, first_loc = kinds[name]
            raise SpecError(
                loc,
                f"'{name}' is used as {_article(kind)} here but as {_article(first_kind)} at {first_loc}",
                "a name is one kind only: an env variable, a competency, or a target",
            )
        kinds.setdefault(name, (kind, loc))

    defaults = dict(DEFAULT_RATES)
    declared: dict[str, Location] = {}
    env_domains: dict[str, tuple[int, ...]] = {}
    competency_tops: dict[str, int] = {}
    target_rates: dict[str, dict[str, float]] = {}
    rate_locs: dict[str, Location] = {}
    defaults_seen: Location | None = None

    for d in decls:
        if d.kind == "defaults":
            if defaults_seen is not None:
                raise SpecError(d.loc, "'defaults' given twice", f"the first is at {defaults_seen}; keep one")
            defaults_seen = d.loc
            defaults.update({k: v for k, (v, _) in d.rates.items()})
            continue
        if d.name in KEYWORDS:
            raise SpecError(d.loc, f"'{d.name}' is a keyword", "choose another name")
        if d.name in declared:
            raise SpecError(d.loc, f"'{d.name}' is declared twice", f"the first declaration is at {declared[d.name]}")
        declared[d.name] = d.loc
        claim(d.name, d.kind, d.loc)
        if d.kind == "env":
            env_domains[d.name] = d.domain
        elif d.kind == "competency":
            competency_tops[d.name] = max(d.domain)
        else:
            target_rates[d.name] = {k: v for k, (v, _) in d.rates.items()}
            if d.rates:
                rate_locs[d.name] = next(iter(d.rates.values()))[1]

    # Undeclared names take their kind from where they are used; heads first, since a
    # target may be required on a line above its own.
    for rule in rules:
        claim(rule.head, "competency" if rule.level is not None else "target", rule.loc)
    for rule in rules:
        for c in rule.conditions:
            if c.var in KEYWORDS:
                raise SpecError(c.loc, f"'{c.var}' is a keyword", "choose another name")
            claim(c.var, "env", c.loc)
        for r in rule.requirements:
            if kinds.get(r.name, ("competency",))[0] != "target":
                claim(r.name, "competency", r.loc)

    seen_env: dict[str, int] = {}
    seen_levels: dict[str, int] = {}
    for rule in rules:
        if rule.level is not None:
            seen_levels[rule.head] = max(seen_levels.get(rule.head, 0), rule.level)
        for c in rule.conditions:
            seen_env[c.var] = max(seen_env.get(c.var, 0), c.value)
        for r in rule.requirements:
            if kinds[r.name][0] == "competency":
                seen_levels[r.name] = max(seen_levels.get(r.name, 0), r.level)

    env = {
        name: env_domains.get(name, tuple(range(seen_env.get(name, 0) + 1)))
        for name, (k, _) in kinds.items()
        if k == "env"
    }
    competencies = {
        name: competency_tops.get(name, max(seen_levels.get(name, 1), 1))
        for name, (k, _) in kinds.items()
        if k == "competency"
    }

    for rule in rules:
        if rule.level is not None:
            _check_level(rule.head, rule.level, competencies, declared, rule.loc)
            if rule.conditions:
                raise SpecError(
                    rule.conditions[0].loc,
                    f"a derived competency line ('{rule.head}={rule.level}') cannot have env conditions",
                    "derived levels depend on competencies only; move the condition to a target line",
                )
        for c in rule.conditions:
            if c.var in env_domains and c.value not in env_domains[c.var]:
                raise SpecError(
                    c.loc,
                    f"{c.var}{c.op}{c.value} is outside the declared domain {_domain(env_domains[c.var])}",
                    f"{c.var} is declared at {declared[c.var]}",
                )
        for r in rule.requirements:
            kind = kinds[r.name][0]
            if kind == "target":
                if rule.level is not None:
                    raise SpecError(
                        r.loc,
                        f"derived competency '{rule.head}' cannot require target '{r.name}'",
                        "derived competencies require competencies only",
                    )
                if r.level != 1:
                    raise SpecError(
                        r.loc,
                        f"'{r.name}={r.level}': a target requirement must read '{r.name}=1'",
                        "targets are binary: require them to succeed with =1",
                    )
            else:
                _check_level(r.name, r.level, competencies, declared, r.loc)

    targets: dict[str, Rates] = {}
    for name, (kind, loc) in kinds.items():
        if kind != "target":
            continue
        rates = {**defaults, **target_rates.get(name, {})}
        if not rates["slip"] < rates["success"]:
            where = rate_locs.get(name, defaults_seen or loc)
            raise SpecError(
                where,
                f"target '{name}' has slip={rates['slip']:g} >= success={rates['success']:g}",
                "slip is the chance of success without the requirements: keep it below success",
            )
        targets[name] = Rates(rates["success"], rates["slip"])
    if not targets:
        raise SpecError(
            Location(file, 1, 1), "the spec has no target", "add a requirement line such as 'goalreached : (| move=1)'"
        )

    spec = Spec(env, competencies, targets, rules, file, declared)
    _check_cycles(spec)
    return spec


def _check_level(
    name: str, level: int, competencies: dict[str, int], declared: dict[str, Location], loc: Location
) -> None:
    top = competencies[name]
    if level > top:
        raise SpecError(
            loc,
            f"{name}={level} is above the declared top level {top}",
            f"{name} is declared at {declared[name]} with levels 0..{top}",
        )


def _article(kind: str) -> str:
    return {"env": "an env variable", "competency": "a competency", "target": "a target"}[kind]


def _domain(values: tuple[int, ...]) -> str:
    if values == tuple(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return "{" + ", ".join(map(str, values)) + "}"


Dependencies = dict[str, dict[str, Location]]
"""``parent -> {child: where the child's line requires the parent}`` (the last such line)."""


def dependency_graph(spec: Spec) -> Dependencies:
    """Edges ``parent -> child`` among targets and competencies (env variables excluded),
    as plain dicts: parsing a spec needs no graph library (networkx takes 0.3 s to import,
    most of ``sebn check``'s time; the network's picture still uses it)."""
    graph: Dependencies = {name: {} for name in [*spec.competencies, *spec.targets]}
    for rule in spec.rules:
        for r in rule.requirements:
            graph.setdefault(r.name, {})[rule.head] = r.loc
            graph.setdefault(rule.head, {})
    return graph


def topological_order(graph: Dependencies, key: Callable[[str], int]) -> list[str]:
    """Parents before children; among the nodes ready at each point, the smallest ``key``
    first (Kahn's algorithm with a heap: networkx's lexicographical topological sort)."""
    waiting = {name: 0 for name in graph}
    for children in graph.values():
        for child in children:
            waiting[child] += 1
    ready = [(key(name), name) for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for child in graph[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (key(child), child))
    return order


def _check_cycles(spec: Spec) -> None:
    """The first cycle a depth-first search meets, named along its edges and located at
    the requirement that closes it."""
    graph = dependency_graph(spec)
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        for child, loc in graph[name].items():
            if child in path:
                names = [*path[path.index(child) :], child]
                raise SpecError(
                    loc,
                    "cycle: " + " -> ".join(names),
                    "targets and derived competencies must not require themselves, directly or through others",
                )
            if child not in done:
                visit(child, [*path, child])
        done.add(name)

    for start in graph:
        if start not in done:
            visit(start, [start])
