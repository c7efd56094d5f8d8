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

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import networkx as nx
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
)

KEYWORDS = ("env", "competency", "target", "defaults")
RATE_NAMES = ("success", "slip")
DEFAULT_RATES = {"success": 0.95, "slip": 0.05}

Kind = Literal["env", "competency", "target"]

GRAMMAR = r"""
start: _NL* (statement _NL+)* statement?

?statement: env_decl | competency_decl | target_decl | defaults_decl | rule

env_decl: "env" NAME ":" domain
competency_decl: "competency" NAME ":" domain
target_decl: "target" NAME rates?
defaults_decl: "defaults" rates

domain: INT ".." INT               -> range_domain
      | "{" INT ("," INT)* "}"     -> set_domain

rates: "(" rate ("," rate)* ")"
rate: NAME "=" NUMBER

rule: head ":" "(" conditions "|" requirements ")"
head: NAME ("=" INT)?
conditions: (condition ("," condition)*)?
condition: NAME COMPARISON INT
requirements: (requirement ("," requirement)*)?
requirement: NAME "=" INT

COMPARISON: ">=" | "="
NAME: /[A-Za-z_][A-Za-z0-9_]*/
INT: /[0-9]+/
NUMBER: /[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|\.[0-9]+([eE][-+]?[0-9]+)?/
COMMENT: /#[^\n]*/
_NL: /\r?\n/

%ignore /[ \t\f]+/
%ignore COMMENT
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)

TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "NUMBER": "a number",
    "COMPARISON": "'=' or '>='",
    "COLON": "':'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COMMA": "','",
    "VBAR": "'|'",
    "EQUAL": "'='",
    "_NL": "end of line",
    "$END": "end of file",
    "__ANON_0": "'..'",
}


@dataclass(frozen=True)
class Location:
    """Where something stands in a spec file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class SpecError(ValueError):
    """A spec that cannot be compiled: says where, what was expected, and a hint."""

    def __init__(self, location: Location, message: str, hint: str, source_line: str = ""):
        self.location = location
        self.message = message
        self.hint = hint
        self.source_line = source_line
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.location}: error: {self.message}"
        if self.source_line:
            caret = " " * (self.location.col - 1) + "^"
            text += f"\n  {self.source_line}\n  {caret}"
        return text + f"\nhint: {self.hint}"


@dataclass(frozen=True)
class Condition:
    """``var=value`` or ``var>=value`` on an env variable."""

    var: str
    op: Literal["=", ">="]
    value: int
    loc: Location

    def holds(self, value: int) -> bool:
        return value == self.value if self.op == "=" else value >= self.value


@dataclass(frozen=True)
class Requirement:
    """``name=level``: a competency at least ``level``, or a parent target (level 1)."""

    name: str
    level: int
    loc: Location


@dataclass(frozen=True)
class Rule:
    """One requirement line. ``level`` is ``None`` when the head is a target."""

    head: str
    level: int | None
    conditions: tuple[Condition, ...]
    requirements: tuple[Requirement, ...]
    loc: Location

    def applies(self, setting: dict[str, int]) -> bool:
        return all(c.holds(setting[c.var]) for c in self.conditions)


@dataclass(frozen=True)
class Rates:
    """``P(target=1)`` when every applying requirement is met (success) or not (slip)."""

    success: float
    slip: float


@dataclass(frozen=True)
class Spec:
    """A validated requirement spec.

    Attributes:
        env: env variable -> its domain (sorted integer values).
        competencies: competency -> its top level (levels are ``0..top``).
        targets: target -> its rates.
        rules: requirement lines in file order.
        source: the file name used in messages.
    """

    env: dict[str, tuple[int, ...]]
    competencies: dict[str, int]
    targets: dict[str, Rates]
    rules: tuple[Rule, ...]
    source: str = "<spec>"
    declared: dict[str, Location] = field(default_factory=dict)

    @property
    def derived(self) -> tuple[str, ...]:
        """Competencies that head a line: their level follows from other competencies."""
        heads = {r.head for r in self.rules if r.level is not None}
        return tuple(c for c in self.competencies if c in heads)

    @property
    def base(self) -> tuple[str, ...]:
        """Competencies that never head a line: they carry the parameters theta."""
        derived = set(self.derived)
        return tuple(c for c in self.competencies if c not in derived)


# --- parsing -----------------------------------------------------------------------------


@dataclass
class _Decl:
    kind: str
    name: str
    loc: Location
    domain: tuple[int, ...] | None = None
    rates: dict[str, tuple[float, Location]] | None = None


class _ToStatements(Transformer):
    """Lark tree -> plain records carrying locations."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _loc(self, token: Token) -> Location:
        return Location(self.file, token.line, token.column)

    def start(self, items):
        return items

    def range_domain(self, items):
        lo, hi = items
        if int(lo) > int(hi):
            raise SpecError(
                self._loc(lo),
                f"empty range {lo}..{hi}",
                f"write the smaller bound first, e.g. {hi}..{lo}",
            )
        return tuple(range(int(lo), int(hi) + 1)), self._loc(lo)

    def set_domain(self, items):
        values = [int(v) for v in items]
        for i, token in enumerate(items):
            if int(token) in values[:i]:
                raise SpecError(self._loc(token), f"value {token} listed twice", "list each value once")
        return tuple(sorted(values)), self._loc(items[0])

    @v_args(inline=True)
    def rate(self, name, number):
        return str(name), float(number), self._loc(name), self._loc(number)

    def rates(self, items):
        rates: dict[str, tuple[float, Location]] = {}
        for name, value, name_loc, value_loc in items:
            if name not in RATE_NAMES:
                raise SpecError(name_loc, f"unknown rate '{name}'", _did_you_mean(name, RATE_NAMES, "rates are"))
            if name in rates:
                raise SpecError(name_loc, f"rate '{name}' given twice", "give each rate once")
            if not 0.0 < value < 1.0:
                raise SpecError(
                    value_loc, f"{name}={value:g} is outside (0, 1)", "rates are probabilities strictly between 0 and 1"
                )
            rates[name] = (value, value_loc)
        return rates

    @v_args(inline=True)
    def env_decl(self, name, domain):
        return _Decl("env", str(name), self._loc(name), domain=domain[0])

    @v_args(inline=True)
    def competency_decl(self, name, domain):
        values, loc = domain
        if values != tuple(range(len(values))):
            raise SpecError(loc, "competency levels must be 0..top", f"write 'competency {name} : 0..{max(values)}'")
        return _Decl("competency", str(name), self._loc(name), domain=values)

    def target_decl(self, items):
        name = items[0]
        return _Decl("target", str(name), self._loc(name), rates=items[1] if len(items) > 1 else {})

    @v_args(meta=True)
    def defaults_decl(self, meta, items):
        return _Decl("defaults", "defaults", Location(self.file, meta.line, meta.column), rates=items[0])

    @v_args(inline=True)
    def condition(self, name, comparison, value):
        return Condition(str(name), str(comparison), int(value), self._loc(name))

    @v_args(inline=True)
    def requirement(self, name, level):
        return Requirement(str(name), int(level), self._loc(name))

    def conditions(self, items):
        return tuple(items)

    def requirements(self, items):
        return tuple(items)

    def head(self, items):
        name = items[0]
        return str(name), (int(items[1]) if len(items) > 1 else None), self._loc(name), items[1:]

    @v_args(inline=True)
    def rule(self, head, conditions, requirements):
        name, level, loc, level_token = head
        if level is not None and level < 1:
            raise SpecError(
                self._loc(level_token[0]),
                f"'{name}={level}': a derived level must be at least 1",
                "level 0 needs no requirements; start at 1",
            )
        return Rule(name, level, conditions, requirements, loc)


def _did_you_mean(word: str, choices, what: str) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    listing = ", ".join(sorted(choices)) if choices else "none"
    if close:
        return f"did you mean '{close[0]}'? ({what}: {listing})"
    return f"{what}: {listing}"


def _syntax_error(err: UnexpectedInput, text: str, file: str) -> SpecError:
    lines = text.splitlines()
    line = getattr(err, "line", None)
    col = getattr(err, "column", None)
    if not isinstance(line, int) or line < 1:
        line, col = max(len(lines), 1), (len(lines[-1]) + 1 if lines else 1)
    line_text = lines[line - 1] if 0 < line <= len(lines) else ""
    loc = Location(file, line, col if isinstance(col, int) and col > 0 else 1)
    words = line_text.split()
    first = words[0] if words else ""
    spaced_head = re.match(r"\s*([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*:\s*\(", line_text)
    if spaced_head and spaced_head.group(1) not in KEYWORDS:
        return SpecError(
            Location(file, line, spaced_head.start(2) + 1),
            f"unexpected '{spaced_head.group(2)}'; expected ':'",
            f"names cannot contain spaces: write '{spaced_head.group(1)}_{spaced_head.group(2)}'",
            line_text,
        )
    if (
        len(words) > 1
        and first.isidentifier()
        and first not in KEYWORDS
        and words[1][:1].isalpha()
        and ":" not in first
    ):
        return SpecError(
            Location(file, line, line_text.index(first) + 1),
            f"unknown keyword '{first}'",
            _did_you_mean(first, KEYWORDS, "keywords are")
            + "; a requirement line reads 'head : (conditions | requirements)'",
            line_text,
        )
    if isinstance(err, UnexpectedCharacters):
        char = line_text[loc.col - 1] if loc.col - 1 < len(line_text) else "?"
        expected = sorted(TOKEN_WORDS.get(t, t) for t in err.allowed) if err.allowed else []
        return SpecError(
            loc,
            f"unexpected character {char!r}" + (f"; expected {_or(expected)}" if expected else ""),
            _hint_for(line_text, char, loc.col),
            line_text,
        )
    expected = sorted({TOKEN_WORDS.get(t, t) for t in getattr(err, "expected", ()) or ()})
    token = getattr(err, "token", None)
    found = "end of line" if token is None or token.type in ("_NL", "$END") else repr(str(token))
    return SpecError(
        loc,
        f"unexpected {found}" + (f"; expected {_or(expected)}" if expected else ""),
        _hint_for(line_text, str(token) if token is not None else "", loc.col),
        line_text,
    )


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _hint_for(line_text: str, found: str, col: int = 0) -> str:
    stripped = line_text.strip()
    before = line_text[: max(col - 1, 0)].rstrip()
    if found[:1].isalpha() and before[-1:].isalnum():
        previous = before.split()[-1].split("(")[-1].split("|")[-1].split(",")[-1]
        if "=" in previous:
            return f"conditions and requirements are separated by ',': write '{previous}, {found}'"
        return f"names cannot contain spaces: write '{previous}_{found}'"
    if stripped.startswith(("env ", "competency ")):
        return "a declaration reads 'env NAME : LO..HI' or 'env NAME : {v1, v2}'"
    if stripped.startswith(("target ", "defaults")):
        return "rates read '(success=0.95, slip=0.05)'"
    if found[:1] in ("-", ".") or found in ("<", ">", "<=", "!"):
        return "levels and env values are non-negative integers; conditions compare with '=' or '>='"
    if "|" not in stripped and ":" in stripped:
        return "a requirement line needs '|' between conditions and requirements: 'head : (wall=1 | move=1)'"
    return "a requirement line reads 'head : (env=v, env>=v | competency=k, target=1)'"


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
    try:
        tree = _PARSER.parse(text if text.endswith("\n") else text + "\n")
        statements = _ToStatements(file).transform(tree)
    except SpecError:
        raise
    except (UnexpectedInput, UnexpectedEOF) as err:
        raise _syntax_error(err, text, file) from None
    except LarkError as err:  # visit errors wrap our SpecError raised inside the transformer
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, SpecError):
            inner.source_line = _line(text, inner.location.line)
            raise SpecError(inner.location, inner.message, inner.hint, inner.source_line) from None
        raise SpecError(Location(file, 1, 1), f"cannot parse: {err}", "check the spec syntax") from None
    try:
        return _validate(statements, text, file)
    except SpecError as err:
        if not err.source_line:
            raise SpecError(err.location, err.message, err.hint, _line(text, err.location.line)) from None
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


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


# --- validation --------------------------------------------------------------------------


def _validate(statements: list, text: str, file: str) -> Spec:
    decls = [s for s in statements if isinstance(s, _Decl)]
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


def dependency_graph(spec: Spec) -> nx.DiGraph:
    """Edges ``parent -> child`` among targets and competencies (env variables excluded)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(spec.competencies)
    graph.add_nodes_from(spec.targets)
    for rule in spec.rules:
        for r in rule.requirements:
            graph.add_edge(r.name, rule.head, loc=r.loc)
    return graph


def _check_cycles(spec: Spec) -> None:
    graph = dependency_graph(spec)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    names = [u for u, _ in cycle] + [cycle[0][0]]
    loc = graph.edges[cycle[-1][0], cycle[-1][1]]["loc"]
    raise SpecError(
        loc,
        "cycle: " + " -> ".join(names),
        "targets and derived competencies must not require themselves, directly or through others",
    )
