"""The training envs' bookkeeping every agent's loop shares: a vector env without
autoreset, reset one env at a time with its own reset options (a curriculum's task),
finished episodes logged and handed to the callbacks.

Example:
    >>> import gymnasium as gym
    >>> from sebn.runner.interface import Callbacks
    >>> training = TrainingEnvs(lambda i: gym.make("CartPole-v1"), 2, Callbacks())
    >>> training.start(seed=0)
    >>> training.obs.shape
    (2, 4)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from agents.common import ReplayBuffer, RunLogger, env_rng_states
from sebn.runner.interface import Callbacks


def env_info(infos: Mapping[str, Any], i: int) -> dict[str, Any]:
    """Env ``i``'s own info out of a vector env's merged infos (dict values, such as a
    task or target outcomes, are merged key by key, so they are split back recursively)."""
    own = {}
    for key, value in infos.items():
        mask = infos.get(f"_{key}")
        if key.startswith("_") or (mask is not None and not mask[i]):
            continue
        own[key] = env_info(value, i) if isinstance(value, Mapping) else value[i]
    return own


def report_episodes(
    finished: np.ndarray,
    infos: Mapping[str, Any],
    returns: np.ndarray,
    lengths: np.ndarray,
    tasks: list[Any],
    global_step: int,
    logger: RunLogger,
    callbacks: Callbacks,
) -> None:
    """Log and hand over each finished training episode, then zero its counters."""
    for i in np.flatnonzero(finished):
        final_info = env_info(infos, i)
        logger.scalar("charts/episodic_return", returns[i], global_step)
        logger.scalar("charts/episodic_length", lengths[i], global_step)
        callbacks.on_episode(
            {
                "task": tasks[i],
                "return": float(returns[i]),
                "length": int(lengths[i]),
                "global_step": global_step,
                "final_info": final_info,
                "env_index": int(i),
            }
        )
        returns[i], lengths[i] = 0, 0


def make_vector_env(
    make_env: Callable[[int], gym.Env], num_envs: int, asynchronous: bool = False
) -> gym.vector.VectorEnv:
    """Training envs without autoreset: the loop resets finished envs itself, one at a
    time, so each reset can carry its own options and the final observation stays put.
    ``asynchronous`` steps them in worker processes (``AsyncVectorEnv``)."""
    vector = gym.vector.AsyncVectorEnv if asynchronous else gym.vector.SyncVectorEnv
    return vector([lambda i=i: make_env(i) for i in range(num_envs)], autoreset_mode=gym.vector.AutoresetMode.DISABLED)


def reset_envs(
    envs: gym.vector.VectorEnv,
    mask: np.ndarray,
    callbacks: Callbacks,
    obs: np.ndarray | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, list[Any]]:
    """Reset the masked envs, each with its own reset options; returns the observations
    and each reset env's echoed task (``info["task"]``, ``None`` elsewhere).

    With ``obs=None`` (the first reset) every env is reset once without options (seeded
    from ``seed``), since a vector env must hold an observation for each env before it can
    reset one alone; envs whose callbacks give options are then reset again with them.
    """
    tasks: list[Any] = [None] * envs.num_envs

    def echo(info: dict, i: int) -> None:
        own = env_info(info, i)
        if "task" in own:
            tasks[i] = own["task"]

    fresh = obs is None
    if fresh:
        obs, info = envs.reset(seed=seed)
        for i in range(envs.num_envs):
            echo(info, i)
    for i in np.flatnonzero(mask):
        options = callbacks.reset_options(int(i))
        if fresh and options is None:
            continue
        only = np.zeros(envs.num_envs, dtype=bool)
        only[i] = True
        new_obs, info = envs.reset(options={**(options or {}), "reset_mask": only})
        obs[i] = new_obs[i]
        echo(info, i)
    return obs, tasks


@dataclass
class EnvStep:
    """One step of every training env. ``next_obs`` holds the true last observation of the
    envs that finished (they are already reset in :attr:`TrainingEnvs.obs`)."""

    next_obs: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    finished: np.ndarray
    env_rng: list[dict[str, Any]] | None


class TrainingEnvs:
    """The training envs and their episode bookkeeping, shared by every agent's loop.

    :meth:`step` steps every env, logs and hands over each finished episode, and resets the
    finished envs one at a time with their own reset options; :attr:`obs` then holds what
    to act on next and :attr:`tasks` each env's current task.
    """

    def __init__(
        self, make_env: Callable[[int], gym.Env], num_envs: int, callbacks: Callbacks, asynchronous: bool = False
    ):
        self.envs = make_vector_env(make_env, num_envs, asynchronous)
        self.callbacks = callbacks
        self.returns, self.lengths = np.zeros(num_envs), np.zeros(num_envs, dtype=int)
        self.obs: np.ndarray | None = None
        self.tasks: list[Any] = [None] * num_envs

    def start(self, seed: int | None) -> None:
        """Reset every env (seeded, or from restored env RNGs when ``seed`` is ``None``)."""
        self.obs, self.tasks = reset_envs(self.envs, np.ones(self.envs.num_envs, dtype=bool), self.callbacks, seed=seed)

    def step(
        self,
        actions: np.ndarray,
        global_step: int,
        logger: RunLogger,
        keep_rng: bool = False,
        buffer: ReplayBuffer | None = None,
    ) -> EnvStep:
        """Step every env; ``keep_rng`` records the env RNGs before this step's resets, so a
        run resumed from a checkpoint taken now redraws exactly the same new episodes. The
        transitions go into ``buffer`` before episodes are handed over, so a callback that
        clears the buffer at an episode's end clears its last transition too."""
        self.callbacks.on_step(global_step)
        next_obs, rewards, terminations, truncations, infos = self.envs.step(actions)
        if buffer is not None:
            buffer.add(self.obs, next_obs, actions, rewards, terminations)
        self.returns += rewards
        self.lengths += 1
        finished = terminations | truncations
        report_episodes(finished, infos, self.returns, self.lengths, self.tasks, global_step, logger, self.callbacks)
        env_rng = env_rng_states(self.envs) if keep_rng else None
        self.obs = next_obs
        if finished.any():
            self.obs, new_tasks = reset_envs(self.envs, finished, self.callbacks, next_obs.copy())
            self.tasks = [new if done else old for new, old, done in zip(new_tasks, self.tasks, finished)]
        return EnvStep(next_obs, rewards, terminations, truncations, finished, env_rng)
