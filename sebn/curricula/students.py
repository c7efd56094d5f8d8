"""A simulated student: curricula compared in seconds, without reinforcement learning.

The student holds a skill ``s_i`` in ``[0, top_i]`` per base competency; its competency
levels follow theta with tails ``P(C_i >= k) = clip(s_i - k + 1, 0, 1)`` (skill 1.5:
level 1 always, level 2 half the time). Its target outcomes are drawn from the spec's own
generative story (:func:`sebn.core.model.sebn_model`) under that theta.

It learns from practice in a zone of proximal development. A task asks for levels
``r(task)``: those of the task's target and, recursively, of the parent targets it
requires there. Its *gap* is ``D = sum_i max(0, r_i - s_i)``. An episode teaches
``rate * exp(-decay * max(0, D - 1))`` in all, shared among the skills the task asks more
of in proportion to their shortfall and never past what the task asks: a task at most one
level beyond the student teaches at full rate, a task far beyond teaches exponentially
little, a mastered task teaches nothing.

Example:
    >>> from sebn.core.network import SEBN
    >>> from sebn.core.spec import parse_spec
    >>> net = SEBN(parse_spec("goalreached : (wall=1 | move=2)\\ngoalreached : (| move=1)\\n"))
    >>> student = SimulatedStudent(net, rate=0.5, seed=0)
    >>> episode = student.play({"wall": 0})
    >>> student.skills.tolist()   # a wall-less task asks move=1: full rate
    [0.5]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from sebn.core.inference import DTYPE, Scorer
from sebn.core.network import SEBN
from sebn.curricula.base import BaseCurriculum, Episode


class SimulatedStudent:
    """A learner whose outcomes follow a spec and whose skills grow near its frontier.

    Args:
        net: the network.
        rate: skill gained per episode at the frontier.
        decay: how fast learning fades with the gap beyond one level.
        observe: ``"all"`` reports every target's outcome, ``"task"`` only the trained one.
        seed: seeds the outcomes.
    """

    def __init__(self, net: SEBN, rate: float = 0.02, decay: float = 1.5, observe: str = "all", seed: int = 0):
        if observe not in ("all", "task"):
            raise ValueError(f"observe must be 'all' or 'task', not {observe!r}")
        self.net, self.rate, self.decay, self.observe = net, rate, decay, observe
        self.rng = np.random.default_rng(seed)
        self.skills = np.zeros(len(net.base))
        self.tops = np.array(net.n_levels) - 1
        self.episodes = 0
        self._requirements: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def theta(self) -> dict[str, torch.Tensor]:
        """The current level probabilities per base competency."""
        theta = {}
        for name, skill, top in zip(self.net.base, self.skills, self.tops):
            tails = np.clip(skill - np.arange(top + 2) + 1, 0, 1)
            tails[0] = 1.0
            tails[-1] = 0.0
            theta[name] = torch.as_tensor(tails[:-1] - tails[1:], dtype=DTYPE)
        return theta

    def _requirements_of(self, setting: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per target: the levels its lines ask in this setting, and the parents they require."""
        if setting not in self._requirements:
            levels, parents = self.net.requirements(np.array([setting]))
            self._requirements[setting] = (levels[0], parents[0])
        return self._requirements[setting]

    def asks(self, task: Mapping[str, Any]) -> np.ndarray:
        """The levels a task asks: its target's and those of the parents it requires."""
        setting = tuple(int(task[v]) for v in self.net.env)
        levels, parents = self._requirements_of(setting)
        asked = np.zeros(len(self.net.base), dtype=int)
        frontier = [self.net.targets.index(task.get("target", self.net.targets[-1]))]
        seen = set(frontier)
        while frontier:
            t = frontier.pop()
            asked = np.maximum(asked, levels[t])
            for p in np.flatnonzero(parents[t]):
                if p not in seen:
                    seen.add(p)
                    frontier.append(p)
        return asked

    def play(self, task: Mapping[str, Any]) -> Episode:
        """One episode on ``task``: outcomes drawn from the spec, then learning."""
        trained = task.get("target", self.net.targets[-1])
        outcomes = self._outcomes(task)
        asked = self.asks(task)
        gap = np.clip(asked - self.skills, 0, None)
        total = gap.sum()
        if total > 0:
            gain = self.rate * np.exp(-self.decay * max(0.0, total - 1.0)) * gap / total
            self.skills = np.minimum(self.skills + gain, np.maximum(asked, self.skills))
        self.episodes += 1
        targets = outcomes if self.observe == "all" else {trained: outcomes[trained]}
        return Episode(dict(task), targets, float(outcomes[trained]), 1, self.episodes)

    def _outcomes(self, task: Mapping[str, Any]) -> dict[str, int]:
        """Competencies drawn from theta, then each target from its CPT in topological order."""
        setting = tuple(int(task[v]) for v in self.net.env)
        levels, parents = self._requirements_of(setting)
        competencies = np.array([self.rng.choice(len(p), p=p.numpy()) for p in self.theta().values()], dtype=int)
        success, slip = self.net.rates()
        outcome = np.zeros(len(self.net.targets), dtype=int)
        for t in range(len(self.net.targets)):
            met = np.all(competencies >= levels[t]) and np.all(outcome[parents[t]] == 1)
            outcome[t] = int(self.rng.random() < (success[t] if met else slip[t]))
        return {name: int(v) for name, v in zip(self.net.targets, outcome)}

    def success(self, tasks: list[Mapping[str, Any]]) -> np.ndarray:
        """The exact probability that each task's target succeeds now."""
        settings = self.net.settings_from_tasks(tasks)
        probs = Scorer(self.net, settings)(self.theta())
        columns = [self.net.targets.index(t.get("target", self.net.targets[-1])) for t in tasks]
        return probs[torch.arange(len(tasks)), torch.tensor(columns)].numpy()


def train_student(
    curriculum: BaseCurriculum,
    student: SimulatedStudent,
    episodes: int,
    evaluation: list[Mapping[str, Any]],
    every: int = 50,
    batch: int = 10,
) -> dict[str, np.ndarray]:
    """Let ``curriculum`` teach ``student`` for ``episodes`` episodes.

    Tasks are drawn ``batch`` at a time and the episodes handed back as a batch, as a
    vector env would. Success on ``evaluation`` (the mean of the exact probabilities) is
    recorded every ``every`` episodes.

    Returns:
        ``episodes`` (when measured), ``success`` (on the evaluation tasks) and ``tasks``
        (every task played, in order).
    """
    measured, success, played = [0], [float(student.success(evaluation).mean())], []
    while student.episodes < episodes:
        ticket = curriculum.issued
        tasks = curriculum.sample(min(batch, episodes - student.episodes))
        finished = []
        for i, task in enumerate(tasks):
            episode = student.play(task)
            episode.ticket = ticket + i
            finished.append(episode)
            played.append(task)
            if student.episodes % every == 0:
                measured.append(student.episodes)
                success.append(float(student.success(evaluation).mean()))
        curriculum.observe(finished)
    return {"episodes": np.array(measured), "success": np.array(success), "tasks": played}


def episodes_to(curve: Mapping[str, np.ndarray], threshold: float) -> float:
    """The first measured episode count at which success reached ``threshold`` (inf if never)."""
    reached = np.flatnonzero(curve["success"] >= threshold)
    return float(curve["episodes"][reached[0]]) if len(reached) else float("inf")
