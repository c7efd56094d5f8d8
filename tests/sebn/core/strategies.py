"""Hypothesis strategies: random valid specs (derived competencies, target-on-target
lines, both condition kinds) and random theta."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from sebn.core.inference import DTYPE
from sebn.core.network import SEBN
from sebn.core.spec import parse_spec


@st.composite
def spec_texts(draw, max_env: int = 3, max_base: int = 3, max_targets: int = 3) -> str:
    lines = []
    env = {f"e{i}": draw(st.integers(2, 3)) for i in range(draw(st.integers(1, max_env)))}
    lines += [f"env {name} : 0..{size - 1}" for name, size in env.items()]
    tops = {f"c{i}": draw(st.integers(1, 2)) for i in range(draw(st.integers(1, max_base)))}
    lines += [f"competency {name} : 0..{top}" for name, top in tops.items()]

    def requirements(pool: dict) -> list[str]:
        names = draw(st.lists(st.sampled_from(sorted(pool)), unique=True, max_size=len(pool)))
        return [f"{n}={draw(st.integers(1, pool[n]))}" for n in names]

    if draw(st.booleans()):
        top = draw(st.integers(1, 2))
        lines.append(f"competency d0 : 0..{top}")
        for k in range(1, top + 1):
            if draw(st.booleans()):
                lines.append(f"d0={k} : (| {', '.join(requirements(tops))})")
        tops = {**tops, "d0": top}
    targets = [f"t{i}" for i in range(draw(st.integers(1, max_targets)))]
    for i, target in enumerate(targets):
        success = draw(st.sampled_from([0.9, 0.95, 0.99]))
        slip = draw(st.sampled_from([0.01, 0.05, 0.2]))
        lines.append(f"target {target} (success={success}, slip={slip})")
        for _ in range(draw(st.integers(1, 3))):
            conditions = []
            for var in draw(st.lists(st.sampled_from(sorted(env)), unique=True, max_size=2)):
                op = draw(st.sampled_from(["=", ">="]))
                conditions.append(f"{var}{op}{draw(st.integers(0, env[var] - 1))}")
            needs = requirements(tops)
            if i and draw(st.booleans()):
                needs.append(f"{draw(st.sampled_from(targets[:i]))}=1")
            lines.append(f"{target} : ({', '.join(conditions)} | {', '.join(needs)})")
    return "\n".join(lines) + "\n"


def random_theta(net, seed: int, concentration: float = 1.0) -> dict[str, torch.Tensor]:
    """A Dirichlet draw per base competency, kept off the simplex's boundary."""
    rng = np.random.default_rng(seed)
    theta = {}
    for name, n in zip(net.base, net.n_levels):
        probs = rng.dirichlet(np.full(n, concentration)) + 1e-3
        theta[name] = torch.tensor(probs / probs.sum(), dtype=DTYPE)
    return theta


def synthetic_spec(n_env: int) -> SEBN:
    """A spec with ``n_env`` env variables of 3 values (``3**n_env`` settings), 4
    competencies of 3 levels and two lines per env variable: large task spaces for the
    benchmarks and the search."""
    lines = [f"env e{i} : 0..2" for i in range(n_env)] + [f"competency c{j} : 0..2" for j in range(4)]
    for i in range(n_env):
        lines.append(f"goal : (e{i}>=1 | c{i % 4}=1)")
        lines.append(f"goal : (e{i}=2 | c{i % 4}=2, c{(i + 1) % 4}=1)")
    lines.append("goal : (| c0=1)")
    return SEBN(parse_spec("\n".join(lines) + "\n", f"synthetic-{n_env}"))
