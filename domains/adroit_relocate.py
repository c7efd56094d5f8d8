"""AdroitHandRelocate (gymnasium-robotics) with its initial state set by a task: the
gradient-norm teacher's third domain.

A task is ``{"object": [x, y], "target": [x, y, z], "hand": [30 values in -1..1]}``
(``hand`` optional). The object and target ranges are the env's own default ranges
(``reset_model``: object x in [-0.15, 0.15], y in [-0.15, 0.3]; target x, y in
[-0.2, 0.2], z in [0.15, 0.35]); values outside are clipped into them. ``hand`` perturbs the
hand's 30 joints from their initial pose by ``hand_scale`` times each joint's half-range,
clipped to the joint limits; a part of another length, or a key besides these three, is
refused (never broadcast or ignored). All of it goes through ``reset(options={"initial_state_dict":
{qpos, qvel, obj_pos, target_pos}})``, the only options the env reads (the original
gradient-norm code passed others, which the env silently ignored). ``info["state"]``
reports what was applied and the ball-to-target distance (the paper's Figure 7). Success
is the env's own (the ball within 0.1 of the target); the last ``info`` of an episode has
``targets = {"goalreached": 0 or 1}``, ``is_success`` and ``applied`` (the reset's state,
recorded with the episode for the curriculum pictures).

Example:
    >>> env = RelocateTaskEnv()
    >>> _, info = env.reset(seed=0, options={"task": {"object": [0.1, 0.0], "target": [0.0, 0.1, 0.25]}})
    >>> [round(x, 3) for x in info["state"]["obj_pos"]], round(info["state"]["distance"], 3)
    ([0.1, 0.0, 0.035], 0.257)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from domains.common import SuccessTaskEnv
from sebn.runner.interface import run_as_command, teacher_domain

try:
    import gymnasium_robotics
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError('the Adroit domain needs gymnasium-robotics: pip install -e ".[robotics]"') from None

gym.register_envs(gymnasium_robotics)

ENV_ID = "AdroitHandRelocate-v1"
OBJECT_LOW, OBJECT_HIGH = np.array([-0.15, -0.15]), np.array([0.15, 0.3])
TARGET_LOW, TARGET_HIGH = np.array([-0.2, -0.2, 0.15]), np.array([0.2, 0.2, 0.35])
HAND_JOINTS = 30
OBJECT_HEIGHT = 0.035  # the ball's resting height on the table in the model


class RelocateTaskEnv(SuccessTaskEnv):
    """AdroitHandRelocate whose resets take an object/target/hand-pose task.

    Args:
        hand_scale: the largest hand perturbation, as a share of each joint's half-range.

    Attributes:
        relocate_env: the gymnasium-robotics env inside.
        task_space: the teacher's task space (the env's default ranges).
    """

    def __init__(self, hand_scale: float = 0.1):
        self.env = gym.make(ENV_ID)
        self.relocate_env = self.env.unwrapped
        self.observation_space, self.action_space = self.env.observation_space, self.env.action_space
        self.hand_scale = hand_scale
        limits = self.relocate_env.model.jnt_range[:HAND_JOINTS]
        self.hand_low, self.hand_high = limits[:, 0], limits[:, 1]
        self.task_space = gym.spaces.Dict(
            {
                "object": gym.spaces.Box(OBJECT_LOW, OBJECT_HIGH, dtype=np.float64),
                "target": gym.spaces.Box(TARGET_LOW, TARGET_HIGH, dtype=np.float64),
                "hand": gym.spaces.Box(-1.0, 1.0, (HAND_JOINTS,), dtype=np.float64),
            }
        )

    def part(self, task: Mapping[str, Any], name: str) -> np.ndarray:
        """A task's ``object``, ``target`` or ``hand`` as numbers of its shape (NaN as 0).

        Raises:
            ValueError: naming the part, when it is not that many numbers.
        """
        size = self.task_space[name].shape[0]
        try:
            value = np.asarray(task[name], dtype=float)
        except (TypeError, ValueError):
            value = None
        if value is None or value.shape != (size,):
            raise ValueError(f"a relocate task's {name} is {size} numbers, got {task[name]!r}")
        return np.nan_to_num(value)

    def initial_state(self, task: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The ``initial_state_dict`` a task stands for (values clipped into range)."""
        inner = self.relocate_env
        qpos = inner.init_qpos.copy()
        hand = np.clip(self.part(task, "hand"), -1, 1) if "hand" in task else np.zeros(HAND_JOINTS)
        half_range = (self.hand_high - self.hand_low) / 2
        qpos[:HAND_JOINTS] = np.clip(
            qpos[:HAND_JOINTS] + hand * self.hand_scale * half_range, self.hand_low, self.hand_high
        )
        obj = np.clip(self.part(task, "object"), OBJECT_LOW, OBJECT_HIGH)
        target = np.clip(self.part(task, "target"), TARGET_LOW, TARGET_HIGH)
        return {
            "qpos": qpos,
            "qvel": np.zeros_like(inner.init_qvel),
            "obj_pos": np.append(obj, OBJECT_HEIGHT),
            "target_pos": target,
        }

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        self.relocate_env.np_random = self.np_random  # default draws follow this env's RNG
        task = dict(options["task"]) if options and options.get("task") else None
        if task is None:  # the env's own random object and target
            obs, info = self.env.reset()
        else:
            missing, unknown = {"object", "target"} - set(task), set(task) - set(self.task_space.spaces)
            if missing or unknown:
                raise ValueError(f"a relocate task has object and target, and may have hand; got {task}")
            obs, info = self.env.reset(options={"initial_state_dict": self.initial_state(task)})
        state = self.relocate_env.get_env_state()
        self.applied = {
            "obj_pos": state["obj_pos"].tolist(),
            "target_pos": state["target_pos"].tolist(),
            "distance": float(np.linalg.norm(state["obj_pos"] - state["target_pos"])),
        }
        return obs, {**info, "task": task or {}, "state": self.applied}


def make_env(index: int) -> gym.Env:
    """Training env ``index``; ``-1``: the evaluation env (the env's own start distribution)."""
    return RelocateTaskEnv()


def domain(name: str = "adroit_relocate"):
    """AdroitHandRelocate for the runner."""
    return teacher_domain(
        name, make_env, RelocateTaskEnv().task_space, learning_starts=5000, eval_every=10_000, default_steps=300_000
    )


if __name__ == "__main__":
    run_as_command("adroit_relocate")
