"""Spec -> SEBN: variables, domains, the DAG, and requirement tensors.

The network compiles derived competencies away: ``c>=k`` for a derived ``c`` holds
exactly when every base-competency requirement of levels ``1..k`` (recursively) holds,
so each line reduces to a vector of required *base* levels plus a set of required parent
targets. For a batch of env settings, :meth:`SEBN.requirements` returns

* ``levels[N, m, B]``: the base level each target needs in each setting (0: none), and
* ``parents[N, m, m]``: whether target ``t`` needs parent target ``u`` to succeed,

the union (highest level wins) over the lines that apply. Everything downstream
(exact scoring, fitting, search) works on these arrays. They are numpy arrays: the
structure needs no torch, so ``sebn check`` starts at once; :mod:`sebn.core.inference`
turns them into tensors where it evaluates probabilities.

A spec's task space may be far too large to enumerate (30 variables of 10 values:
10^30 settings). :meth:`SEBN.settings` refuses spaces over :data:`ENUMERATION_LIMIT` with
:class:`SpaceTooLarge`; :meth:`SEBN.setting_classes` gives the same structure on one
setting per *class* (values that no line's condition tells apart), which is what
``sebn check`` analyses.

Example:
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> levels, parents = net.requirements(net.settings())
    >>> levels[:, 0, 0].tolist()   # wall=0 needs move>=1, wall=1 needs move>=2
    [1, 2]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from sebn.core.spec import Rule, Spec, dependency_graph, topological_order

SUM_TOLERANCE = 1e-6
"""How far from 1 a competency's probabilities may sum and still be taken (then renormalised)."""
ENUMERATION_LIMIT = 10_000_000
"""The most settings :meth:`SEBN.settings` lists (10^7 rows of int64 per env variable: 80 MB each)."""


class SpaceTooLarge(ValueError):
    """A task space too large to enumerate: the caller samples or searches it instead."""


class SettingClasses(NamedTuple):
    """One setting per class of settings that every line treats alike (:meth:`SEBN.setting_classes`)."""

    settings: np.ndarray
    """``[K, n_env]`` a representative of each class."""
    sizes: np.ndarray
    """``[K]`` how many settings each class holds (int64; Python ints in spaces beyond int64)."""


@dataclass(frozen=True)
class CompiledRule:
    """A target line reduced to base levels and parent targets."""

    target: int
    condition_vars: tuple[int, ...]
    condition_ops: tuple[str, ...]
    condition_values: tuple[int, ...]
    levels: tuple[int, ...]
    parents: tuple[int, ...]
    rule: Rule


class SEBN:
    """A Skill-Environment Bayesian Network compiled from a :class:`~sebn.core.spec.Spec`.

    Attributes:
        spec: the source spec.
        env: env variable names, in spec order.
        base: base competency names (they carry theta), in spec order.
        derived: derived competency names, in a topological order.
        targets: target names in a topological order (parents first).
        graph: the DAG over every variable, nodes tagged with ``kind``.
    """

    def __init__(self, spec: Spec):
        self.spec = spec
        self.env = tuple(spec.env)
        self.base = spec.base
        order = topological_order(dependency_graph(spec), key=self._spec_order)
        self.derived = tuple(n for n in order if n in spec.derived)
        self.targets = tuple(n for n in order if n in spec.targets)
        self._derived_levels = self._compile_derived()
        self.rules = tuple(self._compile_rule(r) for r in spec.rules if r.level is None)

    def _spec_order(self, name: str) -> int:
        names = list(self.spec.env) + list(self.spec.competencies) + list(self.spec.targets)
        return names.index(name)

    # --- structure ------------------------------------------------------------------

    @cached_property
    def n_levels(self) -> tuple[int, ...]:
        """Number of levels of each base competency (top + 1)."""
        return tuple(self.spec.competencies[c] + 1 for c in self.base)

    @cached_property
    def level_offsets(self) -> np.ndarray:
        """``[B]`` where each base competency's levels start in a flat ``[sum L]`` layout."""
        sizes = np.array(self.n_levels, dtype=np.int64)
        return sizes.cumsum() - sizes

    @cached_property
    def level_owner(self) -> np.ndarray:
        """``[sum L]``: the base competency each flat level belongs to."""
        return np.repeat(np.arange(len(self.base)), self.n_levels)

    @cached_property
    def level_blocks(self) -> np.ndarray:
        """``[sum L, B]`` indicator: ``flat @ level_blocks`` sums each competency's levels."""
        return (self.level_owner[:, None] == np.arange(len(self.base))).astype(np.float64)

    @cached_property
    def level_totals(self) -> np.ndarray:
        """``[sum L, sum L]``: ``flat @ level_totals`` puts each competency's sum at each of its levels."""
        return self.level_blocks @ self.level_blocks.T

    @cached_property
    def simplex_check(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)`` such that ``flat @ A + b >= 0`` holds everywhere exactly when ``flat``
        has a probability vector for each base competency: the columns are ``flat``,
        ``sum - (1 - SUM_TOLERANCE)`` and ``(1 + SUM_TOLERANCE) - sum`` (one affine map and
        one ``min`` check it all, the fast way in eager torch)."""
        blocks = self.level_blocks
        matrix = np.concatenate([np.eye(len(blocks)), blocks, -blocks], axis=1)
        lower, upper = (np.full(len(self.base), v) for v in (-(1 - SUM_TOLERANCE), 1 + SUM_TOLERANCE))
        return matrix, np.concatenate([np.zeros(len(blocks)), lower, upper])

    @cached_property
    def tail_matrix(self) -> np.ndarray:
        """``[sum L, sum L]``: ``flat_theta @ tail_matrix`` gives every ``P(C_i >= k)``."""
        owner = self.level_owner
        level = np.arange(len(owner)) - self.level_offsets[owner]
        same = owner[:, None] == owner[None, :]
        return (same & (level[:, None] >= level[None, :])).astype(np.float64)

    @property
    def domains(self) -> tuple[tuple[int, ...], ...]:
        return tuple(self.spec.env[v] for v in self.env)

    @property
    def n_settings(self) -> int:
        return math.prod(len(d) for d in self.domains)

    @cached_property
    def graph(self):
        """The DAG over every variable (a networkx ``DiGraph``, nodes tagged with ``kind``),
        built when asked: drawing needs it, checking and scoring do not."""
        import networkx as nx

        graph = nx.DiGraph()
        for v in self.env:
            graph.add_node(v, kind="env")
        for c in self.base:
            graph.add_node(c, kind="competency", base=True)
        for c in self.derived:
            graph.add_node(c, kind="competency", base=False)
        for t in self.targets:
            graph.add_node(t, kind="target")
        for rule in self.spec.rules:
            for cond in rule.conditions:
                graph.add_edge(cond.var, rule.head)
            for req in rule.requirements:
                graph.add_edge(req.name, rule.head)
        return graph

    @cached_property
    def target_parents(self) -> dict[str, frozenset[str]]:
        """Every target another target requires in some setting."""
        parents: dict[str, set[str]] = {t: set() for t in self.targets}
        for rule in self.spec.rules:
            if rule.head in parents:
                parents[rule.head] |= {r.name for r in rule.requirements if r.name in self.spec.targets}
        return {t: frozenset(p) for t, p in parents.items()}

    def target_ancestors(self, names) -> list[int]:
        """Indices of the given targets and all their target ancestors, in topological order
        (derived competencies never require targets, so target ancestors come through
        targets only)."""
        wanted, frontier = set(names), list(names)
        while frontier:
            for parent in self.target_parents[frontier.pop()] - wanted:
                wanted.add(parent)
                frontier.append(parent)
        return [i for i, t in enumerate(self.targets) if t in wanted]

    # --- compilation ----------------------------------------------------------------

    def _compile_derived(self) -> dict[str, list[tuple[int, ...]]]:
        """For each derived c, the base levels that ``c>=k`` needs, for k = 0..top."""
        base_index = {c: i for i, c in enumerate(self.base)}
        compiled: dict[str, list[tuple[int, ...]]] = {}
        for name in self.derived:  # in topological order: what a level needs is compiled first
            top = self.spec.competencies[name]
            needed = [0] * len(self.base)
            per_level = [tuple(needed)]
            for k in range(1, top + 1):
                for rule in self.spec.rules:
                    if rule.head == name and rule.level == k:
                        for req in rule.requirements:
                            needed = _union(needed, self._base_levels(req.name, req.level, base_index, compiled))
                per_level.append(tuple(needed))
            compiled[name] = per_level
        return compiled

    def _base_levels(self, name, level, base_index, compiled=None) -> tuple[int, ...]:
        compiled = self._derived_levels if compiled is None else compiled
        if name in base_index:
            levels = [0] * len(self.base)
            levels[base_index[name]] = level
            return tuple(levels)
        return compiled[name][level]

    def _compile_rule(self, rule: Rule) -> CompiledRule:
        base_index = {c: i for i, c in enumerate(self.base)}
        levels = [0] * len(self.base)
        parents = []
        for req in rule.requirements:
            if req.name in self.spec.targets:
                parents.append(self.targets.index(req.name))
            else:
                levels = _union(levels, self._base_levels(req.name, req.level, base_index))
        return CompiledRule(
            target=self.targets.index(rule.head),
            condition_vars=tuple(self.env.index(c.var) for c in rule.conditions),
            condition_ops=tuple(c.op for c in rule.conditions),
            condition_values=tuple(c.value for c in rule.conditions),
            levels=tuple(levels),
            parents=tuple(sorted(set(parents))),
            rule=rule,
        )

    def derived_base_levels(self, name: str, level: int) -> tuple[int, ...]:
        """The base levels that ``name>=level`` needs (``name`` base or derived)."""
        return self._base_levels(name, level, {c: i for i, c in enumerate(self.base)})

    # --- settings and requirement tensors -------------------------------------------

    def settings(self) -> np.ndarray:
        """Every env setting, ``[N, n_env]`` integer values, last variable fastest.

        Raises:
            SpaceTooLarge: over :data:`ENUMERATION_LIMIT` settings.
        """
        if self.n_settings > ENUMERATION_LIMIT:
            raise SpaceTooLarge(
                f"{self.n_settings:.3g} env settings are too many to list (the limit is {ENUMERATION_LIMIT:,})"
            )
        return _grid(self.domains)

    def setting_classes(self, limit: int = ENUMERATION_LIMIT) -> SettingClasses:
        """The settings grouped by what the lines' conditions see: two values of a variable
        are alike when every condition on it (``=v``, ``>=v``) holds for both or for
        neither, so settings alike in every variable get the same requirements. One
        representative per class (the smallest values), with the class sizes.

        Raises:
            SpaceTooLarge: over ``limit`` classes.

        Example:
            >>> from sebn.core.spec import parse_spec
            >>> net = SEBN(parse_spec("env x : 0..99\\nenv y : 0..9\\nt : (x>=50 | m=1)\\n"))
            >>> classes = net.setting_classes()
            >>> classes.settings.tolist(), classes.sizes.tolist()
            ([[0, 0], [50, 0]], [500, 500])
        """
        representatives, sizes = [], []
        for j, domain in enumerate(self.domains):
            tests = {(op, value) for rule in self.rules for var, op, value in _conditions(rule) if var == j}
            groups: dict[tuple[bool, ...], list[int]] = {}
            for value in domain:
                seen = tuple(value == v if op == "=" else value >= v for op, v in sorted(tests))
                groups.setdefault(seen, []).append(value)
            representatives.append(tuple(min(g) for g in groups.values()))
            sizes.append([len(g) for g in groups.values()])
        count = math.prod(len(r) for r in representatives)
        if count > limit:
            raise SpaceTooLarge(f"{count:.3g} classes of env settings are too many to list (the limit is {limit:,})")
        index = _grid([range(len(r)) for r in representatives])
        exact = np.int64 if self.n_settings < 2**62 else object  # a class of a 10^30 space outgrows int64
        weights = np.ones(len(index), dtype=exact)
        columns = []
        for j, (values, counts) in enumerate(zip(representatives, sizes)):
            columns.append(np.array(values, dtype=np.int64)[index[:, j]])
            weights = weights * np.array(counts, dtype=exact)[index[:, j]]
        settings = np.stack(columns, axis=-1) if columns else index
        return SettingClasses(settings, weights)

    def settings_from_tasks(self, tasks) -> np.ndarray:
        """``[n, n_env]`` values from task mappings (extra keys such as ``target`` ignored).

        Raises:
            ValueError: if a task misses an env variable or has a value outside its domain.
        """
        rows = []
        for task in tasks:
            row = []
            for var, domain in zip(self.env, self.domains):
                if var not in task:
                    raise ValueError(f"task {dict(task)} has no value for env variable '{var}'")
                value = task[var]
                if value not in domain:
                    raise ValueError(f"task {dict(task)}: {var}={value!r} is outside its domain {list(domain)}")
                row.append(int(value))
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(len(rows), len(self.env))

    def applies(self, settings) -> np.ndarray:
        """``[N, n_rules]`` bool: which target lines apply in each setting (``settings`` any
        ``[N, n_env]`` integer array)."""
        settings = np.asarray(settings)
        out = np.ones((settings.shape[0], len(self.rules)), dtype=bool)
        for r, rule in enumerate(self.rules):
            for var, op, value in _conditions(rule):
                column = settings[:, var]
                out[:, r] &= (column == value) if op == "=" else (column >= value)
        return out

    def requirements(self, settings) -> tuple[np.ndarray, np.ndarray]:
        """Requirement arrays for a batch of settings (any ``[N, n_env]`` integer array).

        Returns:
            ``levels[N, m, B]`` (int64) and ``parents[N, m, m]`` (bool), targets in
            :attr:`targets` order.
        """
        settings = np.asarray(settings)
        n, m, b = settings.shape[0], len(self.targets), len(self.base)
        levels = np.zeros((n, m, b), dtype=np.int64)
        parents = np.zeros((n, m, m), dtype=bool)
        for rule, applies in zip(self.rules, self.applies(settings).T):
            if any(rule.levels):
                np.maximum(levels[:, rule.target], applies[:, None] * np.array(rule.levels), out=levels[:, rule.target])
            for parent in rule.parents:
                parents[:, rule.target, parent] |= applies
        return levels, parents

    def unconstrained(self, settings) -> np.ndarray:
        """``[N, m]`` bool: settings where no line of a target applies."""
        covered = np.zeros((np.asarray(settings).shape[0], len(self.targets)), dtype=bool)
        for rule, applies in zip(self.rules, self.applies(settings).T):
            covered[:, rule.target] |= applies
        return ~covered

    def rates(self) -> tuple[np.ndarray, np.ndarray]:
        """``success[m]`` and ``slip[m]`` from the spec."""
        success = np.array([self.spec.targets[t].success for t in self.targets], dtype=np.float64)
        slip = np.array([self.spec.targets[t].slip for t in self.targets], dtype=np.float64)
        return success, slip

    def describe_setting(self, row) -> dict[str, int]:
        """An ``[n_env]`` row of values as a mapping ``var -> value``."""
        return {v: int(x) for v, x in zip(self.env, row)}


def _union(a, b) -> list[int]:
    return [max(x, y) for x, y in zip(a, b)]


def _conditions(rule: CompiledRule):
    return zip(rule.condition_vars, rule.condition_ops, rule.condition_values)


def _grid(domains) -> np.ndarray:
    """``[prod |D|, n]`` every combination of the domains' values, the last fastest."""
    if not domains:
        return np.zeros((1, 0), dtype=np.int64)
    grids = np.meshgrid(*(np.asarray(d, dtype=np.int64) for d in domains), indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=-1)


def distinct_requirements(levels: np.ndarray, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of requirement arrays (:meth:`SEBN.requirements`) and, for each
    row, which of them it is: settings that require the same get the same probabilities,
    so they are computed once.

    Returns:
        ``levels[D, m, B]``, ``parents[D, m, m]`` and ``inverse[N]`` (indices into ``D``).
    """
    n = len(levels)
    signature = np.concatenate([levels.reshape(n, -1), parents.reshape(n, -1)], axis=1)
    _, first, inverse = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    return levels[first], parents[first], inverse.reshape(-1)
