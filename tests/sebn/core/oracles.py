"""Independent references for the fast paths: Pyro enumeration, pgmpy, brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from pyro.infer import TraceEnum_ELBO

from sebn.core.inference import DTYPE
from sebn.core.model import sebn_model
from sebn.core.network import SEBN


def pyro_enumeration_score(net: SEBN, theta, settings: torch.Tensor) -> torch.Tensor:
    """``[N, m]`` P(target=1 | setting): exact marginal likelihood of one observed success,
    every competency and other target enumerated by ``TraceEnum_ELBO``."""
    elbo = TraceEnum_ELBO(max_plate_nesting=1)
    m = len(net.targets)
    out = torch.zeros(len(settings), m, dtype=DTYPE)
    for i in range(len(settings)):
        for t in range(m):
            observed = torch.full((1, m), -1, dtype=torch.long)
            observed[0, t] = 1
            loss = elbo.loss(
                lambda i=i, observed=observed: sebn_model(net, settings[i : i + 1], observed, theta), lambda: None
            )
            out[i, t] = math.exp(-loss)
    return out


def _meets(requirements, assignment: dict) -> bool:
    """Every requirement met: competencies at least their level, targets equal to 1."""
    return all(assignment[r.name] >= r.level for r in requirements)


def _derived_value(net: SEBN, name: str, assignment: dict) -> int:
    value = 0
    for k in range(1, net.spec.competencies[name] + 1):
        if not all(_meets(r.requirements, assignment) for r in net.spec.rules if r.head == name and r.level == k):
            break
        value = k
    return value


def pgmpy_network(net: SEBN, theta):
    """The SEBN as a pgmpy DiscreteBayesianNetwork with explicit (brute-force) CPTs.

    Env variables get uniform priors (they are always given as evidence)."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    spec = net.spec
    model = DiscreteBayesianNetwork()
    model.add_nodes_from(list(net.env) + list(net.base) + list(net.derived) + list(net.targets))
    cpds = []
    for var, domain in zip(net.env, net.domains):
        cpds.append(TabularCPD(var, len(domain), [[1 / len(domain)] for _ in domain], state_names={var: list(domain)}))
    for name in net.base:
        probs = theta[name].tolist()
        cpds.append(TabularCPD(name, len(probs), [[p] for p in probs], state_names={name: list(range(len(probs)))}))
    for name in net.derived:
        parents = sorted({r.name for rule in spec.rules if rule.head == name for r in rule.requirements})
        cards = [spec.competencies[p] + 1 for p in parents]
        top = spec.competencies[name]
        table = np.zeros((top + 1, math.prod(cards)))
        for column, values in enumerate(itertools.product(*(range(c) for c in cards))):
            table[_derived_value(net, name, dict(zip(parents, values))), column] = 1.0
        model.add_edges_from((p, name) for p in parents)
        cpds.append(
            TabularCPD(
                name,
                top + 1,
                table,
                evidence=parents,
                evidence_card=cards,
                state_names={name: list(range(top + 1)), **{p: list(range(c)) for p, c in zip(parents, cards)}},
            )
        )
    for name in net.targets:
        rules = [r for r in spec.rules if r.head == name]
        parents = sorted({c.var for r in rules for c in r.conditions} | {q.name for r in rules for q in r.requirements})
        states = {
            p: list(spec.env[p])
            if p in spec.env
            else (list(range(spec.competencies[p] + 1)) if p in spec.competencies else [0, 1])
            for p in parents
        }
        rates = spec.targets[name]
        table = np.zeros((2, math.prod(len(states[p]) for p in parents)))
        for column, values in enumerate(itertools.product(*(states[p] for p in parents))):
            assignment = dict(zip(parents, values))
            met = all(
                _meets(r.requirements, assignment)
                for r in rules
                if all(c.holds(assignment[c.var]) for c in r.conditions)
            )
            p = rates.success if met else rates.slip
            table[:, column] = [1 - p, p]
        model.add_edges_from((p, name) for p in parents)
        cpds.append(
            TabularCPD(
                name,
                2,
                table,
                evidence=parents or None,
                evidence_card=[len(states[p]) for p in parents] or None,
                state_names={name: [0, 1], **states},
            )
        )
    model.add_cpds(*cpds)
    model.check_model()
    return model


def pgmpy_score(net: SEBN, theta, settings: torch.Tensor) -> torch.Tensor:
    """``[N, m]`` by pgmpy VariableElimination, one query per setting and target."""
    from pgmpy.inference import VariableElimination

    engine = VariableElimination(pgmpy_network(net, theta))
    out = torch.zeros(len(settings), len(net.targets), dtype=DTYPE)
    for i, row in enumerate(settings.tolist()):
        evidence = dict(zip(net.env, row))
        for t, name in enumerate(net.targets):
            factor = engine.query([name], evidence=evidence, show_progress=False)
            out[i, t] = float(factor.get_value(**{name: 1}))
    return out


def brute_force(net: SEBN, theta, setting: dict, observed: dict) -> tuple[float, dict[str, np.ndarray]]:
    """``P(observed | setting)`` and the posterior of each base competency, by summing over
    every combination of competency levels and target outcomes."""
    spec = net.spec
    posterior = {c: np.zeros(len(theta[c])) for c in net.base}
    total = 0.0
    for levels in itertools.product(*(range(len(theta[c])) for c in net.base)):
        assignment = dict(zip(net.base, levels))
        for name in net.derived:
            assignment[name] = _derived_value(net, name, assignment)
        prior = math.prod(float(theta[c][k]) for c, k in zip(net.base, levels))
        for outcomes in itertools.product((0, 1), repeat=len(net.targets)):
            full = {**assignment, **dict(zip(net.targets, outcomes))}
            if any(full[t] != v for t, v in observed.items()):
                continue
            weight = prior
            for name in net.targets:
                met = all(_meets(r.requirements, full) for r in spec.rules if r.head == name and r.applies(setting))
                p = spec.targets[name].success if met else spec.targets[name].slip
                weight *= p if full[name] else 1 - p
            total += weight
            for c, k in zip(net.base, levels):
                posterior[c][k] += weight
    return total, {c: v / total for c, v in posterior.items()}
