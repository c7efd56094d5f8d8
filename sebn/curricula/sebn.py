"""The SEBN curriculum (the SEBN paper's Sec. 3.4-3.5): generations of episodes, a fit of
theta after each, and a task distribution weighted by how much each task's predicted
success changed (``w = |P_g - P_{g-1}| + delta``; ``anti``: ``1 - |...| + delta``).

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

from sebn.core import FIT_METHODS
from sebn.core.fit import fit
from sebn.core.inference import Scorer
from sebn.core.network import DTYPE, SEBN
from sebn.core.records import as_lists
from sebn.core.search import EXHAUSTIVE_LIMIT, sample_search
from sebn.curricula.base import BaseCurriculum, Episode, Setting, TaskSpace


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

    ``P_0`` comes from the prior mean theta (all levels equally likely). Candidates are
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
        method: how theta is fit: ``"mle"``/``"map"`` (a point), ``"svi"``/``"nuts"``
            (posterior draws; ``P_g`` is then the posterior predictive mean).
        window: generations of episodes each fit uses (1: only the latest; the student
            changes, so older rollouts describe a different agent).
        concentration: Dirichlet concentration for ``map``/``svi``/``nuts``.
        exhaustive_limit: the largest task space scored exhaustively.
        keep: candidates kept by the search.
        search_samples: root-to-leaf samples of the search.
        fit_options: passed to :func:`sebn.core.fit.fit` (e.g. ``svi_steps``, ``num_samples``).
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
        self.net, self.space = net, space or TaskSpace(net)
        self.generation_size, self.delta, self.anti, self.initial = generation_size, delta, anti, initial
        self.method, self.window, self.concentration = method, window, concentration
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
        self.pending: list[dict] = []
        self.recent: list[list[dict]] = []
        if self.exhaustive:
            self.settings, self.target_index = self.space.all()
            unique, self._row = torch.unique(self.settings, dim=0, return_inverse=True)
            self._scorer = Scorer(net, unique)
            self.predicted = self._predict(self.theta)
            self.p = self._initial_distribution()
        else:
            self.settings = self.target_index = None
            self.predicted = self.p = None
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
        self.predicted = (
            self._predict(self.draws if self.draws is not None else self.theta) if self.exhaustive else None
        )

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
        previous = self.draws if self.draws is not None else self.theta
        current = result.draws if result.draws is not None else result.theta
        if self.exhaustive:
            new_predicted = self._predict(current)
            change = np.abs(new_predicted - self.predicted)
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
            new_predicted = found.after
            change = np.abs(new_predicted - found.before)
            # The tasks not enumerated keep the weight of an average task, as they would
            # have in the exhaustive distribution; drawn uniformly, they share that mass.
            rest = (len(self.space) - len(change)) * (found.mean_fitness + self.delta)
            extra = {"mean_fitness": found.mean_fitness}
        weights = self._fitness(change) + self.delta
        total = weights.sum() + rest
        if total > 0:
            self.p, self.p_rest = weights / total, float(rest / total)
        else:  # delta 0 and nothing changed (anti: everything changed by 1): no preference at all
            self.p = np.full(len(weights), 1.0 / len(self.space))
            self.p_rest = float(1.0 - len(weights) / len(self.space))
        self.theta, self.draws = result.theta, result.draws
        self.predicted = new_predicted if self.exhaustive else None
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
                "predicted": new_predicted.tolist(),
                "change": change.tolist(),
                **extra,
            }
        )
        self._log_scalars(result)

    def _fitness(self, change: np.ndarray) -> np.ndarray:
        return 1.0 - change if self.anti else change

    def _initial_distribution(self) -> np.ndarray:
        if self.initial == "uniform":
            return np.full(len(self.predicted), 1.0 / len(self.predicted))
        return self.predicted / self.predicted.sum()

    def _predict(self, theta: Mapping[str, torch.Tensor]) -> np.ndarray:
        """``P(target | env)`` of every task (posterior predictive mean for draws)."""
        probs = self._scorer(theta, validate=False)
        if probs.dim() == 3:
            probs = probs.mean(0)
        return probs[self._row, self.target_index].numpy()

    def _log_scalars(self, result) -> None:
        """Each competency's expected level, the entropy of the task distribution (over
        the candidates) and the log-likelihood of the fit."""
        for name, probs in result.theta.items():
            self.scalars.append(
                (f"curriculum/expected_level/{name}", float(sum(k * p for k, p in enumerate(probs.tolist()))))
            )
        p = self.p[self.p > 0] / self.p.sum()
        self.scalars += [
            ("curriculum/task_entropy", float(-(p * np.log(p)).sum())),
            ("curriculum/log_likelihood", float(result.log_likelihood)),
            ("curriculum/generation", float(self.generation)),
        ]
