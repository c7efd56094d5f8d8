"""Exact, batched inference in an SEBN without enumerating the joint of competencies.

Base competencies are independent, so the event "every requirement of a set of lines is
met" is a product over competencies: ``P(C >= r) = prod_i P(C_i >= r_i)``. A target that
requires parent targets is expanded through its parents: for a set ``A`` of targets that
must all succeed and ``U`` the last of them in topological order,

    P(A=1 | C) = slip_U P(A\\U = 1 | C) + (success_U - slip_U) [C >= r_U] P(A\\U + S_U = 1 | C)

(``S_U`` the parents ``U`` requires in this setting). Unrolled, each subset ``W`` of the
targets involved contributes one term ``coef_W(e) * P(C >= max_{u in W} r_u(e))``, so a
joint over ``m`` targets costs at most ``2^m`` products, each batched over every setting
and every posterior draw of theta. Patterns with failures follow by inclusion-exclusion.

Theta is a mapping ``competency -> probabilities over its levels``, each ``[L]`` for a
point estimate or ``[S, L]`` for ``S`` posterior draws.

Example:
    >>> from sebn.network import SEBN
    >>> from sebn.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> p = score(net, {"move": torch.tensor([0.2, 0.5, 0.3])})
    >>> [round(x, 4) for x in p[:, 0].tolist()]   # slip + (success - slip) * P(move >= k)
    [0.77, 0.32]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from sebn.network import DTYPE, SEBN

Theta = Mapping[str, torch.Tensor]


def theta_batch(net: SEBN, theta: Theta) -> tuple[list[torch.Tensor], bool]:
    """Theta as a list of ``[S, L_i]`` tensors in base order, and whether it was batched.

    Raises:
        ValueError: if a base competency is missing or has the wrong number of levels.
    """
    batch, batched = [], None
    for name, n_levels in zip(net.base, net.n_levels):
        if name not in theta:
            raise ValueError(f"theta has no entry for base competency '{name}' (it has: {', '.join(theta) or 'none'})")
        probs = torch.as_tensor(theta[name], dtype=DTYPE)
        if probs.shape[-1] != n_levels:
            raise ValueError(f"theta['{name}'] has {probs.shape[-1]} levels; the spec gives {name} levels 0..{n_levels - 1}")
        total = probs.sum(-1, keepdim=True)
        if (probs < 0).any() or ((total - 1).abs() > 1e-6).any():
            raise ValueError(f"theta['{name}'] must be probabilities summing to 1, got {probs.tolist()}")
        probs = probs / total
        is_batched = probs.dim() == 2
        batched = is_batched if batched is None else batched
        if batched != is_batched:
            raise ValueError("theta mixes point ([L]) and batched ([S, L]) entries")
        batch.append(probs if is_batched else probs[None])
    return batch, bool(batched)


def tail_probs(batch: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """``q[:, k] = P(C >= k)`` for each ``[S, L]`` probability tensor."""
    return [p.flip(-1).cumsum(-1).flip(-1) for p in batch]


def prepare(net: SEBN, theta: Theta, rates=None) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, bool]:
    """Tail probabilities ``[S, L_i]`` and rates ``success[S, m]``, ``slip[S, m]`` on one batch size.

    Rates are the spec's unless given as ``(success, slip)``, each ``[m]`` or ``[S, m]``.
    The flag says whether the inputs were batched.
    """
    batch, batched = theta_batch(net, theta)
    success, slip = net.rates() if rates is None else (torch.as_tensor(r, dtype=DTYPE) for r in rates)
    success, slip = torch.atleast_2d(success), torch.atleast_2d(slip)
    draws = max([success.shape[0]] + [p.shape[0] for p in batch])
    tails = [q.expand(draws, -1) for q in tail_probs(batch)]
    batched = batched or success.dim() == 2 and success.shape[0] > 1
    return tails, success.expand(draws, -1), slip.expand(draws, -1), batched


def prob_all_succeed(tails, levels, parents, success, slip, required: Sequence[int], closure: Sequence[int]) -> torch.Tensor:
    """``P(every target in required = 1 | setting)`` for every setting and draw.

    Args:
        tails: per base competency ``[S, L_i]`` tail probabilities.
        levels: ``[N, m, B]`` required base levels.
        parents: ``[N, m, m]`` required parent targets.
        success, slip: ``[S, m]`` rates.
        required: target indices that must all succeed.
        closure: ``required`` and all their target ancestors, in topological order.

    Returns:
        ``[S, N]`` probabilities.
    """
    n_draws, n = success.shape[0], levels.shape[0]
    gain = success - slip
    total = torch.zeros(n_draws, n, dtype=DTYPE)
    if not required:
        return total + 1.0
    start = torch.zeros(n, levels.shape[1], dtype=torch.bool)
    start[:, list(required)] = True
    for bits in range(1 << len(closure)):
        chosen = [u for j, u in enumerate(closure) if bits >> j & 1]
        coef = torch.ones(n_draws, n, dtype=DTYPE)
        pending = start.clone()
        for u in reversed(closure):
            if u in chosen:
                coef = coef * gain[:, u : u + 1] * pending[:, u]
                pending |= parents[:, u, :]
            else:
                coef = coef * torch.where(pending[:, u], slip[:, u : u + 1], 1.0)
        if not chosen:
            total += coef
            continue
        need = levels[:, chosen, :].amax(dim=1)
        met = torch.ones(n_draws, n, dtype=DTYPE)
        for i, q in enumerate(tails):
            met = met * q[:, need[:, i]]
        total += coef * met
    return total


def pattern_prob(net: SEBN, tails, levels, parents, success, slip, ones: Sequence[int], zeros: Sequence[int]) -> torch.Tensor:
    """``P(targets in ones = 1, targets in zeros = 0 | setting)``, ``[S, N]``, others marginalised."""
    total = 0.0
    for bits in range(1 << len(zeros)):
        failed = [z for j, z in enumerate(zeros) if bits >> j & 1]
        required = sorted(set(ones) | set(failed))
        closure = net.target_ancestors([net.targets[i] for i in required])
        sign = -1.0 if len(failed) % 2 else 1.0
        total = total + sign * prob_all_succeed(tails, levels, parents, success, slip, required, closure)
    return total


def score(net: SEBN, theta: Theta, settings: torch.Tensor | None = None, rates=None) -> torch.Tensor:
    """``P(target = 1 | env setting)`` for every setting and target in one batched pass.

    Args:
        net: the network.
        theta: point ``[L]`` or batched ``[S, L]`` probabilities per base competency.
        settings: ``[N, n_env]`` values; every setting of the spec when omitted.
        rates: optional ``(success, slip)``, each ``[m]`` or ``[S, m]``; the spec's otherwise.

    Returns:
        ``[N, m]`` for a point theta, ``[S, N, m]`` for a batch; targets in ``net.targets`` order.
    """
    settings = net.settings() if settings is None else settings
    tails, success, slip, batched = prepare(net, theta, rates)
    levels, parents = net.requirements(settings)
    columns = [
        prob_all_succeed(tails, levels, parents, success, slip, [t], net.target_ancestors([name]))
        for t, name in enumerate(net.targets)
    ]
    probs = torch.stack(columns, dim=-1)
    return probs if batched else probs[0]


def observation_prob(net: SEBN, theta: Theta, settings: torch.Tensor, observed: torch.Tensor, rates=None) -> torch.Tensor:
    """``P(observed targets | setting)`` per rollout.

    Args:
        observed: ``[n, m]`` with 1 (success), 0 (failure) or -1 (not observed).

    Returns:
        ``[S, n]`` probabilities (``S = 1`` for a point theta).
    """
    tails, success, slip, _ = prepare(net, theta, rates)
    levels, parents = net.requirements(settings)
    out = torch.zeros(success.shape[0], settings.shape[0], dtype=DTYPE)
    patterns, index = torch.unique(observed, dim=0, return_inverse=True)
    for p, pattern in enumerate(patterns.tolist()):
        rows = index == p
        ones = [t for t, v in enumerate(pattern) if v == 1]
        zeros = [t for t, v in enumerate(pattern) if v == 0]
        out[:, rows] = pattern_prob(net, tails, levels[rows], parents[rows], success, slip, ones, zeros)
    return out


def competency_posterior(net: SEBN, theta: Theta, settings: torch.Tensor, observed: torch.Tensor, rates=None) -> dict[str, torch.Tensor]:
    """``P(C_i = k | one rollout's observations)`` for every rollout and base competency.

    Each rollout draws its own competencies from theta (the generative story), so the
    posterior is per rollout; its mean over rollouts is the data's pull on theta (at the
    MLE it equals theta).

    Args:
        theta: a point estimate (``[L]`` per competency).
        settings: ``[n, n_env]`` values.
        observed: ``[n, m]`` with 1, 0 or -1 (not observed).

    Returns:
        competency -> ``[n, L]`` posterior probabilities.
    """
    batch, batched = theta_batch(net, theta)
    if batched:
        raise ValueError("competency_posterior takes a point theta ([L] per competency)")
    # Clamp one competency to each of its levels in turn: one batched pass scores them all.
    variants = []
    for i, n_levels in enumerate(net.n_levels):
        for k in range(n_levels):
            clamped = [p[0] for p in batch]
            clamped[i] = torch.nn.functional.one_hot(torch.tensor(k), n_levels).to(DTYPE)
            variants.append(clamped)
    stacked = {name: torch.stack([v[i] for v in variants]) for i, name in enumerate(net.base)}
    likelihood = observation_prob(net, stacked, settings, observed, rates)
    posterior, row = {}, 0
    for i, (name, n_levels) in enumerate(zip(net.base, net.n_levels)):
        joint = likelihood[row : row + n_levels].T * batch[i][0]
        posterior[name] = joint / joint.sum(-1, keepdim=True)
        row += n_levels
    return posterior
