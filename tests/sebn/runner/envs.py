"""Task-settable toy environments for the curriculum tests."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from sebn.curricula.base import BaseCurriculum


class TaskLengthEnv(gym.Env):
    """An episode on task ``{"length": k}`` lasts ``k`` steps and succeeds (target
    ``done``) when the last action is positive. It echoes its task in ``info["task"]``
    and records every task it was reset with."""

    def __init__(self, ignore_task: bool = False):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.ignore_task = ignore_task
        self.received: list[dict] = []
        self.task = {"length": 1}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if options and "task" in options and not self.ignore_task:
            self.task = dict(options["task"])
            self.received.append(self.task)
        self.t = 0
        return np.zeros(1, dtype=np.float32), {"task": dict(self.task)}

    def step(self, action):
        self.t += 1
        done = self.t >= self.task["length"]
        info = {"targets": {"done": int(float(np.asarray(action).reshape(-1)[0]) > 0)}} if done else {}
        return np.full(1, self.t / 10, dtype=np.float32), 1.0, False, done, info


class LengthCurriculum(BaseCurriculum):
    """Random episode lengths for :class:`TaskLengthEnv`; remembers what it handed out and
    what came back."""

    kind = "lengths"

    def __init__(self, seed=0):
        super().__init__(seed)
        self.handed: list[dict] = []
        self.observed = []

    def _sample(self, n, rng):
        tasks = [{"length": int(k)} for k in rng.integers(1, 7, size=n)]
        self.handed += tasks
        return tasks

    def observe(self, episodes):
        self.observed += list(episodes)
