"""ALP-GMM (Portelas et al. 2019), a published peer teacher: Gaussian mixtures over
(task, absolute learning progress), tasks drawn from the components that progress most.

Example:
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> space = TaskSpace(SEBN(parse_spec("goalreached : (wall=1 | move=1)\\n")))
    >>> ALPGMMCurriculum(space, fit_rate=4, seed=0).sample(1)[0]["wall"] in (0, 1)
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sebn.curricula.base import BaseCurriculum, Episode, Task, TaskSpace


class ALPGMMCurriculum(BaseCurriculum):
    """ALP-GMM (Portelas et al. 2019): fit Gaussian mixtures on (task, absolute learning
    progress) and sample tasks from the components with the most progress.

    Tasks are points of the unit cube, one axis per env variable (and one for the target
    when several are trained); a point is snapped to the nearest task. The absolute
    learning progress of a finished episode is ``|c - c_old|``, ``c`` its competence (the
    trained target's outcome, or the return when that is not observed) and ``c_old`` that
    of the nearest earlier task (the latest of equally near ones: on a discrete grid, the
    last time this very task was played). Every ``fit_rate`` episodes, mixtures with
    2..``max_k`` full-covariance components are fit on the last ``fit_rate`` (task, ALP)
    points and the one with the lowest AIC kept. The mixtures are scikit-learn's, as in the
    original implementation: pomegranate 1.1's full-covariance mixture crashes on the many
    coinciding points of a discrete task grid (its k-means start leaves components empty,
    then Cholesky fails), where scikit-learn's covariance regularisation copes. A task is
    then drawn uniformly with probability ``random_ratio`` (always before the first fit),
    otherwise from a component picked in proportion to its mean ALP, and snapped to the
    nearest task of the space (of the listed tasks, when the space is a list).

    Args:
        space: the task space.
        fit_rate: episodes between fits, and the window each fit uses.
        max_k: the most mixture components tried.
        random_ratio: the share of uniformly drawn tasks after the first fit.
        seed: seeds sampling and the mixture fits.
    """

    kind = "alp-gmm"

    def __init__(
        self, space: TaskSpace, fit_rate: int = 250, max_k: int = 10, random_ratio: float = 0.2, seed: int = 0
    ):
        super().__init__(seed)
        if fit_rate < 2 or max_k < 2 or not 0 <= random_ratio <= 1:
            raise ValueError("ALP-GMM needs fit_rate >= 2, max_k >= 2 and 0 <= random_ratio <= 1")
        self.space, self.fit_rate, self.max_k, self.random_ratio, self.seed = space, fit_rate, max_k, random_ratio, seed
        net = space.net
        self.axes = [np.asarray(d, dtype=float) for d in net.domains]
        if space.multi_target:
            self.axes.append(np.arange(len(space.targets), dtype=float))
        if space.explicit:
            self.listed = space.tasks(*space.all())
            self.listed_points = np.array([self._point(t) for t in self.listed])
        self.points: list[list[float]] = []
        self.competence: list[float] = []
        self.alp: list[float] = []
        self.mixture: dict[str, list] | None = None
        self.since_fit = 0

    def _point(self, task: Mapping[str, Any]) -> list[float]:
        values = [task[v] for v in self.space.net.env]
        if self.space.multi_target:
            values.append(self.space.targets.index(task["target"]))
        return [_unit(v, axis) for v, axis in zip(values, self.axes)]

    def _task(self, point: np.ndarray) -> Task:
        if self.space.explicit:  # only the listed tasks are valid: the nearest of them
            return dict(self.listed[int(np.argmin(np.sum((self.listed_points - point) ** 2, axis=1)))])
        values = [
            axis[np.abs(axis - (axis[0] + x * (axis[-1] - axis[0]))).argmin()] for x, axis in zip(point, self.axes)
        ]
        task: Task = {v: int(x) for v, x in zip(self.space.net.env, values)}
        if self.space.multi_target:
            task["target"] = self.space.targets[int(values[-1])]
        return task

    def _sample(self, n, rng):
        tasks = []
        for _ in range(n):
            if self.mixture is None or rng.random() < self.random_ratio:
                tasks.append(self.space.uniform(1, rng)[0])
                continue
            means, covariances = np.asarray(self.mixture["means"]), np.asarray(self.mixture["covariances"])
            progress = np.clip(means[:, -1], 0, None)
            weights = progress / progress.sum() if progress.sum() > 0 else np.full(len(means), 1 / len(means))
            k = rng.choice(len(means), p=weights)
            point = rng.multivariate_normal(means[k], covariances[k])[:-1]
            tasks.append(self._task(np.clip(point, 0, 1)))
        return tasks

    def observe(self, episodes: Sequence[Episode]) -> None:
        for episode in episodes:
            point = self._point(episode.task)
            trained = episode.task.get("target", self.space.targets[-1])
            competence = float(episode.targets.get(trained, episode.episode_return))
            if self.points:
                distance = np.sum((np.asarray(self.points) - point) ** 2, axis=1)
                nearest = len(distance) - 1 - int(np.argmin(distance[::-1]))  # ties: the latest
                progress = abs(competence - self.competence[nearest])
            else:
                progress = 0.0
            self.points.append(point)
            self.competence.append(competence)
            self.alp.append(progress)
            self.since_fit += 1
            if self.since_fit >= self.fit_rate:
                self._fit()

    def _fit(self) -> None:
        from sklearn.mixture import GaussianMixture

        data = np.column_stack([self.points[-self.fit_rate :], self.alp[-self.fit_rate :]])
        best, best_aic = None, math.inf
        distinct = len(np.unique(data, axis=0))  # more components than distinct points cannot be fit
        for k in range(2, min(self.max_k, distinct) + 1):
            mixture = GaussianMixture(k, covariance_type="full", random_state=self.seed + len(self.points)).fit(data)
            aic = mixture.aic(data)
            if aic < best_aic:
                best, best_aic = mixture, aic
        self.mixture = {
            "means": best.means_.tolist(),
            "covariances": best.covariances_.tolist(),
            "weights": best.weights_.tolist(),
        }
        self.since_fit = 0

    def state(self) -> dict[str, Any]:
        state = super().state()
        state.update(
            points=self.points, competence=self.competence, alp=self.alp, mixture=self.mixture, since_fit=self.since_fit
        )
        return state

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        self.points, self.competence, self.alp = list(state["points"]), list(state["competence"]), list(state["alp"])
        self.mixture, self.since_fit = state["mixture"], int(state["since_fit"])


def _unit(value: float, axis: np.ndarray) -> float:
    """A value's position on its axis, scaled to [0, 1] (0.5 for a one-value axis)."""
    span = axis[-1] - axis[0]
    return 0.5 if span == 0 else float((value - axis[0]) / span)
