"""The SEBN curriculum (the SEBN paper's Sec. 3.4-3.5): generations of episodes, a fit of
theta after each, and a task distribution weighted by how much each task's predicted
success changed (``w = |P_g - P_{g-1}| + delta``; ``anti``: ``1 - |...| + delta``).

How the change is measured is the ``weighting`` (:data:`WEIGHTINGS`): the paper's
``point`` compares two fits; ``expected`` and ``thompson`` use the posteriors of both
generations (:func:`predicted_change`).

Example:
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> curriculum = SEBNCurriculum(net, generation_size=2, seed=0)
    >>> tasks = curriculum.sample(2)
    >>> curriculum.observe([Episode(t, {"goalreached": 1}, 1.0, 1, i, ticket=i) for i, t in enumerate(tasks)])
    >>> [record["generation"] for record in curriculum.pop_log()]
    [1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from sebn.core import FIT_METHODS, POINT_METHODS
from sebn.core.fit import fit
from sebn.core.inference import DTYPE, Scorer
from sebn.core.network import SEBN
from sebn.core.records import as_lists
from sebn.core.search import EXHAUSTIVE_LIMIT, sample_search
from sebn.curricula.base import BaseCurriculum, Episode, Setting, TaskSpace
from sebn.curricula.registry import WEIGHTINGS


def predicted_change(before: np.ndarray, after: np.ndarray, weighting: str, rng: np.random.Generator) -> np.ndarray:
    """Each task's change in predicted success between two generations.

    Args:
        before, after: ``[S, T]`` predicted success of ``T`` tasks under ``S`` posterior
            draws of theta (``S = 1`` for a point fit), generation ``g-1`` and ``g``.
        weighting: ``"point"``: ``|mean(after) - mean(before)|``, the paper's change of the
            (posterior-mean) predictions; ``"expected"``: ``E|P_g - P_{g-1}|`` with the two
            generations' posteriors independent, averaged exactly over every pair of one
            draw of each: a change the posterior is unsure of counts as much as that
            uncertainty says it may be (so a task whose posterior did not move still weighs
            the posterior's own spread, ``E|X - X'|``);
            ``"thompson"``: ``|P_g - P_{g-1}|`` of one draw of each, chosen by ``rng`` (one
            pair for every task, so the sample is one coherent network per generation).
        rng: draws ``thompson``'s pair.

    Example:
        >>> before = np.array([[0.2, 0.6], [0.4, 0.4]])  # two draws (rows) of two tasks
        >>> after = np.array([[0.5, 0.5], [0.5, 0.5]])
        >>> [predicted_change(before, after, weighting, None).round(2).tolist() for weighting in ("point", "expected")]
        [[0.2, 0.0], [0.2, 0.1]]
    """
    if weighting == "point":
        return np.abs(after.mean(0) - before.mean(0))
    if weighting == "expected":
        return np.array([mean_absolute_difference(a, b) for a, b in zip(after.T, before.T)])
    if weighting == "thompson":
        return np.abs(after[rng.integers(len(after))] - before[rng.integers(len(before))])
    raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")


def mean_absolute_difference(x: np.ndarray, y: np.ndarray) -> float:
    """``mean |x_i - y_j|`` over every pair, in ``O((n + m) log m)`` by sorting ``y``.

    Example:
        >>> mean_absolute_difference(np.array([0.0, 1.0]), np.array([0.5, 1.0]))
        0.5
    """
    y = np.sort(y)
    prefix = np.concatenate([[0.0], np.cumsum(y)])
    below = np.searchsorted(y, x)  # how many y lie below each x
    total = below * x - prefix[below] + (prefix[-1] - prefix[below]) - (len(y) - below) * x
    return float(total.sum() / (len(x) * len(y)))


def prior_draws(net: SEBN, concentration: float, n: int, seed: int) -> dict[str, torch.Tensor]:
    """``n`` draws of theta from the symmetric Dirichlet prior (generation 0's posterior)."""
    rng = np.random.default_rng(seed)
    return {
        name: torch.tensor(rng.dirichlet(np.full(levels, float(concentration)), size=n), dtype=DTYPE)
        for name, levels in zip(net.base, net.n_levels)
    }


def uniform_theta(net: SEBN) -> dict[str, torch.Tensor]:
    """The Dirichlet prior's mean: every level equally likely."""
    return {name: torch.full((n,), 1.0 / n, dtype=DTYPE) for name, n in zip(net.base, net.n_levels)}


class SEBNCurriculum(BaseCurriculum):
    """The SEBN expected-improvement curriculum (the paper's Sec. 3.4-3.5).

    Generation ``g`` plays ``generation_size`` episodes drawn from ``p_g``. Then theta_g
    is fit on the episodes of the last ``window`` generations, every candidate task gets
    ``P_g(task) = P(target = 1 | env; theta_g)``, and

        w(task) = |P_g(task) - P_{g-1}(task)| + delta      (anti: 1 - |...| + delta)
        p_{g+1} = w / sum(w)

    with ``|P_g - P_{g-1}|`` measured as ``weighting`` says (:func:`predicted_change`).
    ``P_0`` comes from the prior: its mean theta (all levels equally likely) for ``point``,
    its draws for the posterior weightings. Candidates are
    every task when the space has at most ``exhaustive_limit`` tasks, otherwise the
    ``keep`` best found by :func:`sebn.core.search.sample_search` each generation; the tasks
    not enumerated then keep, together, the weight they would have in the exhaustive
    distribution (each that of an average task, estimated by the search), and a draw
    from that share is a uniform task (``p_rest``).

    Args:
        net: the network.
        space: the task space (every setting x target by default).
        generation_size: episodes per generation (``G``).
        delta: the smoothing added to every weight.
        anti: the anti-curriculum (favour tasks whose prediction changed least).
        initial: ``"uniform"`` or ``"easy"`` (``p_0`` proportional to ``P_0``: tasks the
            spec predicts easier for a novice come up more often).
        method: how theta is fit: ``"mle"``/``"map"`` (a point), ``"svi"``,
            ``"laplace"``, ``"nuts"`` (posterior draws; for ``point`` ``P_g`` is then the
            posterior predictive mean).
        weighting: ``"point"`` (the paper's), ``"expected"`` or ``"thompson"``; the last two
            need a posterior ``method``. Each generation logs the change it used, the point
            change beside it, and the posterior's spread (``sd`` of ``P_g`` over the draws).
        window: generations of episodes each fit uses (1: only the latest; the student
            changes, so older rollouts describe a different agent).
        concentration: Dirichlet concentration for ``map`` and the posteriors.
        exhaustive_limit: the largest task space scored exhaustively.
        keep: candidates kept by the search.
        search_samples: root-to-leaf samples of the search.
        fit_options: passed to :func:`sebn.core.fit.fit` (e.g. ``svi_steps``, ``num_samples``:
            also the number of prior draws of generation 0).
        seed: seeds sampling, the search and the Bayesian fits.
    """

    kind = "sebn"

    def __init__(
        self,
        net: SEBN,
        space: TaskSpace | None = None,
        generation_size: int = 100,
        delta: float = 0.01,
        anti: bool = False,
        initial: str = "uniform",
        method: str = "mle",
        weighting: str = "point",
        window: int = 1,
        concentration: float = 1.0,
        exhaustive_limit: int = EXHAUSTIVE_LIMIT,
        keep: int = 20,
        search_samples: int = 64,
        fit_options: Mapping[str, Any] | None = None,
        seed: int = 0,
    ):
        super().__init__(seed)
        if generation_size < 1 or window < 1:
            raise ValueError("generation_size and window must be at least 1")
        if delta < 0:
            raise ValueError(f"delta must be >= 0, got {delta}")
        if initial not in ("uniform", "easy"):
            raise ValueError(f"initial must be 'uniform' or 'easy', not {initial!r}")
        if method not in FIT_METHODS:
            raise ValueError(f"method must be one of {', '.join(FIT_METHODS)}, not {method!r}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
        if weighting != "point" and method in POINT_METHODS:
            raise ValueError(
                f"weighting {weighting!r} compares posteriors, and method {method!r} fits a point: "
                "choose method svi, laplace (the fastest) or nuts"
            )
        self.net, self.space = net, space or TaskSpace(net)
        self.generation_size, self.delta, self.anti, self.initial = generation_size, delta, anti, initial
        self.method, self.weighting, self.window, self.concentration = method, weighting, window, concentration
        self.keep, self.search_samples, self.fit_options, self.seed = (
            keep,
            search_samples,
            dict(fit_options or {}),
            seed,
        )
        self.exhaustive = len(self.space) <= exhaustive_limit
        if not self.exhaustive and self.space.explicit:
            raise ValueError(
                f"an explicit task list of {len(self.space)} tasks exceeds exhaustive_limit={exhaustive_limit}"
            )
        self.kind = "anti" if anti else "sebn"
        self.generation = 0
        self.theta = uniform_theta(net)
        self.draws: dict[str, torch.Tensor] | None = None
        if weighting != "point":
            self.draws = prior_draws(net, concentration, self.fit_options.get("num_samples", 1000), seed)
        self.pending: list[dict] = []
        self.recent: list[list[dict]] = []
        if self.exhaustive:
            self.settings, self.target_index = self.space.all()
            unique, self._row = torch.unique(self.settings, dim=0, return_inverse=True)
            self._scorer = Scorer(net, unique)
            self.predictions = self._predict(self._fitted())
            self.p = self._initial_distribution()
        else:
            self.settings = self.target_index = None
            self.predictions = self.p = None
        self.p_rest = 0.0

    @classmethod
    def build(cls, setting: Setting, seed: int = 0, **options: Any) -> SEBNCurriculum:
        return cls(setting.space.net, setting.space, seed=seed, **options)

    # --- the protocol ---------------------------------------------------------------

    def _sample(self, n, rng):
        if self.p is None:  # generation 0 of a space too large to enumerate
            return self.space.uniform(n, rng)
        elsewhere = rng.random(n) < self.p_rest
        index = rng.choice(len(self.p), size=n, p=self.p / self.p.sum())
        tasks = self.space.tasks(self.settings[index], self.target_index[index])
        uniform = iter(self.space.uniform(int(elsewhere.sum()), rng))
        return [next(uniform) if away else task for task, away in zip(tasks, elsewhere)]

    def observe(self, episodes: Sequence[Episode]) -> None:
        for episode in episodes:
            self.pending.append(episode.to_record() if isinstance(episode, Episode) else dict(episode))
            if len(self.pending) >= self.generation_size:
                self._next_generation()

    def state(self) -> dict[str, Any]:
        state = {**super().state(), "generation": self.generation, "pending": self.pending, "recent": self.recent}
        state["theta"], state["draws"] = as_lists(self.theta), None if self.draws is None else as_lists(self.draws)
        if not self.exhaustive:
            state["candidates"] = (
                None if self.p is None else {"settings": self.settings.tolist(), "targets": self.target_index.tolist()}
            )
        state["p"] = None if self.p is None else self.p.tolist()
        state["p_rest"] = self.p_rest
        return state

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        self.generation = int(state["generation"])
        self.pending = [dict(r) for r in state["pending"]]
        self.recent = [[dict(r) for r in g] for g in state["recent"]]
        self.theta = {k: torch.tensor(v, dtype=DTYPE) for k, v in state["theta"].items()}
        self.draws = (
            None if state["draws"] is None else {k: torch.tensor(v, dtype=DTYPE) for k, v in state["draws"].items()}
        )
        if not self.exhaustive:
            candidates = state["candidates"]
            if candidates is None:
                self.settings = self.target_index = None
            else:
                self.settings = torch.tensor(candidates["settings"], dtype=torch.long).reshape(-1, len(self.net.env))
                self.target_index = torch.tensor(candidates["targets"], dtype=torch.long)
        self.p = None if state["p"] is None else np.asarray(state["p"], dtype=float)
        self.p_rest = float(state["p_rest"])
        self.predictions = self._predict(self._fitted()) if self.exhaustive else None

    # --- generations ----------------------------------------------------------------

    def _next_generation(self) -> None:
        generation, self.pending = self.pending[: self.generation_size], self.pending[self.generation_size :]
        self.recent = (self.recent + [generation])[-self.window :]
        records = [r for g in self.recent for r in g]
        result = fit(
            self.net,
            records,
            method=self.method,
            concentration=self.concentration,
            seed=self.seed + self.generation,
            **self.fit_options,
        )
        previous = self._fitted()
        current = result.draws if result.draws is not None else result.theta
        if self.exhaustive:
            before, after = self.predictions, self._predict(current)
            rest = 0.0
            extra = {}
        else:
            found = sample_search(
                self.net,
                previous,
                current,
                self.space.targets,
                fitness=self._fitness,
                keep=self.keep,
                samples=self.search_samples,
                rng=self.rng,
            )
            self.settings, self.target_index = found.settings, found.target_index
            if self.weighting == "point":
                before, after = found.before[None], found.after[None]
            else:  # the search ranks by the point change; the kept candidates are weighted by the posteriors
                scorer, row = self._scorer_for(self.settings)
                before, after = self._predict(previous, scorer, row), self._predict(current, scorer, row)
            # The tasks not enumerated keep the weight of an average task, as they would
            # have in the exhaustive distribution; drawn uniformly, they share that mass.
            rest = (len(self.space) - len(self.settings)) * (found.mean_fitness + self.delta)
            extra = {"mean_fitness": found.mean_fitness}
        change = predicted_change(before, after, self.weighting, self.rng)
        if self.weighting != "point":
            extra["point_change"] = predicted_change(before, after, "point", self.rng).tolist()
        spread = after.std(0)
        weights = self._fitness(change) + self.delta
        total = weights.sum() + rest
        if total > 0:
            self.p, self.p_rest = weights / total, float(rest / total)
        else:  # delta 0 and nothing changed (anti: everything changed by 1): no preference at all
            self.p = np.full(len(weights), 1.0 / len(self.space))
            self.p_rest = float(1.0 - len(weights) / len(self.space))
        self.theta, self.draws = result.theta, result.draws
        self.predictions = after if self.exhaustive else None
        self.generation += 1
        self.log.append(
            {
                "generation": self.generation,
                "episodes": self.generation * self.generation_size,
                "theta": as_lists(result.theta),
                "log_likelihood": result.log_likelihood,
                "tasks": self.space.tasks(self.settings, self.target_index),
                "p": self.p.tolist(),
                "p_rest": self.p_rest,
                "predicted": after.mean(0).tolist(),
                "change": change.tolist(),
                "spread": spread.tolist(),
                **extra,
            }
        )
        self._log_scalars(result, spread)

    def _fitness(self, change: np.ndarray) -> np.ndarray:
        return 1.0 - change if self.anti else change

    def _initial_distribution(self) -> np.ndarray:
        if self.initial == "uniform":
            return np.full(len(self.predicted), 1.0 / len(self.predicted))
        return self.predicted / self.predicted.sum()

    @property
    def predicted(self) -> np.ndarray | None:
        """Every task's predicted success (the posterior predictive mean for draws), when
        the space is enumerated."""
        return None if self.predictions is None else self.predictions.mean(0)

    def _fitted(self) -> Mapping[str, torch.Tensor]:
        """The latest generation's posterior draws, or its point theta."""
        return self.draws if self.draws is not None else self.theta

    def _scorer_for(self, settings: torch.Tensor) -> tuple[Scorer, torch.Tensor]:
        unique, row = torch.unique(settings, dim=0, return_inverse=True)
        return Scorer(self.net, unique), row

    def _predict(self, theta: Mapping[str, torch.Tensor], scorer: Scorer | None = None, row=None) -> np.ndarray:
        """``[S, T]``: ``P(target | env)`` of every candidate task under each of ``S`` draws of
        theta (``S = 1`` for a point)."""
        scorer, row = (self._scorer, self._row) if scorer is None else (scorer, row)
        probs = scorer(theta, validate=False)
        if probs.dim() == 2:
            probs = probs[None]
        return probs[:, row, self.target_index].numpy()

    def _log_scalars(self, result, spread: np.ndarray) -> None:
        """Each competency's expected level, the entropy of the task distribution (over
        the candidates), the log-likelihood of the fit and the posterior's mean spread."""
        for name, probs in result.theta.items():
            self.scalars.append(
                (f"curriculum/expected_level/{name}", float(sum(k * p for k, p in enumerate(probs.tolist()))))
            )
        p = self.p[self.p > 0] / self.p.sum()
        self.scalars += [
            ("curriculum/task_entropy", float(-(p * np.log(p)).sum())),
            ("curriculum/log_likelihood", float(result.log_likelihood)),
            ("curriculum/predicted_sd", float(spread.mean())),
            ("curriculum/generation", float(self.generation)),
        ]
