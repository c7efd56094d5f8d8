"""What the task-settable envs share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np


def check_levels(task: Mapping[str, Any], tops: Mapping[str, int], domain: str) -> dict[str, Any]:
    """A single-target spec domain's task as a plain dict: each variable of ``tops`` an
    integer level in ``0..top``, and no other key (an env must not ignore part of its task);
    a ``target`` key, if any, must be ``goalreached`` (and is kept, so the env echoes what it
    was given).

    Raises:
        ValueError: naming the domain and what is wrong.
    """
    missing = [name for name in tops if name not in task]
    if missing:
        raise ValueError(f"{domain} task {dict(task)} lacks {', '.join(missing)}")
    unknown = [str(name) for name in task if name not in tops and name != "target"]
    if unknown:
        raise ValueError(f"{domain} task {dict(task)}: unknown {', '.join(unknown)}; it takes {', '.join(tops)}")
    if task.get("target", "goalreached") != "goalreached":
        raise ValueError(f"{domain} has the one target 'goalreached', not {task['target']!r}")
    clean = {}
    for name, top in tops.items():
        level = task[name]
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level <= top:
            raise ValueError(f"{domain} task: {name} must be an integer in 0..{top}, got {level!r}")
        clean[name] = int(level)
    return {**clean, "target": "goalreached"} if "target" in task else clean


class SuccessTaskEnv(gym.Env):
    """An env around ``self.env`` (set by the subclass) whose episode end reports the
    env's own ``info["success"]`` as the target ``goalreached`` and as ``is_success``, and
    what the reset applied (``self.applied``) for the curriculum's records.

    Attributes:
        success_at_any_step: whether a success at any step of the episode counts (the mazes,
            whose goal stays put and whose episodes run to the time limit), or only the
            env's ``success`` at the episode's last step (Adroit: the ball held at the
            target when time is up).
    """

    env: gym.Env
    applied: dict[str, Any]
    success_at_any_step: bool = False
    _succeeded: bool = False

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        """Seeds this env's RNG and starts the episode's success afresh; subclasses reset
        ``self.env`` with the task."""
        super().reset(seed=seed)
        self._succeeded = False

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._succeeded = bool(info.get("success", False)) or (self.success_at_any_step and self._succeeded)
        if terminated or truncated:
            done = {"targets": {"goalreached": int(self._succeeded)}, "is_success": self._succeeded}
            info = {**info, **done, "applied": self.applied}
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self.env.close()
