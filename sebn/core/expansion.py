"""Joint target probabilities in closed form, as sums of terms: the combinatorics, in numpy.

Base competencies are independent, so the event "every requirement of a set of lines is
met" is a product over competencies: ``P(C >= r) = prod_i P(C_i >= r_i)``. A target that
requires parent targets is expanded through its parents: for a set ``A`` of targets that
must all succeed and ``U`` the last of them in topological order,

    P(A=1 | C) = slip_U P(A\\U = 1 | C) + (success_U - slip_U) [C >= r_U] P(A\\U + S_U = 1 | C)

(``S_U`` the parents ``U`` requires in this setting). Unrolled, each subset ``W`` of the
targets involved contributes one term ``coef_W(e) * P(C >= max_{u in W} r_u(e))``, so a
joint over ``m`` targets costs at most ``2^m`` products. Patterns with failures follow by
inclusion-exclusion.

The terms depend only on the requirement arrays, never on theta: this module finds them
(:func:`expand_pattern`), :mod:`sebn.core.inference` evaluates them under theta in torch,
and ``sebn check`` differentiates them in closed form without torch.

Example:
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> terms = expand_pattern(net, *net.requirements(net.settings()), ones=[0], zeros=[])
    >>> terms.need.tolist(), spec_coefficients(net, terms).round(3).tolist()  # slip + (success - slip) P(move >= r)
    ([[0], [0], [1], [2]], [0.05, 0.05, 0.9, 0.9])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from sebn.core.network import SEBN


class TermArrays(NamedTuple):
    """A batch of probabilities written as polynomials in rates and tail probabilities.

    Row ``r`` of the batch is ``sum`` over the terms ``j`` with ``row[j] = r`` of

        sign_j * prod_u slip_u^slip_power[j, u] * (success_u - slip_u)^gain_power[j, u]
               * prod_i P(C_i >= need[j, i])
    """

    row: np.ndarray
    """``[J]`` int64: the row each term adds to."""
    sign: np.ndarray
    """``[J]`` float64: +1 or -1 (inclusion-exclusion over failures)."""
    slip_power: np.ndarray
    """``[J, m]`` float64."""
    gain_power: np.ndarray
    """``[J, m]`` float64."""
    need: np.ndarray
    """``[J, B]`` int64: the base level each term needs of each competency (0: none)."""
    n_rows: int


def expand_pattern(
    net: SEBN, levels: np.ndarray, parents: np.ndarray, ones: Sequence[int], zeros: Sequence[int]
) -> TermArrays:
    """Terms of ``P(targets in ones = 1, targets in zeros = 0 | setting)`` per row.

    Args:
        levels: ``[N, m, B]`` required base levels per row (:meth:`SEBN.requirements`).
        parents: ``[N, m, m]`` required parent targets per row.
        ones, zeros: target indices observed to succeed and to fail; others marginalised.
    """
    levels, parents = np.asarray(levels), np.asarray(parents)
    n, m, b = levels.shape
    parts = []
    for z_bits in range(1 << len(zeros)):
        failed = [z for j, z in enumerate(zeros) if z_bits >> j & 1]
        required = sorted(set(ones) | set(failed))
        sign = -1.0 if len(failed) % 2 else 1.0
        closure = net.target_ancestors([net.targets[i] for i in required]) if required else []
        for w_bits in range(1 << len(closure)):
            chosen = [u for j, u in enumerate(closure) if w_bits >> j & 1]
            pending = np.zeros((n, m), dtype=bool)
            pending[:, required] = True
            reachable = np.ones(n, dtype=bool)
            slip_power = np.zeros((n, m))
            gain_power = np.zeros((n, m))
            for u in reversed(closure):  # children before parents
                if u in chosen:
                    reachable &= pending[:, u]
                    gain_power[:, u] = 1.0
                    pending |= parents[:, u, :]
                else:
                    slip_power[:, u] = pending[:, u]
            need = levels[:, chosen, :].max(axis=1) if chosen else np.zeros((n, b), dtype=np.int64)
            rows = reachable.nonzero()[0]
            parts.append(TermArrays(rows, np.full(len(rows), sign), slip_power[rows], gain_power[rows], need[rows], n))
    return TermArrays(*(np.concatenate(x) for x in list(zip(*parts))[:5]), n)


def stack(parts: Sequence[TermArrays]) -> TermArrays:
    """One batch whose rows are the parts' rows, one after another."""
    offsets = np.cumsum([0] + [p.n_rows for p in parts])
    return TermArrays(
        np.concatenate([p.row + o for p, o in zip(parts, offsets)]),
        *(np.concatenate([p[i] for p in parts]) for i in range(1, 5)),
        int(offsets[-1]),
    )


def spec_coefficients(net: SEBN, terms: TermArrays) -> np.ndarray:
    """``[J]`` each term's constant factor under the spec's success and slip rates."""
    success, slip = net.rates()
    return terms.sign * np.exp(terms.slip_power @ np.log(slip) + terms.gain_power @ np.log(success - slip))
