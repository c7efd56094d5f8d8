"""Exact, batched inference in an SEBN without enumerating the joint of competencies.

:mod:`sebn.core.expansion` writes each joint target probability as a sum of terms, one
product of tail probabilities ``P(C >= r) = prod_i P(C_i >= r_i)`` each; here they are
evaluated in torch, batched over every setting and every posterior draw of theta.

Theta is a mapping ``competency -> probabilities over its levels``, each ``[L]`` for a
point estimate or ``[S, L]`` for ``S`` posterior draws.

Example:
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> p = score(net, {"move": torch.tensor([0.2, 0.5, 0.3])})
    >>> [round(x, 4) for x in p[:, 0].tolist()]   # slip + (success - slip) * P(move >= k)
    [0.77, 0.32]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from sebn.core.expansion import TermArrays, expand_pattern, spec_coefficients, stack
from sebn.core.network import SEBN, SUM_TOLERANCE, distinct_requirements

DTYPE = torch.float64
Theta = Mapping[str, torch.Tensor]


def spec_rates(net: SEBN) -> tuple[torch.Tensor, torch.Tensor]:
    """The spec's ``success[m]`` and ``slip[m]`` as tensors."""
    success, slip = net.rates()
    return torch.from_numpy(success), torch.from_numpy(slip)


def flat_theta(net: SEBN, theta: Theta, validate: bool = True) -> tuple[torch.Tensor, bool]:
    """Theta as one ``[S, sum L]`` row of level probabilities per draw (competencies in
    ``net.base`` order), and whether it was batched (``[S, L]`` entries rather than ``[L]``).

    Args:
        validate: check names, shapes and that each entry is a probability vector
            (summing to 1 within ``SUM_TOLERANCE``), then renormalise away rounding.
            ``False`` trusts theta to hold tensors of the right shapes, as the fitter's
            results do, and checks nothing: the fast path for hot loops.

    Raises:
        ValueError: naming the competency at fault.
    """
    if validate:
        parts = [_checked_entry(theta, name, n_levels) for name, n_levels in zip(net.base, net.n_levels)]
    else:
        parts = [theta[name] for name in net.base]
    if not parts:
        return torch.ones(1, 0, dtype=DTYPE), False
    batched = parts[0].dim() == 2
    try:
        flat = torch.cat(parts, dim=-1) if batched else torch.cat(parts)[None]
    except RuntimeError:
        shapes = ", ".join(f"{name}: {tuple(p.shape)}" for name, p in zip(net.base, parts))
        raise ValueError(f"theta's entries must be all [L] or all [S, L] with one S (got {shapes})") from None
    if flat.dtype != DTYPE:
        flat = flat.to(DTYPE)
    if validate:
        matrix, offset = (torch.from_numpy(a) for a in net.simplex_check)
        if not float(torch.addmm(offset, flat, matrix).min()) >= 0:  # written so NaN fails too
            bad = next(
                name
                for name, p in zip(net.base, parts)
                if not ((p >= 0).all() and ((p.sum(-1) - 1).abs() <= SUM_TOLERANCE).all())
            )
            raise ValueError(f"theta['{bad}'] must be probabilities summing to 1, got {theta[bad]}")
        flat = flat / torch.mm(flat, torch.from_numpy(net.level_totals))
    return flat, batched


def _checked_entry(theta: Theta, name: str, n_levels: int) -> torch.Tensor:
    probs = theta.get(name)
    if probs is None:
        raise ValueError(f"theta has no entry for base competency '{name}' (it has: {', '.join(theta) or 'none'})")
    probs = torch.as_tensor(probs, dtype=DTYPE)
    if probs.dim() not in (1, 2) or probs.shape[-1] != n_levels:
        raise ValueError(
            f"theta['{name}'] has shape {tuple(probs.shape)}; the spec gives {name} levels 0..{n_levels - 1}"
        )
    return probs


def prepare(net: SEBN, theta: Theta, rates=None, validate: bool = True):
    """Flat theta ``[S, sum L]`` (:func:`flat_theta`), rates (``None`` for the spec's, else
    ``success[S, m]``, ``slip[S, m]`` on the same batch size) and whether the inputs were batched."""
    flat, batched = flat_theta(net, theta, validate)
    if rates is None:
        return flat, None, batched
    success, slip = (torch.atleast_2d(torch.as_tensor(r, dtype=DTYPE)) for r in rates)
    draws = max(success.shape[0], flat.shape[0])
    batched = batched or draws > 1
    return flat.expand(draws, -1), (success.expand(draws, -1), slip.expand(draws, -1)), batched


@dataclass
class Terms:
    """:class:`~sebn.core.expansion.TermArrays` as tensors, ready to evaluate under theta.

    Compiling once and evaluating many times is what makes scoring and fitting fast: the
    structure depends only on the requirement arrays, and under the spec's rates the
    coefficients are constants too. Many terms share a requirement vector, so each
    distinct one is computed once per evaluation: one matrix product gathers its tail
    probabilities from flat theta (``tail_matrix`` columns) and one ``prod`` joins them.
    """

    row: torch.Tensor
    sign: torch.Tensor
    slip_power: torch.Tensor
    gain_power: torch.Tensor
    need: torch.Tensor
    n_rows: int
    spec_coef: torch.Tensor
    tail_matrix: torch.Tensor
    level_offsets: torch.Tensor

    @classmethod
    def of(cls, net: SEBN, terms: TermArrays) -> Terms:
        return cls(
            *(torch.from_numpy(a) for a in terms[:5]),
            terms.n_rows,
            torch.from_numpy(spec_coefficients(net, terms)),
            torch.from_numpy(net.tail_matrix),
            torch.from_numpy(net.level_offsets),
        )

    def evaluate(self, flat: torch.Tensor, rates: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """``[S, n_rows]`` values for flat theta ``[S, sum L]`` (:func:`flat_theta`) and
        rates (``[S, m]`` each, or ``None`` for the spec's)."""
        gather, n_needs, n_base, term_need = self._distinct_needs
        joint = torch.mm(flat, gather).view(len(flat), n_needs, n_base).prod(-1)
        if rates is None:
            constant, kept_need, coef, row = self._spec_plan
            value = joint.index_select(1, kept_need)
            if row is None:
                return torch.addcmul(constant, coef, value)
            return constant.repeat(value.shape[0], 1).index_add_(1, row, coef * value)
        value = self.sign * _rate_products(rates, self.slip_power, self.gain_power) * joint.index_select(1, term_need)
        return torch.zeros(value.shape[0], self.n_rows, dtype=DTYPE).index_add_(1, self.row, value)

    @cached_property
    def _distinct_needs(self):
        """The ``tail_matrix`` columns of the distinct requirement vectors, how many
        vectors and base competencies (``D``, ``B``), and which vector each term needs."""
        if self.need.shape[1]:
            need, term_need = torch.unique(self.need, dim=0, return_inverse=True)
        else:  # no base competencies: every term needs the same (empty) vector
            need, term_need = self.need[:1], torch.zeros(len(self.need), dtype=torch.long)
        return self.tail_matrix[:, (need + self.level_offsets).flatten()], *need.shape, term_need

    @cached_property
    def _spec_plan(self):
        """Under the spec's rates: the terms that need no competency summed into a constant
        per row; for the rest, which distinct requirement vector each needs, their
        coefficients and their rows, ``None`` when those are exactly one per row in order
        (a single target without parents), so no scatter is needed."""
        free = (self.need == 0).all(dim=-1)
        constant = torch.zeros(self.n_rows, dtype=DTYPE).index_add_(0, self.row[free], self.spec_coef[free])
        keep = ~free
        row = self.row[keep]
        in_order = len(row) == self.n_rows and torch.equal(row, torch.arange(self.n_rows))
        return constant, self._distinct_needs[-1][keep], self.spec_coef[keep], None if in_order else row


def _rate_products(rates, slip_power: torch.Tensor, gain_power: torch.Tensor) -> torch.Tensor:
    success, slip = rates
    return torch.exp(slip.log() @ slip_power.T + (success - slip).log() @ gain_power.T)


def compile_pattern(net: SEBN, levels, parents, ones: Sequence[int], zeros: Sequence[int]) -> Terms:
    """Terms of ``P(targets in ones = 1, targets in zeros = 0 | setting)`` per row, as
    tensors (:func:`sebn.core.expansion.expand_pattern` says what they are)."""
    return Terms.of(net, expand_pattern(net, levels, parents, ones, zeros))


class Scorer:
    """``P(target = 1 | setting)`` for a fixed batch of settings, compiled once.

    The compiled terms depend only on the spec and the settings, so a curriculum that
    rescores the same candidates under a new theta every generation pays only for the
    evaluation: one matrix product gathers the tail probabilities of every distinct
    requirement vector, one ``prod`` joins them, one gather and one ``addcmul`` apply them.
    Settings that require the same are compiled once, and their rows copied out, when
    that saves at least half of the work (sample-search's thousands of random completions
    of a large space often share a few requirement arrays).

    Args:
        net: the network.
        settings: ``[N, n_env]`` values; every setting of the spec when omitted.
    """

    def __init__(self, net: SEBN, settings: torch.Tensor | None = None):
        self.net = net
        self.settings = net.settings() if settings is None else settings
        levels, parents = net.requirements(self.settings)
        distinct_levels, distinct_parents, inverse = distinct_requirements(levels, parents)
        self.copies = None
        if 2 * len(distinct_levels) <= len(inverse):
            levels, parents, self.copies = distinct_levels, distinct_parents, torch.from_numpy(inverse)
        terms = stack([expand_pattern(net, levels, parents, [t], []) for t in range(len(net.targets))])
        self.terms = Terms.of(net, terms)
        self.shape = (len(levels), len(net.targets))
        # Setting-major rows, so the result is a view [N, m] with no transpose.
        n_settings, n_targets = self.shape
        self.terms.row = self.terms.row % n_settings * n_targets + self.terms.row // n_settings

    def __call__(self, theta: Theta, rates=None, validate: bool = True) -> torch.Tensor:
        """``[N, m]`` for a point theta, ``[S, N, m]`` for a batch; targets in ``net.targets`` order.

        ``validate=False`` checks nothing (see :func:`flat_theta`), for callers whose theta
        comes from the fitter in a hot loop.
        """
        flat, rates, batched = prepare(self.net, theta, rates, validate)
        probs = self.terms.evaluate(flat, rates).view(-1, *self.shape)
        if self.copies is not None:
            probs = probs.index_select(1, self.copies)
        return probs if batched else probs[0]


def score(net: SEBN, theta: Theta, settings: torch.Tensor | None = None, rates=None) -> torch.Tensor:
    """``P(target = 1 | env setting)`` for every setting and target in one batched pass.

    Args:
        net: the network.
        theta: point ``[L]`` or batched ``[S, L]`` probabilities per base competency.
        settings: ``[N, n_env]`` values; every setting of the spec when omitted.
        rates: optional ``(success, slip)``, each ``[m]`` or ``[S, m]``; the spec's otherwise.

    Returns:
        ``[N, m]`` for a point theta, ``[S, N, m]`` for a batch; targets in ``net.targets`` order.
        Use :class:`Scorer` to score the same settings under many thetas.
    """
    return Scorer(net, settings)(theta, rates)


def compile_observations(net: SEBN, levels: torch.Tensor, parents: torch.Tensor, observed: torch.Tensor) -> Terms:
    """Terms of ``P(observed targets | setting)`` per rollout.

    Args:
        levels, parents: the rollouts' requirement tensors (:meth:`SEBN.requirements`).
        observed: ``[n, m]`` outcomes, 1, 0 or -1 (missing).
    """
    levels, parents = np.asarray(levels), np.asarray(parents)
    patterns, index = np.unique(np.asarray(observed), axis=0, return_inverse=True)
    index = index.reshape(-1)
    parts, order = [], []
    for p, pattern in enumerate(patterns.tolist()):
        rows = (index == p).nonzero()[0]
        ones = [t for t, v in enumerate(pattern) if v == 1]
        zeros = [t for t, v in enumerate(pattern) if v == 0]
        parts.append(expand_pattern(net, levels[rows], parents[rows], ones, zeros))
        order.append(rows)
    terms = stack(parts)
    # Map the stacked rows back to the rollouts' own order.
    return Terms.of(net, terms._replace(row=np.concatenate(order)[terms.row]))


def observation_prob(
    net: SEBN, theta: Theta, settings: torch.Tensor, observed: torch.Tensor, rates=None
) -> torch.Tensor:
    """``P(observed targets | setting)`` per rollout.

    Args:
        observed: ``[n, m]`` with 1 (success), 0 (failure) or -1 (not observed).

    Returns:
        ``[S, n]`` probabilities (``S = 1`` for a point theta).
    """
    flat, rates, _ = prepare(net, theta, rates)
    return compile_observations(net, *net.requirements(settings), observed).evaluate(flat, rates)


def competency_posterior(
    net: SEBN, theta: Theta, settings: torch.Tensor, observed: torch.Tensor, rates=None
) -> dict[str, torch.Tensor]:
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
    batch = [torch.as_tensor(theta[name], dtype=DTYPE) for name in net.base if name in theta]
    if flat_theta(net, theta)[1]:
        raise ValueError("competency_posterior takes a point theta ([L] per competency)")
    # Clamp one competency to each of its levels in turn: one batched pass scores them all.
    variants = []
    for i, n_levels in enumerate(net.n_levels):
        for k in range(n_levels):
            clamped = list(batch)
            clamped[i] = torch.nn.functional.one_hot(torch.tensor(k), n_levels).to(DTYPE)
            variants.append(clamped)
    stacked = {name: torch.stack([v[i] for v in variants]) for i, name in enumerate(net.base)}
    likelihood = observation_prob(net, stacked, settings, observed, rates)
    posterior, row = {}, 0
    for i, (name, n_levels) in enumerate(zip(net.base, net.n_levels)):
        joint = likelihood[row : row + n_levels].T * batch[i]
        posterior[name] = joint / joint.sum(-1, keepdim=True)
        row += n_levels
    return posterior
