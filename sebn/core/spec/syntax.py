"""The spec language's grammar (lark, LALR): text -> declarations and requirement lines,
with every syntax error a :class:`~sebn.core.spec.structure.SpecError` naming ``file:line:col``,
what was expected and a hint."""

from __future__ import annotations

import re

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
)

from sebn.core.spec.structure import (
    KEYWORDS,
    MAX_ENV_VALUE,
    MAX_LEVEL,
    RATE_NAMES,
    Condition,
    Declaration,
    Location,
    Requirement,
    Rule,
    SpecError,
    did_you_mean,
    line_of,
)

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
NAME: /[^\W\d]\w*/  // what Python accepts as an identifier, letters of any script included
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


class _ToStatements(Transformer):
    """Lark tree -> plain records carrying locations."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _loc(self, token: Token) -> Location:
        return Location(self.file, token.line, token.column)

    def start(self, items):
        return items

    def _bounded(self, token: Token, limit: int, what: str) -> int:
        if int(token) > limit:
            hint = _FEWER_LEVELS if what == "level" else _FEWER_VALUES
            raise SpecError(self._loc(token), f"{what} {token} is over the limit of {limit:,}", hint)
        return int(token)

    def range_domain(self, items):
        lo, hi = items
        self._bounded(hi, MAX_ENV_VALUE, "value")
        if int(lo) > int(hi):
            raise SpecError(
                self._loc(lo),
                f"empty range {lo}..{hi}",
                f"write the smaller bound first, e.g. {hi}..{lo}",
            )
        return tuple(range(int(lo), int(hi) + 1)), self._loc(lo)

    def set_domain(self, items):
        values = [self._bounded(v, MAX_ENV_VALUE, "value") for v in items]
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
                raise SpecError(name_loc, f"unknown rate '{name}'", did_you_mean(name, RATE_NAMES, "rates are"))
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
        return Declaration("env", str(name), self._loc(name), domain=domain[0])

    @v_args(inline=True)
    def competency_decl(self, name, domain):
        values, loc = domain
        if values != tuple(range(len(values))):
            raise SpecError(loc, "competency levels must be 0..top", f"write 'competency {name} : 0..{max(values)}'")
        if len(values) > MAX_LEVEL + 1:
            raise SpecError(
                loc, f"competency {name} has levels up to {max(values)}, over the limit of {MAX_LEVEL}", _FEWER_LEVELS
            )
        return Declaration("competency", str(name), self._loc(name), domain=values)

    def target_decl(self, items):
        name = items[0]
        return Declaration("target", str(name), self._loc(name), rates=items[1] if len(items) > 1 else {})

    @v_args(meta=True)
    def defaults_decl(self, meta, items):
        return Declaration("defaults", "defaults", Location(self.file, meta.line, meta.column), rates=items[0])

    @v_args(inline=True)
    def condition(self, name, comparison, value):
        return Condition(str(name), str(comparison), self._bounded(value, MAX_ENV_VALUE, "value"), self._loc(name))

    @v_args(inline=True)
    def requirement(self, name, level):
        return Requirement(str(name), self._bounded(level, MAX_LEVEL, "level"), self._loc(name))

    def conditions(self, items):
        return tuple(items)

    def requirements(self, items):
        return tuple(items)

    def head(self, items):
        name = items[0]
        level = self._bounded(items[1], MAX_LEVEL, "level") if len(items) > 1 else None
        return str(name), level, self._loc(name), items[1:]

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


_FEWER_LEVELS = f"competencies have at most {MAX_LEVEL} levels above 0; coarsen the scale"
_FEWER_VALUES = f"env values go up to {MAX_ENV_VALUE:,}; coarsen the scale (e.g. bins of a continuous parameter)"


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
            did_you_mean(first, KEYWORDS, "keywords are")
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


def parse_statements(text: str, file: str) -> list:
    """The spec's statements (declarations and :class:`Rule` lines), in order.

    Raises:
        SpecError: on a syntax error, or a bad value inside a statement.
    """
    try:
        tree = _PARSER.parse(text if text.endswith("\n") else text + "\n")
        return _ToStatements(file).transform(tree)
    except SpecError:
        raise
    except (UnexpectedInput, UnexpectedEOF) as err:
        raise _syntax_error(err, text, file) from None
    except LarkError as err:  # visit errors wrap our SpecError raised inside the transformer
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, SpecError):
            raise SpecError(inner.location, inner.message, inner.hint, line_of(text, inner.location.line)) from None
        raise SpecError(Location(file, 1, 1), f"cannot parse: {err}", "check the spec syntax") from None
