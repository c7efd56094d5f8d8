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
from dataclasses import dataclass

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


@dataclass
class Terms:
    """A batch of probabilities written as polynomials in rates and tail probabilities.

    Row ``r`` of the batch is ``sum`` over the terms ``j`` with ``row[j] = r`` of

        sign_j * prod_u slip_u^slip_power[j, u] * (success_u - slip_u)^gain_power[j, u]
               * prod_i P(C_i >= need[j, i])

    Compiling once and evaluating many times is what makes fitting fast: the structure
    depends only on the requirement tensors, never on theta or the rates.
    """

    row: torch.Tensor
    sign: torch.Tensor
    slip_power: torch.Tensor
    gain_power: torch.Tensor
    need: torch.Tensor
    n_rows: int

    def evaluate(self, tails: Sequence[torch.Tensor], success: torch.Tensor, slip: torch.Tensor) -> torch.Tensor:
        """``[S, n_rows]`` values for tails ``[S, L_i]`` and rates ``[S, m]``."""
        coef = torch.exp(slip.log() @ self.slip_power.T + (success - slip).log() @ self.gain_power.T)
        value = coef * self.sign
        for i, q in enumerate(tails):
            value = value * q[:, self.need[:, i]]
        out = torch.zeros(value.shape[0], self.n_rows, dtype=DTYPE)
        return out.index_add(1, self.row, value)

    @staticmethod
    def stack(parts: Sequence[Terms]) -> Terms:
        """One batch whose rows are the parts' rows, one after another."""
        offsets = [0]
        for part in parts[:-1]:
            offsets.append(offsets[-1] + part.n_rows)
        return Terms(
            torch.cat([p.row + o for p, o in zip(parts, offsets)]),
            torch.cat([p.sign for p in parts]),
            torch.cat([p.slip_power for p in parts]),
            torch.cat([p.gain_power for p in parts]),
            torch.cat([p.need for p in parts]),
            offsets[-1] + parts[-1].n_rows,
        )


def compile_pattern(net: SEBN, levels: torch.Tensor, parents: torch.Tensor, ones: Sequence[int], zeros: Sequence[int]) -> Terms:
    """Terms of ``P(targets in ones = 1, targets in zeros = 0 | setting)`` per row.

    Args:
        levels: ``[N, m, B]`` required base levels per row.
        parents: ``[N, m, m]`` required parent targets per row.
        ones, zeros: target indices observed to succeed and to fail; others marginalised.
    """
    n, m, b = levels.shape
    parts = []
    for z_bits in range(1 << len(zeros)):
        failed = [z for j, z in enumerate(zeros) if z_bits >> j & 1]
        required = sorted(set(ones) | set(failed))
        sign = -1.0 if len(failed) % 2 else 1.0
        closure = net.target_ancestors([net.targets[i] for i in required]) if required else []
        for w_bits in range(1 << len(closure)):
            chosen = [u for j, u in enumerate(closure) if w_bits >> j & 1]
            pending = torch.zeros(n, m, dtype=torch.bool)
            pending[:, required] = True
            reachable = torch.ones(n, dtype=torch.bool)
            slip_power = torch.zeros(n, m, dtype=DTYPE)
            gain_power = torch.zeros(n, m, dtype=DTYPE)
            for u in reversed(closure):  # children before parents
                if u in chosen:
                    reachable &= pending[:, u]
                    gain_power[:, u] = 1.0
                    pending |= parents[:, u, :]
                else:
                    slip_power[:, u] = pending[:, u].to(DTYPE)
            need = levels[:, chosen, :].amax(dim=1) if chosen else torch.zeros(n, b, dtype=torch.long)
            rows = reachable.nonzero().squeeze(-1)
            parts.append((rows, torch.full((len(rows),), sign, dtype=DTYPE), slip_power[rows], gain_power[rows], need[rows]))
    row, sign, slip_power, gain_power, need = (torch.cat(x) for x in zip(*parts))
    return Terms(row, sign, slip_power, gain_power, need, n)


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
    terms = Terms.stack([compile_pattern(net, levels, parents, [t], []) for t in range(len(net.targets))])
    probs = terms.evaluate(tails, success, slip).reshape(-1, len(net.targets), settings.shape[0]).transpose(1, 2)
    return probs if batched else probs[0]


def compile_observations(net: SEBN, levels: torch.Tensor, parents: torch.Tensor, observed: torch.Tensor) -> Terms:
    """Terms of ``P(observed targets | setting)`` per rollout.

    Args:
        levels, parents: the rollouts' requirement tensors (:meth:`SEBN.requirements`).
        observed: ``[n, m]`` outcomes, 1, 0 or -1 (missing).
    """
    patterns, index = torch.unique(observed, dim=0, return_inverse=True)
    parts, order = [], []
    for p, pattern in enumerate(patterns.tolist()):
        rows = (index == p).nonzero().squeeze(-1)
        ones = [t for t, v in enumerate(pattern) if v == 1]
        zeros = [t for t, v in enumerate(pattern) if v == 0]
        parts.append(compile_pattern(net, levels[rows], parents[rows], ones, zeros))
        order.append(rows)
    terms = Terms.stack(parts)
    # Map the stacked rows back to the rollouts' own order.
    terms.row = torch.cat(order)[terms.row]
    return terms


def observation_prob(net: SEBN, theta: Theta, settings: torch.Tensor, observed: torch.Tensor, rates=None) -> torch.Tensor:
    """``P(observed targets | setting)`` per rollout.

    Args:
        observed: ``[n, m]`` with 1 (success), 0 (failure) or -1 (not observed).

    Returns:
        ``[S, n]`` probabilities (``S = 1`` for a point theta).
    """
    tails, success, slip, _ = prepare(net, theta, rates)
    return compile_observations(net, *net.requirements(settings), observed).evaluate(tails, success, slip)


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
