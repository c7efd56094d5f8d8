"""The SEBN as a Pyro model: the reference definition of the generative story.

Per rollout: draw each base competency from theta, compute the derived ones, then each
target from its CPT in topological order given the env setting and its parent targets::

    P(target=1 | env, competencies, parents) = success if every applying requirement is met
                                               else slip

Competencies (and unobserved targets) are marked for parallel enumeration, so
``TraceEnum_ELBO`` computes the exact marginal likelihood per rollout; missing target
outcomes are masked with ``obs_mask``. This is deliberately a direct transcription of the
spec's lines (it does not reuse the compiled requirement tensors), so the tests can check
the fast paths in :mod:`sebn.core.inference` and :mod:`sebn.core.fit` against it.

Example:
    >>> import torch
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=1)\\n"))
    >>> records = simulate(net, {"move": torch.tensor([0.5, 0.5])}, [{"wall": 1}] * 3, seed=0)
    >>> sorted(records[0])
    ['length', 'return', 'step', 'targets', 'task']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyro
import pyro.distributions as dist
import torch
from pyro import poutine

from sebn.core.inference import DTYPE, spec_rates
from sebn.core.network import SEBN

ENUMERATE = {"enumerate": "parallel"}


def sebn_model(
    net: SEBN,
    settings: torch.Tensor,
    observed: torch.Tensor | None = None,
    theta: Mapping[str, torch.Tensor] | None = None,
    rates: tuple[torch.Tensor, torch.Tensor] | None = None,
    concentration: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Pyro model of ``n`` rollouts.

    Args:
        net: the network.
        settings: ``[n, n_env]`` env values of each rollout.
        observed: ``[n, m]`` target outcomes, 1, 0 or -1 (missing); ``None`` samples all.
        theta: competency -> ``[L]`` level probabilities; drawn from a Dirichlet prior
            (sites ``theta_<name>``) when omitted.
        rates: ``(success[m], slip[m])``; the spec's when omitted.
        concentration: the Dirichlet prior's concentration.

    Returns:
        target name -> ``[n]`` outcomes (with enumeration dims under enumeration).
    """
    if theta is None:
        theta = {
            name: pyro.sample(f"theta_{name}", dist.Dirichlet(torch.full((levels,), float(concentration), dtype=DTYPE)))
            for name, levels in zip(net.base, net.n_levels)
        }
    success, slip = spec_rates(net) if rates is None else rates
    applies = torch.from_numpy(net.applies(settings))
    rule_index = {id(r.rule): i for i, r in enumerate(net.rules)}
    n = settings.shape[0]
    with pyro.plate("rollouts", n):
        level = {name: pyro.sample(name, dist.Categorical(theta[name]), infer=ENUMERATE) for name in net.base}
        for name in net.derived:
            level[name] = _derived_level(net, name, level)
        outcome: dict[str, torch.Tensor] = {}
        for t, name in enumerate(net.targets):
            met = torch.tensor(True)
            for rule in net.spec.rules:
                if rule.head != name:
                    continue
                rule_met = _requirements_met(rule.requirements, level, outcome)
                met = met & (rule_met | ~applies[:, rule_index[id(rule)]])
            p = slip[t] + (success[t] - slip[t]) * met.to(DTYPE)
            fn = dist.Bernoulli(p.expand(p.shape[:-1] + (n,)))
            if observed is None:
                outcome[name] = pyro.sample(name, fn, infer=ENUMERATE)
            else:
                outcome[name] = _observe_masked(name, fn, observed[:, t])
    return outcome


def _observe_masked(name: str, fn: dist.Distribution, column: torch.Tensor) -> torch.Tensor:
    """Observe the outcomes that are there (``column >= 0``); enumerate the missing ones.

    Written out rather than ``obs_mask=`` because Pyro drops ``infer`` on the latent half
    of an ``obs_mask`` site and adds a float32 deterministic site.
    """
    seen = column >= 0
    value = column.clamp(min=0).to(DTYPE)
    with poutine.mask(mask=seen):
        pyro.sample(f"{name}_observed", fn, obs=value)
    with poutine.mask(mask=~seen):
        latent = pyro.sample(f"{name}_unobserved", fn, infer=ENUMERATE)
    return torch.where(seen, value, latent)


def _requirements_met(requirements, level, outcome) -> torch.Tensor:
    met = torch.tensor(True)
    for req in requirements:
        if req.name in outcome:
            met = met & (outcome[req.name] == 1)
        else:
            met = met & (level[req.name] >= req.level)
    return met


def _derived_level(net: SEBN, name: str, level: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The highest k such that the lines of every level 1..k are met."""
    value = torch.tensor(0)
    reached = torch.tensor(True)
    for k in range(1, net.spec.competencies[name] + 1):
        for rule in net.spec.rules:
            if rule.head == name and rule.level == k:
                reached = reached & _requirements_met(rule.requirements, level, {})
        value = value + reached.long()
    return value


def simulate(
    net: SEBN,
    theta: Mapping[str, torch.Tensor],
    tasks: Sequence[Mapping[str, int]],
    seed: int = 0,
    observe: str = "all",
    rates: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> list[dict]:
    """Draw one rollout per task from the model, as ``episodes.jsonl`` records.

    Args:
        net: the network.
        theta: competency -> ``[L]`` level probabilities.
        tasks: env settings, each optionally with ``"target"`` (the target trained).
        seed: seeds Pyro's RNG for this call.
        observe: ``"all"`` records every target outcome; ``"task"`` only the task's target.
        rates: optional ``(success[m], slip[m])``.

    Returns:
        Records with ``step``, ``task``, ``targets``, ``return`` (1.0 when the task's
        target succeeded) and ``length`` (1: a simulated rollout has no steps).
    """
    if observe not in ("all", "task"):
        raise ValueError(f"observe must be 'all' or 'task', not {observe!r}")
    settings = net.settings_from_tasks(tasks)
    theta = {k: torch.as_tensor(v, dtype=DTYPE) for k, v in theta.items()}
    pyro.set_rng_seed(seed)
    with torch.no_grad():
        outcome = sebn_model(net, settings, None, theta, rates)
    records = []
    for i, task in enumerate(tasks):
        trained = task.get("target", net.targets[-1])
        targets = {name: int(outcome[name][i]) for name in net.targets}
        if observe == "task":
            targets = {trained: targets[trained]}
        records.append(
            {
                "step": i + 1,
                "task": {**net.describe_setting(settings[i]), **({"target": trained} if len(net.targets) > 1 else {})},
                "targets": targets,
                "return": float(targets[trained]),
                "length": 1,
            }
        )
    return records
