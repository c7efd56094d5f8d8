"""robosuite's Door opened by a Kinova3 arm, with the door's mass and latch set by a task:
the SEBN paper's robotics domain.

A task is ``specs/robosuite_door.sebn``'s env variables: ``mass`` (level ``k`` is a door
of ``k + 1`` kg; the spec trains on levels 0-5, 1-6 kg, and level 11, the 12 kg door of the
paper's transfer test, lies outside it) and ``lock`` (1: the spring-loaded handle latches
the door shut until it is turned; 0: the latch passes through the frame). robosuite's own
door weighs 2.43 kg; a task scales its inertia with its mass (the same shape, denser). A
``target`` key, if given, must be ``goalreached`` and is echoed back.

The task is written into the simulator's model before every reset (the env is built with
``hard_reset=False``, so no reset rebuilds the model and loses it): the door body's
``body_mass`` and ``body_inertia``, and ``contype``/``conaffinity`` of the latch geoms
``Door_latch`` and ``Door_latch_tip``. The env's RNG (``reset(seed=...)``) drives robosuite's
door placement and arm initialisation noise, so a seed reproduces an episode.

Observations are robosuite's ``robot0_proprio-state`` and ``object-state`` concatenated
(what its ``GymWrapper`` gives), actions its OSC controller's, rewards its shaped reward
(1 per step while the door is open). An episode runs ``horizon`` steps and is then
truncated (robosuite's ``GymWrapper`` calls that a termination); the target
``goalreached`` is robosuite's own success check (hinge past 0.3 rad) at any step, reported
in the last ``info`` as ``targets`` and ``is_success``.

When the simulation diverges (MuJoCo's "Nan, Inf or huge value in QACC" warning: about once
in a few thousand steps of bang-bang actions held against the door), MuJoCo resets the whole
state to the model's rest pose and goes on; what follows is no longer the episode that was
asked for, so the episode is truncated there, with ``unstable: True`` in its last ``info``.

Example:
    >>> env = DoorTaskEnv()
    >>> _, info = env.reset(seed=0, options={"task": {"mass": 2, "lock": 0}})
    >>> info["task"], info["mass_kg"]
    ({'mass': 2, 'lock': 0}, 3.0)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from domains.common import check_levels
from sebn.core.spec import shipped_spec
from sebn.runner.interface import Domain, run_as_command

# robosuite's start-up messages are about extras we do not use (private macros, robosuite_models, mink) and
# repeat for every env built; its other warnings still show.
ROBOSUITE_NOISE = (
    "No private macro file",
    "It is recommended to use a private macro file",
    "To setup, run:",
    "Could not import robosuite_models",
    "Could not load the mink-based",
    "Loading controller configuration",
)
logging.getLogger("robosuite_logs").addFilter(lambda record: not record.getMessage().startswith(ROBOSUITE_NOISE))

try:
    import mujoco
    import robosuite
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ImportError('the robosuite Door domain needs robosuite: pip install -e ".[robotics]"') from None

ENV_VARIABLES = ("mass", "lock")
MASS_LEVELS = 6  # the spec's levels; the env accepts up to HEAVY
HEAVY = 11  # the transfer door: 12 kg
HORIZON = 500
HARDEST = {"mass": MASS_LEVELS - 1, "lock": 1}
OBSERVATION_KEYS = ("robot0_proprio-state", "object-state")


def mass_kg(level: int) -> float:
    return float(level + 1)


def valid_tasks() -> list[dict[str, int]]:
    """The spec's 12 settings."""
    return [{"mass": mass, "lock": lock} for mass in range(MASS_LEVELS) for lock in (0, 1)]


def check_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """The task as a plain dict; a clear ``ValueError`` for anything else."""
    return check_levels(task, {"mass": HEAVY, "lock": 1}, "Door")


class DoorTaskEnv(gym.Env):
    """robosuite ``Door`` (Kinova3) as a Gymnasium env whose door follows a task (see the module).

    Args:
        task: the task used when a reset gives none (default: the hardest, 6 kg and latched).
        horizon: steps per episode.
    """

    metadata = {"render_modes": []}

    def __init__(self, task: Mapping[str, Any] | None = None, horizon: int = HORIZON):
        self.task = check_task(task if task is not None else HARDEST)
        self.horizon = horizon
        self.suite = robosuite.make(
            "Door",
            robots="Kinova3",
            use_latch=True,
            use_camera_obs=False,
            has_renderer=False,
            has_offscreen_renderer=False,
            reward_shaping=True,
            horizon=horizon,
            ignore_done=True,
            hard_reset=False,
        )
        model = self.suite.sim.model
        self.door_body = model.body_name2id(self.suite.door.door_body)
        self.default_mass = float(model.body_mass[self.door_body])
        self.default_inertia = model.body_inertia[self.door_body].copy()
        prefix = self.suite.door.naming_prefix
        self.latch_geoms = [model.geom_name2id(prefix + name) for name in ("latch", "latch_tip")]
        self.latch_collision = (
            model.geom_contype[self.latch_geoms].copy(),
            model.geom_conaffinity[self.latch_geoms].copy(),
        )
        low, high = self.suite.action_spec
        self.action_space = gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        size = sum(np.size(self.suite.observation_spec()[key]) for key in OBSERVATION_KEYS)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)
        self.elapsed, self.opened = 0, False

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        if options and "task" in options:
            self.task = check_task(options["task"])
        self._apply_task()
        self.suite.rng = self.suite.placement_initializer.rng = self.np_random
        observation = self.suite.reset()
        self.elapsed, self.opened = 0, False
        self.divergences = self._divergences()
        return self._flatten(observation), {"task": dict(self.task), "mass_kg": mass_kg(self.task["mass"])}

    def step(self, action):
        observation, reward, _, info = self.suite.step(np.asarray(action, dtype=np.float64))
        self.elapsed += 1
        self.opened = self.opened or bool(self.suite._check_success())
        unstable = self._divergences() > self.divergences
        truncated = self.elapsed >= self.horizon or unstable
        if truncated:
            info = {
                **info,
                "targets": {"goalreached": int(self.opened)},
                "is_success": self.opened,
                "unstable": unstable,
            }
        return self._flatten(observation), float(reward), False, truncated, info

    def _divergences(self) -> int:
        return int(self.suite.sim.data._data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number)

    def close(self) -> None:
        self.suite.close()

    def _apply_task(self) -> None:
        model = self.suite.sim.model
        kg = mass_kg(self.task["mass"])
        model.body_mass[self.door_body] = kg
        model.body_inertia[self.door_body] = self.default_inertia * kg / self.default_mass
        contype, conaffinity = self.latch_collision
        model.geom_contype[self.latch_geoms] = contype * self.task["lock"]
        model.geom_conaffinity[self.latch_geoms] = conaffinity * self.task["lock"]
        mujoco.mj_setConst(model._model, self.suite.sim.data._data)  # constants derived from masses

    @staticmethod
    def _flatten(observation: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([np.ravel(observation[key]) for key in OBSERVATION_KEYS]).astype(np.float32)


def make_env(index: int, task: Mapping[str, Any] | None = None, horizon: int = HORIZON) -> DoorTaskEnv:
    """Training env ``index`` (tasks come through reset options); ``-1``: the evaluation
    env on ``task`` (default: the hardest). Episodes run ``horizon`` steps."""
    return DoorTaskEnv(task if index < 0 else None, horizon=horizon)


def domain(name: str = "robosuite_door"):
    """The robosuite Door domain for the runner: PPO with two hidden layers,
    evaluated on the hardest door during training and, at the end, on every mass with the
    latch and on the unseen 12 kg door."""
    finals = {f"mass{mass}": {"mass": mass, "lock": 1} for mass in range(MASS_LEVELS)}
    finals["heavy"] = {"mass": HEAVY, "lock": 1}
    return Domain(
        name=name,
        spec=shipped_spec("robosuite_door"),
        tasks=valid_tasks(),
        evaluation=dict(HARDEST),
        make_env=make_env,
        final_envs={label: (lambda task=task: make_env(-1, task)) for label, task in finals.items()},
        agent="ppo",
        agent_args={
            "hidden_sizes": [256, 256],
            "num_envs": 2,
            "num_steps": 1024,
            "eval_every": 50_000,
            "eval_episodes": 3,
            "ent_coef": 0.0,
            "normalize_obs": True,
            "normalize_reward": True,
        },
        default_steps=1_000_000,
    )


if __name__ == "__main__":
    run_as_command("robosuite_door")
