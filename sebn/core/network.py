"""Spec -> SEBN: variables, domains, the DAG, and requirement tensors.

The network compiles derived competencies away: ``c>=k`` for a derived ``c`` holds
exactly when every base-competency requirement of levels ``1..k`` (recursively) holds,
so each line reduces to a vector of required *base* levels plus a set of required parent
targets. For a batch of env settings, :meth:`SEBN.requirements` returns

* ``levels[N, m, B]``: the base level each target needs in each setting (0: none), and
* ``parents[N, m, m]``: whether target ``t`` needs parent target ``u`` to succeed,

the union (highest level wins) over the lines that apply. Everything downstream
(exact scoring, fitting, search) works on these tensors.

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

import networkx as nx
import torch

from sebn.core.spec import Rule, Spec, dependency_graph

DTYPE = torch.float64
SUM_TOLERANCE = 1e-6
"""How far from 1 a competency's probabilities may sum and still be taken (then renormalised)."""


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
        dependencies = dependency_graph(spec)
        order = tuple(nx.lexicographical_topological_sort(dependencies, key=self._spec_order))
        self.derived = tuple(n for n in order if n in spec.derived)
        self.targets = tuple(n for n in order if n in spec.targets)
        self.graph = self._build_graph()
        self._derived_levels = self._compile_derived(dependencies)
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
    def level_offsets(self) -> torch.Tensor:
        """``[B]`` where each base competency's levels start in a flat ``[sum L]`` layout."""
        sizes = torch.tensor(self.n_levels, dtype=torch.long)
        return sizes.cumsum(0) - sizes

    @cached_property
    def level_owner(self) -> torch.Tensor:
        """``[sum L]``: the base competency each flat level belongs to."""
        return torch.repeat_interleave(torch.arange(len(self.base)), torch.tensor(self.n_levels, dtype=torch.long))

    @cached_property
    def level_blocks(self) -> torch.Tensor:
        """``[sum L, B]`` indicator: ``flat @ level_blocks`` sums each competency's levels."""
        return torch.nn.functional.one_hot(self.level_owner, len(self.base)).to(DTYPE)

    @cached_property
    def level_totals(self) -> torch.Tensor:
        """``[sum L, sum L]``: ``flat @ level_totals`` puts each competency's sum at each of its levels."""
        return self.level_blocks @ self.level_blocks.T

    @cached_property
    def simplex_check(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(A, b)`` such that ``flat @ A + b >= 0`` holds everywhere exactly when ``flat``
        has a probability vector for each base competency: the columns are ``flat``,
        ``sum - (1 - SUM_TOLERANCE)`` and ``(1 + SUM_TOLERANCE) - sum`` (one affine map and
        one ``min`` check it all, the fast way in eager torch)."""
        blocks = self.level_blocks
        matrix = torch.cat([torch.eye(len(blocks), dtype=DTYPE), blocks, -blocks], dim=1)
        lower, upper = (
            torch.full((len(self.base),), v, dtype=DTYPE) for v in (-(1 - SUM_TOLERANCE), 1 + SUM_TOLERANCE)
        )
        return matrix, torch.cat([torch.zeros(len(blocks), dtype=DTYPE), lower, upper])

    @cached_property
    def tail_matrix(self) -> torch.Tensor:
        """``[sum L, sum L]``: ``flat_theta @ tail_matrix`` gives every ``P(C_i >= k)``."""
        owner = self.level_owner
        level = torch.arange(len(owner)) - self.level_offsets[owner]
        same = owner[:, None] == owner[None, :]
        return (same & (level[:, None] >= level[None, :])).to(DTYPE)

    @property
    def domains(self) -> tuple[tuple[int, ...], ...]:
        return tuple(self.spec.env[v] for v in self.env)

    @property
    def n_settings(self) -> int:
        return math.prod(len(d) for d in self.domains)

    def _build_graph(self) -> nx.DiGraph:
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
        return {t: frozenset(u for u in self.graph.predecessors(t) if u in self.spec.targets) for t in self.targets}

    def target_ancestors(self, names) -> list[int]:
        """Indices of the given targets and all their target ancestors, in topological order."""
        wanted = set(names)
        for name in names:
            wanted |= {a for a in nx.ancestors(self.graph, name) if a in self.spec.targets}
        return [i for i, t in enumerate(self.targets) if t in wanted]

    # --- compilation ----------------------------------------------------------------

    def _compile_derived(self, dependencies: nx.DiGraph) -> dict[str, list[tuple[int, ...]]]:
        """For each derived c, the base levels that ``c>=k`` needs, for k = 0..top."""
        base_index = {c: i for i, c in enumerate(self.base)}
        compiled: dict[str, list[tuple[int, ...]]] = {}
        for name in nx.topological_sort(dependencies):
            if name not in self.derived:
                continue
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

    def settings(self) -> torch.Tensor:
        """Every env setting, ``[N, n_env]`` integer values, last variable fastest."""
        if not self.env:
            return torch.zeros(1, 0, dtype=torch.long)
        grids = torch.meshgrid(*(torch.tensor(d) for d in self.domains), indexing="ij")
        return torch.stack([g.reshape(-1) for g in grids], dim=-1)

    def settings_from_tasks(self, tasks) -> torch.Tensor:
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
                    raise ValueError(f"task {dict(task)}: {var}={value} is outside its domain {list(domain)}")
                row.append(int(value))
            rows.append(row)
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), len(self.env))

    def applies(self, settings: torch.Tensor) -> torch.Tensor:
        """``[N, n_rules]`` bool: which target lines apply in each setting."""
        columns = []
        for rule in self.rules:
            ok = torch.ones(settings.shape[0], dtype=torch.bool)
            for var, op, value in zip(rule.condition_vars, rule.condition_ops, rule.condition_values):
                column = settings[:, var]
                ok &= (column == value) if op == "=" else (column >= value)
            columns.append(ok)
        if not columns:
            return torch.zeros(settings.shape[0], 0, dtype=torch.bool)
        return torch.stack(columns, dim=-1)

    def requirements(self, settings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Requirement tensors for a batch of settings.

        Returns:
            ``levels[N, m, B]`` (long) and ``parents[N, m, m]`` (bool), targets in
            :attr:`targets` order.
        """
        n, m, b = settings.shape[0], len(self.targets), len(self.base)
        per_target = [torch.zeros(n, b, dtype=torch.long) for _ in range(m)]
        parents = torch.zeros(n, m, m, dtype=torch.bool)
        # One pass per line on contiguous [N, B] blocks keeps memory at O(N * m * B).
        for rule, applies in zip(self.rules, self.applies(settings).T):
            if any(rule.levels):
                required = applies[:, None] * torch.tensor(rule.levels, dtype=torch.long)
                torch.maximum(per_target[rule.target], required, out=per_target[rule.target])
            for parent in rule.parents:
                parents[:, rule.target, parent] |= applies
        return torch.stack(per_target, dim=1), parents

    def unconstrained(self, settings: torch.Tensor) -> torch.Tensor:
        """``[N, m]`` bool: settings where no line of a target applies."""
        covered = torch.zeros(settings.shape[0], len(self.targets), dtype=torch.bool)
        for rule, applies in zip(self.rules, self.applies(settings).T):
            covered[:, rule.target] |= applies
        return ~covered

    def rates(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``success[m]`` and ``slip[m]`` from the spec."""
        success = torch.tensor([self.spec.targets[t].success for t in self.targets], dtype=DTYPE)
        slip = torch.tensor([self.spec.targets[t].slip for t in self.targets], dtype=DTYPE)
        return success, slip

    def describe_setting(self, row) -> dict[str, int]:
        """An ``[n_env]`` row of values as a mapping ``var -> value``."""
        return {v: int(x) for v, x in zip(self.env, row)}


def _union(a, b) -> list[int]:
    return [max(x, y) for x, y in zip(a, b)]
