"""Curricula: what the student trains on next.

Every curriculum follows one protocol (DESIGN.md section 4): ``sample(n)`` hands out
tasks, ``observe(episodes)`` takes finished episodes back, ``state()`` is a JSON-able
snapshot from which ``load_state`` resumes exactly (the RNG included). The i-th task a
curriculum hands out has *ticket* i (``issued`` counts them); the episode played on it
carries the ticket back, so a curriculum can credit an outcome to the decision that
caused it however episodes interleave.

* :class:`SEBNCurriculum`: the SEBN paper's Sec. 3.4. Generations of ``G`` episodes; after
  each, theta is refit on the latest generation(s), every candidate task is scored, and
  the next task distribution is ``w / sum(w)`` with ``w = |P_g - P_{g-1}| + delta``
  (``anti``: ``1 - |P_g - P_{g-1}| + delta``).
* :class:`UniformCurriculum` (domain randomisation), :class:`TargetCurriculum` (no
  curriculum: always the evaluation tasks).
* :class:`ALPGMMCurriculum`: absolute learning progress with Gaussian mixtures (Portelas
  et al. 2019), a published peer teacher.
* The gradient-norm teacher lives in :mod:`sebn.teacher`.

Example:
    >>> from sebn.network import SEBN
    >>> from sebn.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> curriculum = SEBNCurriculum(net, generation_size=4, seed=0)
    >>> tasks = curriculum.sample(4)
    >>> curriculum.observe([Episode(t, {"goalreached": t["wall"] == 0}, 1.0, 1, i, ticket=i) for i, t in enumerate(tasks)])
    >>> curriculum.generation
    1
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from sebn.fit import fit
from sebn.inference import Scorer
from sebn.network import DTYPE, SEBN
from sebn.search import EXHAUSTIVE_LIMIT, sample_search

Task = dict[str, Any]


@dataclass
class Episode:
    """One finished episode as a curriculum sees it.

    Attributes:
        task: the task it was played on (env variables, and ``target`` when the spec has several).
        targets: target name -> 1 (succeeded) or 0; a target not observed is absent.
        episode_return: the undiscounted return.
        length: steps.
        step: the student's global env step when it ended.
        ticket: the index of the task among those the curriculum handed out.
        gradients: reward metrics of the student's gradients during the episode
            (``mean_norm``, ``sum_norm``, ``updates``), when the agent reports them.
        applied: what the env actually set up for the task, when it reports it
            (``final_info["applied"]``: a maze's cells, Adroit's ball and target).
    """

    task: Mapping[str, Any]
    targets: Mapping[str, int]
    episode_return: float
    length: int
    step: int
    ticket: int | None = None
    gradients: Mapping[str, float] | None = None
    applied: Mapping[str, Any] | None = None

    def to_record(self) -> dict[str, Any]:
        """The ``episodes.jsonl`` record (DESIGN.md section 8)."""
        record = {"step": self.step, "task": dict(self.task), "targets": {k: int(v) for k, v in self.targets.items()},
                  "return": float(self.episode_return), "length": int(self.length)}
        if self.ticket is not None:
            record["ticket"] = self.ticket
        if self.gradients is not None:
            record["gradients"] = dict(self.gradients)
        if self.applied is not None:
            record["applied"] = dict(self.applied)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Episode:
        return cls(record["task"], record.get("targets", {}), record["return"], record["length"], record["step"],
                   record.get("ticket"), record.get("gradients"), record.get("applied"))


@runtime_checkable
class Curriculum(Protocol):
    issued: int

    def sample(self, n: int, rng: np.random.Generator | None = None) -> list[Task]: ...

    def observe(self, episodes: Sequence[Episode]) -> None: ...

    def state(self) -> dict[str, Any]: ...

    def load_state(self, state: Mapping[str, Any]) -> None: ...


class BaseCurriculum(abc.ABC):
    """Ticket counting, the seeded RNG and their part of :meth:`state`; subclasses say
    how tasks are drawn (:meth:`_sample`)."""

    kind = "base"

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.issued = 0

    def sample(self, n: int, rng: np.random.Generator | None = None) -> list[Task]:
        """``n`` tasks, drawn with ``rng`` (the curriculum's own seeded RNG by default)."""
        tasks = self._sample(n, self.rng if rng is None else rng)
        self.issued += n
        return tasks

    @abc.abstractmethod
    def _sample(self, n: int, rng: np.random.Generator) -> list[Task]:
        """``n`` tasks drawn with ``rng``."""

    def observe(self, episodes: Sequence[Episode]) -> None:
        """Most baselines learn nothing from episodes."""

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "issued": self.issued, "rng": self.rng.bit_generator.state}

    def load_state(self, state: Mapping[str, Any]) -> None:
        if state.get("kind") != self.kind:
            raise ValueError(f"state is for a '{state.get('kind')}' curriculum, not '{self.kind}'")
        self.issued = int(state["issued"])
        self.rng.bit_generator.state = dict(state["rng"])


class TaskSpace:
    """The tasks of a spec: its env settings, times its targets when it has several.

    Args:
        net: the network.
        targets: the targets trained (all of the spec's by default).
        tasks: an explicit list of tasks instead (a domain that allows fewer).
    """

    def __init__(self, net: SEBN, targets: Sequence[str] | None = None, tasks: Sequence[Mapping[str, Any]] | None = None):
        self.net = net
        self.targets = list(targets or net.targets)
        unknown = [t for t in self.targets if t not in net.targets]
        if unknown:
            raise ValueError(f"unknown target(s) {unknown}; the spec has: {', '.join(net.targets)}")
        self.explicit = tasks is not None
        if tasks is not None:
            if not tasks:
                raise ValueError("the task list is empty")
            self._settings = net.settings_from_tasks(tasks)
            self._target_index = torch.tensor([self.target_index(t) for t in tasks], dtype=torch.long)

    @property
    def multi_target(self) -> bool:
        return len(self.net.targets) > 1

    def target_index(self, task: Mapping[str, Any]) -> int:
        """The index in ``net.targets`` of the task's target."""
        name = task.get("target", self.targets[-1] if len(self.targets) == 1 else None)
        if name is None:
            raise ValueError(f"task {dict(task)} names no target; the spec has several: {', '.join(self.net.targets)}")
        if name not in self.targets:
            raise ValueError(f"task {dict(task)}: target '{name}' is not trained here ({', '.join(self.targets)})")
        return self.net.targets.index(name)

    def __len__(self) -> int:
        if self.explicit:
            return len(self._target_index)
        return self.net.n_settings * len(self.targets)

    def all(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every task as ``settings[N, n_env]`` and ``target_index[N]`` (setting-major)."""
        if self.explicit:
            return self._settings, self._target_index
        settings = self.net.settings()
        index = torch.tensor([self.net.targets.index(t) for t in self.targets], dtype=torch.long)
        return settings.repeat_interleave(len(index), dim=0), index.repeat(settings.shape[0])

    def task(self, setting: torch.Tensor | Sequence[int], target: int) -> Task:
        task: Task = self.net.describe_setting(setting)
        if self.multi_target:
            task["target"] = self.net.targets[int(target)]
        return task

    def tasks(self, settings: torch.Tensor, target_index: torch.Tensor) -> list[Task]:
        return [self.task(s, t) for s, t in zip(settings.tolist(), target_index.tolist())]

    def uniform(self, n: int, rng: np.random.Generator) -> list[Task]:
        """``n`` tasks uniformly at random (each variable on its own for a product space,
        so the space is never enumerated)."""
        if self.explicit:
            index = rng.integers(0, len(self), size=n)
            return self.tasks(self._settings[index], self._target_index[index])
        columns = [rng.choice(np.asarray(domain), size=n) for domain in self.net.domains]
        settings = torch.as_tensor(np.stack(columns, axis=-1), dtype=torch.long).reshape(n, len(self.net.env))
        names = rng.choice(len(self.targets), size=n)
        target_index = torch.tensor([self.net.targets.index(self.targets[i]) for i in names], dtype=torch.long)
        return self.tasks(settings, target_index)


def uniform_theta(net: SEBN) -> dict[str, torch.Tensor]:
    """The Dirichlet prior's mean: every level equally likely."""
    return {name: torch.full((n,), 1.0 / n, dtype=DTYPE) for name, n in zip(net.base, net.n_levels)}


class UniformCurriculum(BaseCurriculum):
    """Domain randomisation: every task equally likely."""

    kind = "uniform"

    def __init__(self, space: TaskSpace, seed: int = 0):
        super().__init__(seed)
        self.space = space

    def _sample(self, n, rng):
        return self.space.uniform(n, rng)


class SpaceUniformCurriculum(BaseCurriculum):
    """Uniform over a task space of ``Box`` and ``Discrete`` parts (a ``Dict``, or one
    part named ``"task"``), in the teacher's task format.

    Example:
        >>> from gymnasium import spaces
        >>> curriculum = SpaceUniformCurriculum(spaces.Dict({"cell": spaces.Discrete(4)}), seed=0)
        >>> curriculum.sample(1)[0]["cell"] in range(4)
        True
    """

    kind = "uniform"

    def __init__(self, space, seed: int = 0):
        from gymnasium import spaces

        super().__init__(seed)
        self.parts = dict(space.spaces) if isinstance(space, spaces.Dict) else {"task": space}
        for name, part in self.parts.items():
            if not isinstance(part, (spaces.Box, spaces.Discrete)):
                raise TypeError(f"task part '{name}' is a {type(part).__name__}; uniform handles Box and Discrete parts")

    def _sample(self, n, rng):
        from gymnasium import spaces

        tasks = []
        for _ in range(n):
            task = {}
            for name, part in self.parts.items():
                if isinstance(part, spaces.Discrete):
                    task[name] = int(part.start + rng.integers(part.n))
                else:
                    task[name] = rng.uniform(part.low, part.high).astype(float).tolist()
            tasks.append(task)
        return tasks


class TargetCurriculum(BaseCurriculum):
    """No curriculum: always the evaluation task(s), cycled in order."""

    kind = "target"

    def __init__(self, tasks: Sequence[Mapping[str, Any]], seed: int = 0):
        super().__init__(seed)
        if not tasks:
            raise ValueError("the target curriculum needs at least one evaluation task")
        self.tasks = [dict(t) for t in tasks]

    def _sample(self, n, rng):
        return [dict(self.tasks[(self.issued + i) % len(self.tasks)]) for i in range(n)]


class SEBNCurriculum(BaseCurriculum):
    """The SEBN expected-improvement curriculum (the paper's Sec. 3.4-3.5).

    Generation ``g`` plays ``generation_size`` episodes drawn from ``p_g``. Then theta_g
    is fit on the episodes of the last ``window`` generations, every candidate task gets
    ``P_g(task) = P(target = 1 | env; theta_g)``, and

        w(task) = |P_g(task) - P_{g-1}(task)| + delta      (anti: 1 - |...| + delta)
        p_{g+1} = w / sum(w)

    ``P_0`` comes from the prior mean theta (all levels equally likely). Candidates are
    every task when the space has at most ``exhaustive_limit`` tasks, otherwise the
    ``keep`` best found by :func:`sebn.search.sample_search` each generation; the tasks
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
        fit_options: passed to :func:`sebn.fit.fit` (e.g. ``svi_steps``, ``num_samples``).
        seed: seeds sampling, the search and the Bayesian fits.
    """

    kind = "sebn"

    def __init__(self, net: SEBN, space: TaskSpace | None = None, generation_size: int = 100, delta: float = 0.01,
                 anti: bool = False, initial: str = "uniform", method: str = "mle", window: int = 1,
                 concentration: float = 1.0, exhaustive_limit: int = EXHAUSTIVE_LIMIT, keep: int = 20,
                 search_samples: int = 64, fit_options: Mapping[str, Any] | None = None, seed: int = 0):
        super().__init__(seed)
        if generation_size < 1 or window < 1:
            raise ValueError("generation_size and window must be at least 1")
        if delta < 0:
            raise ValueError(f"delta must be >= 0, got {delta}")
        if initial not in ("uniform", "easy"):
            raise ValueError(f"initial must be 'uniform' or 'easy', not {initial!r}")
        if method not in ("mle", "map", "svi", "nuts"):
            raise ValueError(f"method must be one of mle, map, svi, nuts, not {method!r}")
        self.net, self.space = net, space or TaskSpace(net)
        self.generation_size, self.delta, self.anti, self.initial = generation_size, delta, anti, initial
        self.method, self.window, self.concentration = method, window, concentration
        self.keep, self.search_samples, self.fit_options, self.seed = keep, search_samples, dict(fit_options or {}), seed
        self.exhaustive = len(self.space) <= exhaustive_limit
        if not self.exhaustive and self.space.explicit:
            raise ValueError(f"an explicit task list of {len(self.space)} tasks exceeds exhaustive_limit={exhaustive_limit}")
        self.kind = "anti" if anti else "sebn"
        self.generation = 0
        self.theta = uniform_theta(net)
        self.draws: dict[str, torch.Tensor] | None = None
        self.pending: list[dict] = []
        self.recent: list[list[dict]] = []
        self.log: list[dict] = []
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
        state = super().state()
        state.update(generation=self.generation, pending=self.pending, recent=self.recent,
                     theta={k: v.tolist() for k, v in self.theta.items()},
                     draws=None if self.draws is None else {k: v.tolist() for k, v in self.draws.items()})
        if not self.exhaustive:
            state["candidates"] = None if self.p is None else {"settings": self.settings.tolist(), "targets": self.target_index.tolist()}
        state["p"] = None if self.p is None else self.p.tolist()
        state["p_rest"] = self.p_rest
        return state

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        self.generation = int(state["generation"])
        self.pending = [dict(r) for r in state["pending"]]
        self.recent = [[dict(r) for r in g] for g in state["recent"]]
        self.theta = {k: torch.tensor(v, dtype=DTYPE) for k, v in state["theta"].items()}
        self.draws = None if state["draws"] is None else {k: torch.tensor(v, dtype=DTYPE) for k, v in state["draws"].items()}
        if not self.exhaustive:
            candidates = state["candidates"]
            if candidates is None:
                self.settings = self.target_index = None
            else:
                self.settings = torch.tensor(candidates["settings"], dtype=torch.long).reshape(-1, len(self.net.env))
                self.target_index = torch.tensor(candidates["targets"], dtype=torch.long)
        self.p = None if state["p"] is None else np.asarray(state["p"], dtype=float)
        self.p_rest = float(state["p_rest"])
        self.predicted = self._predict(self.draws if self.draws is not None else self.theta) if self.exhaustive else None

    # --- generations ----------------------------------------------------------------

    def _next_generation(self) -> None:
        generation, self.pending = self.pending[: self.generation_size], self.pending[self.generation_size :]
        self.recent = (self.recent + [generation])[-self.window :]
        records = [r for g in self.recent for r in g]
        result = fit(self.net, records, method=self.method, concentration=self.concentration,
                     seed=self.seed + self.generation, **self.fit_options)
        previous = self.draws if self.draws is not None else self.theta
        current = result.draws if result.draws is not None else result.theta
        if self.exhaustive:
            new_predicted = self._predict(current)
            change = np.abs(new_predicted - self.predicted)
            rest = 0.0
            extra = {}
        else:
            found = sample_search(self.net, previous, current, self.space.targets, fitness=self._fitness, keep=self.keep,
                                  samples=self.search_samples, rng=self.rng)
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
        self.log.append({
            "generation": self.generation, "episodes": self.generation * self.generation_size,
            "theta": {k: v.tolist() for k, v in result.theta.items()}, "log_likelihood": result.log_likelihood,
            "tasks": self.space.tasks(self.settings, self.target_index), "p": self.p.tolist(), "p_rest": self.p_rest,
            "predicted": new_predicted.tolist(), "change": change.tolist(), **extra,
        })

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

    def pop_log(self) -> list[dict]:
        """Generation records since the last call (for ``generations.jsonl``)."""
        log, self.log = self.log, []
        return log


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

    def __init__(self, space: TaskSpace, fit_rate: int = 250, max_k: int = 10, random_ratio: float = 0.2, seed: int = 0):
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
        values = [axis[np.abs(axis - (axis[0] + x * (axis[-1] - axis[0]))).argmin()] for x, axis in zip(point, self.axes)]
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
        self.mixture = {"means": best.means_.tolist(), "covariances": best.covariances_.tolist(), "weights": best.weights_.tolist()}
        self.since_fit = 0

    def state(self) -> dict[str, Any]:
        state = super().state()
        state.update(points=self.points, competence=self.competence, alp=self.alp, mixture=self.mixture, since_fit=self.since_fit)
        return state

    def load_state(self, state: Mapping[str, Any]) -> None:
        super().load_state(state)
        self.points, self.competence, self.alp = list(state["points"]), list(state["competence"]), list(state["alp"])
        self.mixture, self.since_fit = state["mixture"], int(state["since_fit"])


def _unit(value: float, axis: np.ndarray) -> float:
    """A value's position on its axis, scaled to [0, 1] (0.5 for a one-value axis)."""
    span = axis[-1] - axis[0]
    return 0.5 if span == 0 else float((value - axis[0]) / span)


CURRICULA = ("sebn", "anti", "uniform", "target", "alp-gmm")


def make_curriculum(name: str, net: SEBN, evaluation: Sequence[Mapping[str, Any]], space: TaskSpace | None = None,
                    seed: int = 0, **options) -> BaseCurriculum:
    """A curriculum by its command-line name.

    Args:
        name: one of :data:`CURRICULA`.
        net: the network.
        evaluation: the evaluation task(s), which ``target`` trains on.
        space: the task space (every setting x target by default).
        seed: the curriculum's seed.
        **options: passed to the curriculum's constructor.
    """
    space = space or TaskSpace(net)
    if name in ("sebn", "anti"):
        return SEBNCurriculum(net, space, anti=name == "anti", seed=seed, **options)
    if name == "uniform":
        return UniformCurriculum(space, seed=seed, **options)
    if name == "target":
        return TargetCurriculum(evaluation, seed=seed, **options)
    if name == "alp-gmm":
        return ALPGMMCurriculum(space, seed=seed, **options)
    raise ValueError(f"unknown curriculum {name!r}; choose one of {', '.join(CURRICULA)}")
