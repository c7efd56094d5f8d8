"""What a parsed spec is: its statements' data, and the error every spec problem raises."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

KEYWORDS = ("env", "competency", "target", "defaults")
RATE_NAMES = ("success", "slip")
DEFAULT_RATES = {"success": 0.95, "slip": 0.05}
MAX_ENV_VALUE = 100_000
"""The largest value an env variable may take: settings and search tables hold every value."""
MAX_LEVEL = 100
"""The highest level a competency may have: fitting works on dense ``[sum L, sum L]`` tables."""

Kind = Literal["env", "competency", "target"]


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


def did_you_mean(word: str, choices, what: str) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    listing = ", ".join(sorted(choices)) if choices else "none"
    if close:
        return f"did you mean '{close[0]}'? ({what}: {listing})"
    return f"{what}: {listing}"


def line_of(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass
class Declaration:
    """An ``env``, ``competency``, ``target`` or ``defaults`` statement, as written."""

    kind: str
    name: str
    loc: Location
    domain: tuple[int, ...] | None = None
    rates: dict[str, tuple[float, Location]] | None = None
