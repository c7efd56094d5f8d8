"""Candidate selection for task spaces too large to score exhaustively.

:func:`sample_search` is the sample-search of the SEBN paper (Sec. 3.5, Appendix B),
adapted from KL-search: each of ``samples`` root-to-leaf walks assigns the variables in an
order (the target first when several are trained, then the env variables), choosing each
value with probability proportional to ``h ** sharpness``, ``h`` the heuristic of the
partial setting it makes. The unassigned variables are filled by ``completions`` uniform
random completions (the same for every value of the variable being chosen: common random
numbers make values comparable), each scored exactly by the closed form. Heuristics:

* ``"marginal"``, the paper's Eq. 3: ``fitness(|P_g(T | x_1..x_j) - P_{g-1}(T | x_1..x_j)|)``
  with the rest marginalised (the paper estimates the marginals with weighted mini-bucket
  elimination; here they are the completions' mean). Changes of opposite sign cancel in
  the marginal, so it often walks away from the largest changes.
* ``"mean"``: the completions' mean of ``fitness(|P_g - P_{g-1}|)``.
* ``"max"`` (default): their maximum, an optimistic estimate of the best completion.

Every completion is an exactly scored task, so the completions compete with the leaves;
the ``keep`` fittest distinct tasks are returned. BENCHMARKS.md ("Sample-search recall")
measures how much of the true top 20 each heuristic finds: ``max`` with sharpness 16 finds
nearly all of it, the marginal heuristic far less.

:data:`EXHAUSTIVE_LIMIT` is the task-space size up to which a curriculum scores every task
instead: at 177,147 settings compiling the scorer takes 0.3 s once and each generation's
evaluation 0.6 ms; at 531,441 the compile takes 0.8 s (BENCHMARKS.md, exact inference).

Example:
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("t : (a=1 | m=1)\\nt : (b=2 | m=2)\\nenv a : 0..2\\nenv b : 0..2\\n"))
    >>> before = {"m": torch.tensor([0.8, 0.1, 0.1])}
    >>> after = {"m": torch.tensor([0.1, 0.8, 0.1])}
    >>> found = sample_search(net, before, after, ["t"], lambda d: d, keep=2, samples=16, rng=np.random.default_rng(0))
    >>> sorted(found.settings.tolist())   # where P(t) moved most: a=1 asks m>=1, but b=2 asks m>=2
    [[1, 0], [1, 1]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch

from sebn.core.inference import Scorer, score
from sebn.core.network import SEBN

EXHAUSTIVE_LIMIT = 250_000


class SearchResult(NamedTuple):
    """The candidates found, their predicted success under each theta, and the mean
    fitness of a uniformly drawn task (estimated from the first step's completions, which
    are uniform over the whole space): what a curriculum needs to weigh the candidates
    against everything it did not enumerate."""

    settings: torch.Tensor
    target_index: torch.Tensor
    mean_fitness: float
    before: np.ndarray
    after: np.ndarray


HEURISTICS = ("max", "mean", "marginal")

Theta = Mapping[str, torch.Tensor]


def predictions(net: SEBN, thetas: Sequence[Theta], settings: torch.Tensor) -> list[torch.Tensor]:
    """``P(target | setting)`` ``[N, m]`` under each theta (posterior draws averaged)."""
    unique, row = torch.unique(torch.as_tensor(settings), dim=0, return_inverse=True)
    scorer = Scorer(net, unique)
    out = []
    for theta in thetas:
        probs = scorer(theta, validate=False)
        out.append((probs.mean(0) if probs.dim() == 3 else probs)[row])
    return out


def sample_search(
    net: SEBN,
    before: Theta,
    after: Theta,
    targets: Sequence[str],
    fitness: Callable[[np.ndarray], np.ndarray],
    keep: int = 20,
    samples: int = 64,
    completions: int = 32,
    sharpness: float = 16.0,
    heuristic: str = "max",
    order: Sequence[str] | None = None,
    rng: np.random.Generator | None = None,
) -> SearchResult:
    """Candidate tasks where the predicted success moved most (or, for an anti fitness, least).

    Args:
        net: the network.
        before, after: theta of the previous and the current generation (``[L]`` or ``[S, L]``).
        targets: the targets trained.
        fitness: maps ``|P_after - P_before|`` (an array) to a non-negative preference.
        keep: candidates returned (fewer when the walks found fewer distinct tasks).
        samples: root-to-leaf walks.
        completions: random completions per partial setting.
        sharpness: values are chosen with probability proportional to ``h ** sharpness``
            (1: the heuristic itself; larger: greedier walks).
        heuristic: ``"max"``, ``"mean"`` or ``"marginal"`` (see the module docstring).
        order: env variables in the order they are assigned (the spec's by default).
        rng: randomness of the walks and completions.

    Returns:
        A :class:`SearchResult`: ``settings[K, n_env]`` and ``target_index[K]`` (indices
        into ``net.targets``), best first, their predictions under ``before`` and ``after``
        (posterior draws averaged), and the estimated mean fitness of a uniform task.
    """
    tasks, mean_fitness = _walk(
        net,
        lambda settings: _change(net, before, after, settings),
        targets,
        fitness,
        samples,
        completions,
        sharpness,
        heuristic,
        order,
        rng,
    )
    n_env = len(net.env)
    settings = torch.as_tensor(tasks[:, :n_env], dtype=torch.long)
    target_index = torch.as_tensor(tasks[:, n_env], dtype=torch.long)
    p_before, p_after = predictions(net, [before, after], settings)
    rows = torch.arange(len(settings))
    p_before, p_after = p_before[rows, target_index].numpy(), p_after[rows, target_index].numpy()
    best = np.argsort(-fitness(np.abs(p_after - p_before)), kind="stable")[:keep]
    return SearchResult(settings[best], target_index[best], mean_fitness, p_before[best], p_after[best])


def likeliest(
    net: SEBN,
    theta: Theta,
    targets: Sequence[str],
    keep: int,
    rates=None,
    samples: int = 64,
    completions: int = 32,
    sharpness: float = 16.0,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Settings and targets most likely to succeed under theta (posterior draws averaged),
    found by the same walks as :func:`sample_search` with ``P`` in place of the change:
    for task spaces too large to score every task (``sebn score --top``).

    Args:
        rates: ``(success, slip)`` as :func:`sebn.core.inference.score` takes them; the spec's when ``None``.

    Returns:
        ``settings[K, n_env]`` and ``target_index[K]``, likeliest first (``K <= keep``:
        the best of the tasks the walks scored, not guaranteed the best of the space).
    """

    def probability(settings: np.ndarray) -> np.ndarray:
        probs = score(net, theta, settings, rates)
        return (probs.mean(0) if probs.dim() == 3 else probs).numpy()

    tasks, _ = _walk(net, probability, targets, lambda p: p, samples, completions, sharpness, "max", None, rng)
    n_env = len(net.env)
    p = probability(tasks[:, :n_env])[np.arange(len(tasks)), tasks[:, n_env]]
    best = np.argsort(-p, kind="stable")[:keep]
    return tasks[best, :n_env], tasks[best, n_env]


def _change(net: SEBN, before: Theta, after: Theta, settings) -> np.ndarray:
    p_before, p_after = predictions(net, [before, after], settings)
    return (p_after - p_before).numpy()


def _walk(
    net: SEBN,
    measure: Callable[[np.ndarray], np.ndarray],
    targets: Sequence[str],
    fitness: Callable[[np.ndarray], np.ndarray],
    samples: int,
    completions: int,
    sharpness: float,
    heuristic: str,
    order: Sequence[str] | None,
    rng: np.random.Generator | None,
) -> tuple[np.ndarray, float]:
    """The distinct tasks (``[K, n_env + 1]``: setting, then target index) that the walks
    reached or scored on the way, towards large ``fitness(|measure|)``; and the mean
    fitness of the first step's completions, which are uniform over the space.
    ``measure`` maps ``[N, n_env]`` settings to ``[N, m]`` values per target."""
    rng = rng or np.random.default_rng()
    if heuristic not in HEURISTICS:
        raise ValueError(f"heuristic must be one of {', '.join(HEURISTICS)}, not {heuristic!r}")
    order = list(order or net.env)
    if sorted(order) != sorted(net.env):
        raise ValueError(f"order must list every env variable once: {', '.join(net.env)}")
    domains = [np.asarray(d) for d in net.domains]
    target_ids = np.array([net.targets.index(t) for t in targets])
    n_env = len(net.env)

    pool: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    chosen_target = rng.choice(target_ids, size=samples)
    if len(target_ids) > 1:
        completion = _complete(rng, domains, np.full((samples, len(target_ids), n_env), -1), completions)
        values = np.broadcast_to(target_ids, (samples, len(target_ids)))
        h = _heuristic(measure, completion, values, fitness, heuristic, pool)
        chosen_target = values[np.arange(samples), _choose(rng, h, sharpness)]

    partial = np.full((samples, n_env), -1)
    for var in order:
        j = net.env.index(var)
        options = domains[j]
        trial = np.repeat(partial[:, None, :], len(options), axis=1)
        trial[:, :, j] = options
        completion = _complete(rng, domains, trial, completions)
        targets_tried = np.repeat(chosen_target[:, None], len(options), axis=1)
        h = _heuristic(measure, completion, targets_tried, fitness, heuristic, pool)
        partial[:, j] = options[_choose(rng, h, sharpness)]

    # The completions were scored exactly on the way, so they compete with the leaves.
    tasks = np.concatenate([np.column_stack([partial, chosen_target])] + [np.column_stack(p[:2]) for p in pool])
    return np.unique(tasks, axis=0), float(pool[0][2].mean())


def _complete(rng: np.random.Generator, domains: list[np.ndarray], partial: np.ndarray, completions: int) -> np.ndarray:
    """``[K, V, M, n_env]``: each partial setting with its unassigned (-1) variables drawn
    uniformly; the same draws for every value ``V`` of one walk."""
    samples, n_values, n_env = partial.shape
    draws = np.stack([rng.choice(d, size=(samples, 1, completions)) for d in domains], axis=-1)
    full = np.broadcast_to(partial[:, :, None, :], (samples, n_values, completions, n_env)).copy()
    free = full < 0
    full[free] = np.broadcast_to(draws, full.shape)[free]
    return full


def _heuristic(
    measure: Callable[[np.ndarray], np.ndarray],
    completion: np.ndarray,
    target_index: np.ndarray,
    fitness: Callable[[np.ndarray], np.ndarray],
    kind: str,
    pool: list,
) -> np.ndarray:
    """``[K, V]`` heuristic of each partial setting from its completions' measures; the
    completions, each an exactly scored task, join ``pool``."""
    samples, n_values, completions, n_env = completion.shape
    settings = completion.reshape(-1, n_env)
    column = np.repeat(target_index.reshape(-1), completions)
    value = measure(settings)[np.arange(len(settings)), column].reshape(samples, n_values, completions)
    per_completion = fitness(np.abs(value))
    pool.append((settings, column, per_completion.reshape(-1)))
    if kind == "marginal":
        return fitness(np.abs(value.mean(-1)))
    return per_completion.mean(-1) if kind == "mean" else per_completion.max(-1)


def _choose(rng: np.random.Generator, h: np.ndarray, sharpness: float) -> np.ndarray:
    """One value per walk, with probability proportional to ``h ** sharpness`` (uniform
    when every heuristic of the walk is zero)."""
    h = np.clip(h, 0, None)
    h = (h / np.maximum(h.max(1, keepdims=True), 1e-300)) ** sharpness + 1e-12
    cumulative = np.cumsum(h / h.sum(1, keepdims=True), axis=1)
    return np.minimum((cumulative < rng.random((len(h), 1))).sum(1), h.shape[1] - 1)
